"""The framework against its bare twin: where a runtime's time goes beyond the TensorFlow work itself.

    python bench/overhead.py [--runtimes tf2.21,tf1.15-graph] [--repeats 3] [--reports DIR]
    python bench/overhead.py --one-process  # each runtime's cases in one process, as `tox -p` runs them
    python bench/overhead.py --smoke        # one runtime, once, no targets: CI keeps the benchmark working

For each runtime (default: the default runtimes of matrix.yaml), alternately, ``--repeats`` times:

- the framework: the runtime's load and semantics cases (``pytest cases/test_load.py cases/test_semantics.py
  --runtime=R -n auto``: load, semantics, cost and proof) in its tox env;
- its bare twin (``bench/twin.py``): the TensorFlow work those cases recorded, replayed in one plain process
  that imports nothing of hub-conformance.

Both run in the same env: the framework through ``tox exec``, the twin by the env's interpreter without tox
(``bench/bare.py``: tox's own CPU is the framework's cost, not the floor's). Prints per runtime the medians (these machines are noisy:
only ratios count) of wall time, whose ratio is held to the 1.25x target, and of CPU seconds of the whole
process tree. The framework runs as ``tox -e R`` runs it (xdist workers on every core), the twin in one process:
the wall ratio is what a user waits, the CPU ratio what the framework costs beyond the work. With
``--one-process`` the framework runs as ``tox -p`` runs each runtime (its cases in pytest's own process, the
cores shared among the runtimes): one process against one, the stricter comparison. Then where the
difference goes: TensorFlow's import per worker (its fork server), the TensorFlow seconds the framework
recorded (loads, calls, repeats), the time in the cases beside them (.npz files, records) and outside them (start-up,
collection, teardown), and the loads per model the observations show.
Needs the runtimes' tox envs (``tox -p`` once) and the zoo.
"""
import argparse
import collections
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bare import twin_command  # noqa: E402
from conformance.matrix import DEFAULT_MATRIX, load_matrix  # noqa: E402
from conformance.run_ids import new_run_id  # noqa: E402

# The runtimes run without the executors' sandbox here (set CONFORMANCE_SANDBOX to measure with it): the
# twins have none, and getrusage did not see the CPU of processes in bubblewrap's pid namespace (measured:
# 3.6 s against 18.5 s for the same cases), which would make the framework's CPU look smaller than it is.
os.environ.setdefault("CONFORMANCE_SANDBOX", "off")
os.environ.setdefault("CONFORMANCE_FRESH", "1")  # every case run: a reused case would measure the store

TARGET = 1.25
CASE_FILES = ("cases/test_load.py", "cases/test_semantics.py")  # what bench/twin.py replays
TIMED = 3  # a semantics measurement's timed calls after its warm-up, where the run did not record them


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command, env=None):
    """Wall seconds, CPU seconds of the whole process tree (every descendant is waited for) and the result."""
    started, cpu = time.perf_counter(), _children_cpu()
    completed = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True)
    return (time.perf_counter() - started, _children_cpu() - cpu), completed


def framework(runtime, reports, workers="auto"):
    run_id = new_run_id()
    env = dict(os.environ, CONFORMANCE_RUN_ID=run_id)
    seconds, completed = run(["tox", "exec", "-q", "-e", runtime, "--", "pytest", *CASE_FILES,
                              "--runtime=%s" % runtime, "-n", workers, "--dist", "loadgroup", "-p", "no:cacheprovider",
                              "--max-worker-restart=0", "--reports", reports, "-q"], env)
    directory = os.path.join(reports, "runs", run_id, runtime)
    if not os.path.isdir(directory):
        sys.exit("bench: the framework left no observations for %s (exit %d):\n%s%s"
                 % (runtime, completed.returncode, completed.stdout[-3000:], completed.stderr[-3000:]))
    return seconds, directory


def twin(runtime, directory):
    command, environ = twin_command(runtime, directory)
    seconds, completed = run(command, environ)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        sys.exit("bench: the twin of %s failed (exit %d):\n%s" % (runtime, completed.returncode,
                                                                  completed.stderr[-3000:]))
    figures = json.loads(lines[-1])
    if figures["failed"]:  # a twin that did less work than the framework would flatter the framework
        failures = "\n".join(line for line in completed.stderr.splitlines() if line.startswith("twin:"))
        sys.exit("bench: the twin of %s could not replay %d loads:\n%s" % (runtime, figures["failed"], failures))
    return seconds, figures


