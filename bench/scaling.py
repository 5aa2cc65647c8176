"""How a runtime's cases grow with the number of models: k copies of the matrix's models, run warm.

    tox exec -e report -- python bench/scaling.py [--runtime tf2.21] [--copies 1,3,10] [--repeats 3]

For each k, writes a matrix with k copies of every model of matrix.yaml (ids suffixed ``__2`` .. ``__k``,
the same files), runs its load and semantics cases (``pytest cases/test_load.py cases/test_semantics.py
--runtime=R -n auto``, what ``bench/twin.py`` replays) on it in the runtime's tox env and prints the wall
time and the CPU seconds of the run's processes. Every k is run ``--repeats`` times, the ks alternating in
order and in reverse so that the machine's drift falls on all of them alike; the medians give the marginal
seconds per model (from the smallest and the next k), and whether the largest k stayed within linear growth
(target: time(k) <= fixed + 1.05 x marginal x models, i.e. 10.5 x the marginal cost of one copy at k = 10),
in wall time and in CPU time; the same fit is made within each repeat too, whose runs follow each other
(this machine's speed drifts within an hour: one run's CPU seconds by up to a quarter). It also prints the
memory of the run, sampled from /proc: the peak resident set of its largest executor (``VmHWM``) and the
peak of its processes' summed proportional set sizes (``Pss``: shared pages divided among their sharers),
which must not grow with k. Not ``ru_maxrss``: an executor is forked from its worker's fork server, which
imported TensorFlow, and a fork's resident set counts only the library pages it touches again, so the
largest ``ru_maxrss`` is the fork server's, whatever the executors do. The copies are expected to do what
their originals do (the zoo's expectations are widened to them), so every k's run is as green as the default
run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from conformance.matrix import DEFAULT_MATRIX  # noqa: E402
from conformance.run_ids import new_run_id  # noqa: E402

# The runtimes run without the executors' sandbox here (set CONFORMANCE_SANDBOX to measure with it): the
# twins have none, and getrusage did not see the CPU of processes in bubblewrap's pid namespace (measured:
# 3.6 s against 18.5 s for the same cases), which would make the framework's CPU look smaller than it is.
os.environ.setdefault("CONFORMANCE_SANDBOX", "off")
os.environ.setdefault("CONFORMANCE_FRESH", "1")  # every case run: a reused case would measure the store

CASE_FILES = ("cases/test_load.py", "cases/test_semantics.py")  # what bench/twin.py replays
# Runs the command and prints the CPU seconds of its waited-for descendants: pytest, its workers, their fork
# servers and executors.
_MEASURE = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
            "usage = resource.getrusage(resource.RUSAGE_CHILDREN); "
            "print('children', usage.ru_utime + usage.ru_stime); sys.exit(code)")
FORK_SERVER = b"conformance.runtime.forkserver"
XDIST_WORKER = b"exec(eval(sys.stdin.readline()))"  # execnet's bootstrap: an xdist worker before its fork server


def _read(path):
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError:  # the process ended
        return b""


def _field_kb(text, name):
    for line in text.splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0


ROLES = ("executors", "fork servers", "workers", "controller")
_TICKS = os.sysconf("SC_CLK_TCK")


def _processes():
    """Every process's parent pid and user + system CPU seconds, from one read of its /proc/<pid>/stat."""
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _read("/proc/%s/stat" % name)
            if stat:  # fields 3.. of proc(5), after the command's closing parenthesis: ppid is 4, utime 14, stime 15
                fields = stat.rsplit(b")", 1)[1].split()
                found[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / float(_TICKS))
    return found


