"""The whole run against its floor: every runtime in parallel, then compare and report, against the bare twins.

    python bench/whole_run.py [--runtimes tf2.21,tf1.15-graph] [--repeats 3] [--reports DIR]

Alternately, ``--repeats`` times:

- the framework as ``tox -p`` runs it, every case kind: the runtimes' envs at once (``tox -p all -e
  R1,R2,...``, tox's own checks of the envs included), then ``compare`` and the report env's two commands,
  each timed;
- the floor: every runtime's two bare twins replaying that run's TensorFlow work, ``bench/twin.py`` (load,
  semantics, cost, proof) and ``bench/twin_train.py`` (train, cluster), all at once on the same cores, each
  run by its env's interpreter without tox (``bench/bare.py``), plus the framework's own compare and report
  (plain Python the twins have no equivalent of).

Prints each repeat, then medians: the framework's wall (runtimes / compare / report), the twins' wall (all at
once), and the ratio framework / (twins at once + compare + report) of each repeat, held to the 1.25x
target; then the same ratio in CPU seconds (every process of each side, from ``getrusage``), which moves
far less with the machine's drift than wall time does; then per kind of case (load/semantics/cost/proof,
train, cluster) the seconds spent in its cases, the framework's (the cases' recorded durations, summed over
the runtimes) against the twins' (their work of that kind, timed in each twin), both taken while everything
runs at once, so that a slow kind shows. Those exclude what is outside any case (imports, start-up, tox) on
both sides, which only the whole ratio holds. The floor is the twins at once, not the slowest twin alone: that
needs a core per runtime, and on a machine with fewer (2 here, 6 runtimes) no run can reach it;
``bench/overhead.py`` gives each twin alone. Needs the runtimes' tox envs (``tox -p`` once) and the zoo.
"""
import argparse
import concurrent.futures
import contextlib
import fcntl
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

from bare import interpreter_and_env, twin_command  # noqa: E402
from conformance.matrix import DEFAULT_MATRIX, load_matrix  # noqa: E402
from conformance.run_ids import new_run_id  # noqa: E402

# The runtimes run without the executors' sandbox here (set CONFORMANCE_SANDBOX to measure with it): the
# twins have none, and getrusage did not see the CPU of processes in bubblewrap's pid namespace (measured:
# 3.6 s against 18.5 s for the same cases), which would make the framework's CPU look smaller than it is.
os.environ.setdefault("CONFORMANCE_SANDBOX", "off")
os.environ.setdefault("CONFORMANCE_FRESH", "1")  # every case run: a reused case would measure the store

TARGET = 1.25
TWINS = ("twin.py", "twin_train.py")
KINDS = ("load", "train", "cluster")  # load: the load, semantics, cost and proof cases, bench/twin.py's
KIND_OF_CHECK = {"train": "train", "cluster": "cluster"}
TWIN_SECONDS = {"load": "work_seconds", "train": "train_seconds", "cluster": "cluster_seconds"}


def children_cpu():
    """CPU seconds of every finished child of this process and of their waited-for descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command, env, cpu):
    """Runs ``command``; returns its wall seconds and the completed process, adds its CPU seconds to ``cpu``."""
    started, cpu_before = time.perf_counter(), children_cpu()
    completed = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
    cpu.append(children_cpu() - cpu_before)
    return time.perf_counter() - started, completed


def framework(runtimes, reports):
    """Wall seconds of the runtimes (in parallel), compare and report, the CPU seconds of each (a dict of
    lists), and the run's directory."""
    run_id = new_run_id()
    env = dict(os.environ, CONFORMANCE_RUN_ID=run_id)
    seconds, cpu = {}, {"runtimes": [], "compare": [], "report": []}
    seconds["runtimes"], completed = timed(["tox", "-p", "all", "-q", "-e", ",".join(runtimes), "--", "--reports",
                                            reports, "-p", "no:cacheprovider"], env, cpu["runtimes"])
    directory = os.path.join(reports, "runs", run_id)
    missing = [r for r in runtimes if not os.path.isdir(os.path.join(directory, r))]
    if missing:
        sys.exit("bench: the framework left no observations for %s (exit %d):\n%s"
                 % (", ".join(missing), completed.returncode, completed.stdout[-3000:]))
    seconds["compare"], _ = timed(["tox", "-q", "-e", "compare", "--", "--reports", reports,
                                   "-p", "no:cacheprovider"], env, cpu["compare"])
    # the report env's two commands, on this run's folder
    summary, _ = timed(["tox", "exec", "-q", "-e", "report", "--", "python", "-m", "conformance", "summary",
                        "--reports", reports, "--run-id", run_id], env, cpu["report"])
    seconds["report"], completed = timed(["tox", "exec", "-q", "-e", "report", "--", "python", "-m", "conformance",
                                          "report", "--reports", reports, "--run-id", run_id], env, cpu["report"])
    seconds["report"] += summary
    if not os.path.isfile(os.path.join(reports, run_id, "results.json")):
        sys.exit("bench: the report of %s was not written (exit %d):\n%s"
                 % (run_id, completed.returncode, completed.stdout[-3000:]))
    return seconds, {phase: sum(values) for phase, values in cpu.items()}, directory


def case_seconds(directory, runtimes):
    """Seconds the cases of each kind took (their recorded durations), summed over the runtimes' workers."""
    seconds = dict.fromkeys(KINDS, 0.0)
    for runtime in runtimes:
        for path in glob.glob(os.path.join(directory, runtime, "*.json")):
            with open(path) as stream:
                for entry in (json.load(stream).get("cases") or {}).values():
                    seconds[KIND_OF_CHECK.get(entry.get("check"), "load")] += entry.get("duration") or 0.0
    return seconds