def observed(directory):
    """What the framework's own records say: cases, workers, TensorFlow seconds, time in and between cases,
    .npz files, loads per model."""
    cases, workers, tf_seconds, in_cases, span, loads = 0, 0, 0.0, 0.0, 0.0, collections.Counter()
    for path in glob.glob(os.path.join(directory, "*.json")):
        with open(path) as stream:
            document = json.load(stream)
        entries = list((document.get("cases") or {}).values())
        if not entries:
            continue
        workers += 1
        timed = [e for e in entries if "started" in e]
        if timed:
            span = max(span, max(e["started"] + e.get("duration", 0.0) for e in timed)
                       - min(e["started"] for e in timed))
        for entry in entries:
            cases += 1
            in_cases += entry.get("duration", 0.0)
            if not entry.get("load_cached") and "load_seconds" in entry:
                tf_seconds += entry["load_seconds"]
                loads[entry["model"]] += 1
            for seen in (entry.get("signatures") or {}).values():
                tf_seconds += seen.get("call_seconds", 0.0) + seen.get("repeat_seconds", 0.0)
            semantics = entry.get("semantics") or {}
            for measured in [semantics.get("all") or {}] + list((semantics.get("alone") or {}).values()):
                # the best of the timed calls, after a warm-up: a floor
                tf_seconds += (1 + measured.get("repeats", TIMED)) * measured.get("seconds", 0.0)
    npz = glob.glob(os.path.join(directory, "outputs", "*.npz"))
    return {"cases": cases, "workers": workers, "tf_seconds": tf_seconds, "in_cases": in_cases, "span": span,
            "loads": loads, "npz_files": len(npz), "npz_mb": sum(os.path.getsize(p) for p in npz) / 1e6}


def measure(runtime, repeats, reports, workers="auto"):
    frames, twins, figures, seen = [], [], None, None
    for _ in range(repeats):
        seconds, directory = framework(runtime, reports, workers)
        frames.append(seconds)
        seen = observed(directory)
        seconds, figures = twin(runtime, directory)
        twins.append(seconds)
    median = statistics.median
    return (median([w for w, _ in frames]), median([c for _, c in frames]), median([w for w, _ in twins]),
            median([c for _, c in twins]), figures, seen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", default=None, help="comma-separated (default: matrix.yaml's default ones)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reports", default=os.path.join(ROOT, "reports", "bench"))
    parser.add_argument("--smoke", action="store_true", help="one runtime, once, no target: a check that it runs")
    parser.add_argument("--one-process", action="store_true",
                        help="each runtime's cases in one process (-n 0), as `tox -p` runs every runtime at once")
    args = parser.parse_args()
    matrix = load_matrix(os.path.join(ROOT, DEFAULT_MATRIX))
    runtimes = args.runtimes.split(",") if args.runtimes else [r.id for r in matrix.runtimes if r.is_default]
    if args.smoke:
        runtimes, args.repeats = [next(r for r in runtimes if matrix.runtime(r).mode == "eager")], 1
    header = "%-14s %6s %9s %7s %6s %9s %7s %6s" % ("runtime", "cases", "framework", "twin", "ratio", "CPU: fw",
                                                    "twin", "ratio")
    print("the framework's cases %s; the twin in one process" % (
        "in one process (-n 0), as `tox -p` runs each runtime" if args.one_process
        else "on xdist workers (-n auto), as `tox -e RUNTIME` runs them"))
    print(header)
    rows = []
    for runtime in runtimes:
        frame, frame_cpu, bare, bare_cpu, figures, seen = measure(runtime, args.repeats, args.reports,
                                                                  "0" if args.one_process else "auto")
        ratio = frame / bare
        rows.append((runtime, ratio))
        print("%-14s %6d %8.1fs %6.1fs %5.2fx %8.1fs %6.1fs %5.2fx" % (runtime, seen["cases"], frame, bare, ratio,
                                                                      frame_cpu, bare_cpu, frame_cpu / bare_cpu))
        print("%-14s TensorFlow: import %.1fs in the twin, once per worker (its fork server; %d workers, in "
              "parallel); the work the framework recorded %.1fs summed over its workers, the twin's %.1fs in one process"
              % ("", figures["import_seconds"], seen["workers"], seen["tf_seconds"], figures["work_seconds"]))
        print("%-14s in the cases, beside that work: %.1fs = %.0f ms per case (describing, inputs, %d .npz of %.1f MB,"
              " records); outside the cases: %.1fs of the wall (tox exec, pytest start-up and collection, the "
              "fork server's start, teardown)"
              % ("", seen["in_cases"] - seen["tf_seconds"], 1000 * (seen["in_cases"] - seen["tf_seconds"])
                 / max(1, seen["cases"]), seen["npz_files"], seen["npz_mb"], frame - seen["span"]))
        per_model = sorted(set(seen["loads"].values()))
        print("%-14s loads per model: %s (twin: %d loads, %d failed as in the run, %d calls, %d not replayed)"
              % ("", "-".join(str(n) for n in (per_model[:1] + per_model[-1:])) if per_model else "none",
                 figures["loads"], figures.get("failed_loads", 0), figures["calls"], figures["not_replayed"]))
    if not args.smoke:
        over = [r for r, ratio in rows if ratio > TARGET]
        print("target framework/twin <= %.2fx: %s" % (TARGET, "met" if not over else "missed by " + ", ".join(over)))


if __name__ == "__main__":
    main()