class MemorySampler(threading.Thread):
    """Samples a process tree every ``interval`` seconds until stopped: the largest peak resident set of an
    executor (a fork of a fork server) and the peak of the tree's summed Pss, both in MB; and the CPU
    seconds of each role (``cpu``: executors, fork servers, xdist workers, and the rest: pytest's controller
    and tox), as last seen of each process (a process that ends loses at most one interval)."""

    def __init__(self, root, interval=0.25):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.executor_peak = self.pss_peak = 0.0
        self.pss_peaks = dict.fromkeys(ROLES, 0.0)  # MB, each role's own peak of its summed Pss
        self._last_cpu = {}  # pid -> (role, CPU seconds when last seen)
        self._stopping = threading.Event()

    @property
    def cpu(self):
        """CPU seconds per role."""
        totals = dict.fromkeys(ROLES, 0.0)
        for role, seconds in self._last_cpu.values():
            totals[role] += seconds
        return totals

    def run(self):
        while not self._stopping.wait(self.interval):
            processes = _processes()
            parents = {pid: parent for pid, (parent, _) in processes.items()}
            children = {}
            for pid, parent in parents.items():
                children.setdefault(parent, []).append(pid)
            tree, todo = [], [self.root]
            while todo:
                pid = todo.pop()
                tree.append(pid)
                todo.extend(children.get(pid, ()))
            commands = {pid: _read("/proc/%d/cmdline" % pid) for pid in tree}
            fork_servers = {pid for pid in tree if FORK_SERVER in commands[pid]}
            executors = {pid for pid in fork_servers if parents.get(pid) in fork_servers}
            for pid in executors:
                hwm = _field_kb(_read("/proc/%d/status" % pid), b"VmHWM:")
                self.executor_peak = max(self.executor_peak, hwm / 1024.0)
            workers = {parents.get(pid) for pid in fork_servers - executors}
            workers.update(pid for pid in tree if XDIST_WORKER in commands[pid])
            for pid in tree:
                role = ("executors" if pid in executors else "fork servers" if pid in fork_servers
                        else "workers" if pid in workers else "controller")
                known = self._last_cpu.get(pid, ("controller",))[0]
                if role == "controller":  # a process once seen in a role keeps it (a zombie has no cmdline)
                    role = known
                seconds = processes.get(pid, (0, 0.0))[1]
                if seconds:
                    self._last_cpu[pid] = (role, seconds)
            pss = dict.fromkeys(ROLES, 0.0)
            for pid in tree:
                role = self._last_cpu.get(pid, ("controller",))[0]
                pss[role] += _field_kb(_read("/proc/%d/smaps_rollup" % pid), b"Pss:") / 1024.0
            self.pss_peak = max(self.pss_peak, sum(pss.values()))
            for role, megabytes in pss.items():
                self.pss_peaks[role] = max(self.pss_peaks[role], megabytes)

    def stop(self):
        self._stopping.set()
        self.join()