def twin(runtime, directory, script):
    command, environ = twin_command(runtime, os.path.join(directory, runtime), script)
    completed = subprocess.run(command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    figures = json.loads(lines[-1]) if lines else None
    if completed.returncode != 0 or figures is None or figures["failed"]:
        failures = "\n".join(line for line in completed.stderr.splitlines() if line.startswith("twin:"))
        sys.exit("bench: %s of %s could not replay the run:\n%s"
                 % (script, runtime, failures or completed.stderr[-3000:]))
    return figures


def twins(runtimes, directory):
    """Wall and CPU seconds of every runtime's twins at once, and the seconds of each kind's work in them."""
    started, cpu_before = time.perf_counter(), children_cpu()
    jobs = [(runtime, script) for runtime in runtimes for script in TWINS]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        figures = list(pool.map(lambda job: twin(job[0], directory, job[1]), jobs))
    kinds = dict.fromkeys(KINDS, 0.0)
    for figure in figures:
        for kind, key in TWIN_SECONDS.items():
            kinds[kind] += figure.get(key, 0.0)
    return time.perf_counter() - started, children_cpu() - cpu_before, kinds


@contextlib.contextmanager
def held(path):
    """An exclusive flock of ``path`` for the block (nothing without a path)."""
    if not path:
        yield
        return
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", default=None, help="comma-separated (default: matrix.yaml's default ones)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reports", default=os.path.join(ROOT, "reports", "bench"))
    parser.add_argument("--lock", help="a file to flock for each repeat (not between them), on a shared machine")
    args = parser.parse_args()
    matrix = load_matrix(os.path.join(ROOT, DEFAULT_MATRIX))
    default_runtimes = [r.id for r in matrix.runtimes if r.is_default]
    runtimes = args.runtimes.split(",") if args.runtimes else default_runtimes
    for runtime in runtimes:  # asked of tox once, before any timing
        interpreter_and_env(runtime)
    rows, kinds = [], []
    for repeat in range(args.repeats):
        with held(args.lock):
            seconds, cpu, directory = framework(runtimes, args.reports)
            print("run %d: framework %.1fs (runtimes %.1fs, compare %.1fs, report %.1fs; CPU %.1fs), in cases: %s; "
                  "its twins next (%s)" % (repeat + 1, sum(seconds.values()), seconds["runtimes"], seconds["compare"],
                                           seconds["report"], sum(cpu.values()), ", ".join(
                                               "%s %.1fs" % item for item in sorted(case_seconds(directory, runtimes)
                                                                                    .items())), directory), flush=True)
            at_once, twins_cpu, twin_kinds = twins(runtimes, directory)
        rows.append((seconds, cpu, at_once, twins_cpu))
        kinds.append((case_seconds(directory, runtimes), twin_kinds))
        print("run %d: framework %.1fs (runtimes %.1fs, compare %.1fs, report %.1fs; CPU %.1fs), twins at once %.1fs "
              "(CPU %.1fs); in cases, framework / twins: %s" % (
                  repeat + 1, sum(seconds.values()), seconds["runtimes"], seconds["compare"], seconds["report"],
                  sum(cpu.values()), at_once, twins_cpu, ", ".join(
                      "%s %.1fs / %.1fs" % (kind, kinds[-1][0][kind], kinds[-1][1][kind]) for kind in KINDS)),
              flush=True)
    median = statistics.median
    print("%d runtimes on %d cores, medians of %d: framework %.1fs (runtimes %.1fs, compare %.1fs, report %.1fs); "
          "twins at once %.1fs" % (len(runtimes), os.cpu_count() or 1, len(rows),
                                   median([sum(s.values()) for s, _, _, _ in rows]),
                                   median([s["runtimes"] for s, _, _, _ in rows]),
                                   median([s["compare"] for s, _, _, _ in rows]),
                                   median([s["report"] for s, _, _, _ in rows]), median([a for _, _, a, _ in rows])))
    ratios = [sum(s.values()) / (at_once + s["compare"] + s["report"]) for s, _, at_once, _ in rows]
    ratio = median(ratios)
    judged = sorted(runtimes) == sorted(default_runtimes)  # the target is the default run's, every runtime at once
    verdict = ("met" if ratio <= TARGET else "missed") if judged else "judged only for the default runtimes at once"
    print("wall, framework / (twins at once + compare + report): %s; median %.2fx (target <= %.2fx: %s)"
          % (" ".join("%.2fx" % r for r in ratios), ratio, TARGET, verdict))
    # With every core busy, wall time follows CPU time, which this machine's drift moves far less
    cpu_ratios = [sum(c.values()) / (twins_cpu + c["compare"] + c["report"]) for _, c, _, twins_cpu in rows]
    print("CPU, the same: %s; median %.2fx (%.1f s against %.1f s)"
          % (" ".join("%.2fx" % r for r in cpu_ratios), median(cpu_ratios),
             median([sum(c.values()) for _, c, _, _ in rows]),
             median([t + c["compare"] + c["report"] for _, c, _, t in rows])))
    per_kind = []
    for kind in KINDS:
        ratios = [framework_kind[kind] / twin_kind[kind] for framework_kind, twin_kind in kinds if twin_kind[kind]]
        if ratios:
            per_kind.append("%s %.2fx (%.1f s / %.1f s)" % (
                "load/semantics/cost/proof" if kind == "load" else kind, median(ratios),
                median([f[kind] for f, _ in kinds]), median([t[kind] for _, t in kinds])))
    print("per kind, seconds in its cases, framework / twins (both at once, medians): %s" % "; ".join(per_kind))


if __name__ == "__main__":
    main()