class _Unaliased(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def copied_expectations(models, runtimes, copies, directory):
    """The zoo's own expectations, each model pattern ``p`` widened to ``[p, p__*]`` so that the copies are
    expected to do what their originals do (a copy that fails where its original is expected to adds
    failure reports, which pytest's summary handles in time quadratic in their number). Patterns that name
    no model or runtime of the matrix are left out, as load_matrix would refuse them in a matrix's file."""
    from conformance.expectations import glob_match
    from conformance.matrix import ZOO_EXPECTATIONS

    with open(ZOO_EXPECTATIONS) as stream:
        entries = yaml.safe_load(stream) or []
    kept = []
    for entry in entries:
        match = dict(entry["match"])
        for key, known in (("model", models), ("runtime", runtimes)):
            if key in match:
                patterns = [p for p in (match[key] if isinstance(match[key], list) else [match[key]])
                            if any(glob_match(p, name) for name in known)]
                match[key] = [q for p in patterns for q in ((p, p + "__*") if key == "model" and copies > 1 else (p,))]
        if all(match.get(key, True) for key in ("model", "runtime")):
            kept.append(dict(entry, match=match))
    path = os.path.abspath(os.path.join(directory, "expectations.x%d.yaml" % copies))
    with open(path, "w") as stream:
        yaml.dump(kept, stream, Dumper=_Unaliased, sort_keys=False)
    return path


def copied_matrix(source, copies, directory):
    """matrix.yaml with ``copies`` copies of each model, expected to do what their originals do; relative
    expectation paths made absolute."""
    with open(source) as stream:
        document = yaml.safe_load(stream)
    models = document["models"]
    document["models"] = [dict(m, id=m["id"] if k == 1 else "%s__%d" % (m["id"], k))
                          for k in range(1, copies + 1) for m in models]
    base = os.path.dirname(os.path.abspath(source))
    files = document.get("expectations") or []
    files = files if isinstance(files, list) else [files]
    # first, as the zoo's own file is: the matrix's files override it
    widened = copied_expectations([m["id"] for m in models], [r["id"] for r in document["runtimes"]], copies,
                                  directory)
    document["expectations"] = [widened] + [os.path.join(base, f) for f in files]
    path = os.path.join(directory, "matrix.x%d.yaml" % copies)
    with open(path, "w") as stream:  # written out: matrix.yaml allows no anchors, and copies share values
        yaml.dump(document, stream, Dumper=_Unaliased, sort_keys=False)
    return path, len(document["models"])


def run(runtime, matrix, reports):
    run_id = new_run_id()
    env = dict(os.environ, CONFORMANCE_RUN_ID=run_id)
    command = ["tox", "exec", "-q", "-e", runtime, "--", "python", "-c", _MEASURE, "pytest", *CASE_FILES,
               "--runtime=%s" % runtime, "--matrix", matrix, "-n", "auto", "--dist", "loadgroup",
               "-p", "no:cacheprovider", "--max-worker-restart=0", "--reports", reports, "-q"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
    sampler = MemorySampler(process.pid)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    measured = [line.split()[1:] for line in output.splitlines() if line.startswith("children ")]
    cases = 0
    directory = os.path.join(reports, "runs", run_id, runtime)
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(directory, name)) as stream:
                cases += len(json.load(stream).get("cases") or {})
    if not measured or not cases:
        sys.exit("bench: the run on %s recorded nothing:\n%s" % (matrix, output[-3000:]))
    if process.returncode != 0:  # the copies are expected to do what their originals do
        summary = [line for line in output.splitlines() if line.startswith("cases: ")]
        print("bench: the run on %s is not green (pytest exit %d): %s"
              % (matrix, process.returncode, summary[-1] if summary else output[-2000:]))
    if not sampler.executor_peak:
        sys.exit("bench: no executor of the run on %s was seen in /proc" % matrix)
    by_role = dict(sampler.cpu, **{"pss " + role: mb for role, mb in sampler.pss_peaks.items()})
    return seconds, float(measured[-1][0]), cases, sampler.executor_peak, sampler.pss_peak, by_role


def linearity(rows, column):
    """(marginal per model, fixed, predicted and taken for the largest k) of one column of the median rows."""
    (n1, t1), (n2, t2) = [(row["models"], row[column]) for row in rows[:2]]
    marginal = (t2 - t1) / (n2 - n1)
    fixed = t1 - marginal * n1
    last = rows[-1]
    return marginal, fixed, fixed + marginal * last["models"], last[column]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", default="tf2.21")
    parser.add_argument("--copies", default="1,3,10", help="comma-separated k (three or more for a verdict)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of every k; the medians count")
    parser.add_argument("--reports", default=os.path.join(ROOT, "reports", "bench"))
    args = parser.parse_args()
    ks = sorted({int(k) for k in args.copies.split(",")})
    os.makedirs(args.reports, exist_ok=True)
    matrices = {k: copied_matrix(os.path.join(ROOT, DEFAULT_MATRIX), k, args.reports) for k in ks}
    run(args.runtime, matrices[ks[0]][0], args.reports)
    print("%-7s %-4s %7s %7s %9s %9s %14s %10s  (after one warm-up run)"
          % ("repeat", "k", "models", "cases", "wall", "CPU", "executor RSS", "run PSS"))
    runs = {k: [] for k in ks}
    for repeat in range(args.repeats):
        for k in (ks if repeat % 2 == 0 else ks[::-1]):
            seconds, cpu, cases, peak, pss, roles = run(args.runtime, matrices[k][0], args.reports)
            runs[k].append(dict({"wall": seconds, "cpu": cpu, "peak": peak, "pss": pss, "cases": cases}, **roles))
            print("%-7d %-4d %7d %7d %8.1fs %8.1fs %11.0f MB %7.0f MB"
                  % (repeat + 1, k, matrices[k][1], cases, seconds, cpu, peak, pss))
    rows = [dict(k=k, models=matrices[k][1], **{column: statistics.median(r[column] for r in runs[k])
                                                  for column in ("wall", "cpu", "peak", "pss") + ROLES
                                                  + tuple("pss " + role for role in ROLES)})
            for k in ks]
    print("medians of %d:" % args.repeats)
    for row in rows:
        print("%-7s %-4d %7d %7s %8.1fs %8.1fs %11.0f MB %7.0f MB"
              % ("", row["k"], row["models"], "", row["wall"], row["cpu"], row["peak"], row["pss"]))
    if len(rows) >= 3:  # the fit takes the first two; the verdict needs a third
        for column, name in (("wall", "wall"), ("cpu", "CPU")):
            marginal, fixed, predicted, taken = linearity(rows, column)
            allowed = fixed + 1.05 * marginal * rows[-1]["models"]
            print("%s %s: marginal %.2f s per model, fixed %.1f s; k=%d predicted %.1f s, took %.1f s (%.2fx; target "
                  "<= %.1f s: %s)" % (args.runtime, name, marginal, fixed, rows[-1]["k"], predicted, taken,
                                      taken / predicted, allowed,
                                      "linear" if taken <= allowed else "grows faster than linear"))
        # The same fit within each repeat, whose runs follow each other: the machine's drift over the whole
        # bench (CPU seconds of one run varied by a quarter within an hour here) falls less on it.
        for column, name in (("wall", "wall"), ("cpu", "CPU")):
            ratios = []
            for repeat in range(args.repeats):
                own = [dict(models=matrices[k][1], **{column: runs[k][repeat][column]}) for k in ks]
                _, _, predicted, taken = linearity(own, column)
                ratios.append(taken / predicted)
            print("%s %s, each repeat's own fit: k=%d at %s of its prediction (median %.2fx)"
                  % (args.runtime, name, ks[-1], " / ".join("%.2fx" % r for r in ratios), statistics.median(ratios)))
        # Where a growth faster than linear goes: the same fit on each role's CPU seconds (sampled from /proc)
        print("CPU seconds by process (medians; k=%d against the fit of the first two ks):" % ks[-1])
        print("  %-13s %s %9s %9s" % ("", " ".join("%8s" % ("k=%d" % k) for k in ks), "per model", "k=%d" % ks[-1]))
        for role in ROLES:
            marginal, fixed, predicted, taken = linearity(rows, role)
            print("  %-13s %s %8.3fs %8.2fx" % (role, " ".join("%7.1fs" % row[role] for row in rows), marginal,
                                                taken / predicted if predicted > 0 else float("nan")))
        print("peak PSS by process, MB (medians; each role's own peak):")
        for role in ROLES:
            print("  %-13s %s" % (role, " ".join("%7.0f " % row["pss " + role] for row in rows)))
        for column, name in (("peak", "largest executor's peak RSS"), ("pss", "the run's peak PSS")):
            peaks = [row[column] for row in rows]
            print("%s %s MB: %s" % (name, " / ".join("%.0f" % p for p in peaks),
                                    "flat" if max(peaks) <= 1.1 * min(peaks) else "grows with k"))


if __name__ == "__main__":
    main()
