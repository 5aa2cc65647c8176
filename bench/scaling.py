"""How a runtime's cases grow with the number of models: k copies of the matrix's models, run warm.

    tox exec -e report -- python bench/scaling.py [--runtime tf2.21] [--copies 1,3,10] [--repeats 3]
    tox exec -e report -- python bench/scaling.py --reuse --copies 1,10 --repeats 1   # first run, then reuse
    tox exec -e report -- python bench/scaling.py --twin-cases ...   # only what bench/twin.py replays

For each k, writes a matrix with k copies of every model of matrix.yaml (ids suffixed ``__2`` .. ``__k``,
the same files), runs every case kind of the runtime on it (``pytest cases --runtime=R -n auto``, as its
tox env does: load, semantics, cost, proof, train, cluster; ``--twin-cases``: only the load and semantics
files, what ``bench/twin.py`` replays) in the runtime's tox env and prints the wall time and the CPU seconds
of the run's processes. Every case runs (``CONFORMANCE_FRESH=1``), unless ``--reuse``: then each k has an
empty reuse store of its own (a temporary ``CONFORMANCE_REUSE_DIR``), its *first* run fills it and a second,
*reuse* run with nothing changed reuses every case; both are printed, each with its marginal cost per model
and its memory, and the bench exits 1 if the reuse run ran a case again that the first run stored (an entry of its
observations without ``reused_from``; skips that never run, for a device this machine lacks or by an
expectation, and crashes and timeouts, which are never stored, are counted apart): a correctness failure,
not a timing. Every k is run ``--repeats`` times, the ks alternating in
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
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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

EVERY_KIND = ("cases",)  # what the runtime's tox env runs
TWIN_CASES = ("cases/test_load.py", "cases/test_semantics.py")  # what bench/twin.py replays
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


def run_entries(reports, run_id, runtime):
    """The case entries of a run's observation files for one runtime."""
    entries = {}
    directory = os.path.join(reports, "runs", run_id, runtime)
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(directory, name)) as stream:
                entries.update(json.load(stream).get("cases") or {})
    return entries


def ran_again(entries):
    """The cases that ran in this run: not reused, and not a skip that never runs (a device this machine
    lacks, an expectation that says skip). A skip a case gave itself is stored, and reused."""
    never_run = {case for case, entry in entries.items() if entry.get("status") == "skip"
                 and ("skipped_because" in entry or entry.get("expected") == "skip")}
    return [case for case, entry in entries.items() if not entry.get("reused_from") and case not in never_run]


def never_stored(entries):
    """The cases a run does not store, by design (conformance/pytest/reuse.py): a crash, a timeout, a
    hub-conformance error, a lost case. They run again in every run."""
    return {case for case, entry in entries.items()
            if entry.get("status") not in ("pass", "xfail", "fail", "skip") or "lost" in entry
            or (entry.get("error") or {}).get("cause") in ("crash", "timeout", "harness-error")}


def folder_mb(path):
    total = 0
    for folder, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, name)) for name in names)
    return total / float(1 << 20)


def run(runtime, matrix, reports, case_files, environment):
    run_id = new_run_id()
    env = dict(os.environ, CONFORMANCE_RUN_ID=run_id, **environment)
    command = ["tox", "exec", "-q", "-e", runtime, "--", "python", "-c", _MEASURE, "pytest", *case_files,
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
    entries = run_entries(reports, run_id, runtime)
    cases = len(entries)
    if not measured or not cases:
        sys.exit("bench: the run on %s recorded nothing:\n%s" % (matrix, output[-3000:]))
    if process.returncode != 0:  # the copies are expected to do what their originals do
        summary = [line for line in output.splitlines() if line.startswith("cases: ")]
        print("bench: the run on %s is not green (pytest exit %d): %s"
              % (matrix, process.returncode, summary[-1] if summary else output[-2000:]))
    ran = ran_again(entries)
    if ran and not sampler.executor_peak:  # a run that reused every case starts no executor
        sys.exit("bench: no executor of the run on %s was seen in /proc" % matrix)
    reused_from = collections.Counter(entry["reused_from"] for entry in entries.values()
                                      if entry.get("reused_from"))
    by_role = dict(sampler.cpu, **{"pss " + role: mb for role, mb in sampler.pss_peaks.items()})
    kinds = collections.Counter(entry.get("check") for entry in entries.values())
    return dict(wall=seconds, cpu=float(measured[-1][0]), cases=cases, peak=sampler.executor_peak,
                pss=sampler.pss_peak, ran=len(ran), ran_cases=ran, kinds=kinds, run_id=run_id, entries=entries,
                reused_from=reused_from, **by_role)


def linearity(rows, column):
    """(marginal per model, fixed, predicted and taken for the largest k) of one column of the median rows."""
    (n1, t1), (n2, t2) = [(row["models"], row[column]) for row in rows[:2]]
    marginal = (t2 - t1) / (n2 - n1)
    fixed = t1 - marginal * n1
    last = rows[-1]
    return marginal, fixed, fixed + marginal * last["models"], last[column]


HEADER = "%-6s %-6s %-4s %7s %7s %7s %9s %9s %14s %10s"
ROW = "%-6s %-6s %-4d %7d %7d %7d %8.1fs %8.1fs %11s MB %7.0f MB"
COLUMNS = ("wall", "cpu", "peak", "pss") + ROLES + tuple("pss " + role for role in ROLES)


def print_row(mode, repeat, k, models, measured):
    peak = "%.0f" % measured["peak"] if measured["peak"] else "-"
    print(ROW % (mode, repeat, k, models, measured["cases"], measured["ran"], measured["wall"], measured["cpu"], peak,
                 measured["pss"]))


def print_fit(mode, runtime, ks, matrices, runs, repeats):
    """Medians of one mode's runs, the marginal seconds per model (from the two smallest ks), the linearity
    verdict at the largest k (three ks or more) and where the CPU and the memory go."""
    rows = [dict(k=k, models=matrices[k][1], **{column: statistics.median(r[column] for r in runs[k])
                                                  for column in COLUMNS})
            for k in ks]
    print("%s run, medians of %d:" % (mode, repeats))
    for row in rows:
        print("%-6s %-6s %-4d %7d %7s %7s %8.1fs %8.1fs %11s MB %7.0f MB"
              % (mode, "", row["k"], row["models"], "", "", row["wall"], row["cpu"],
                 "%.0f" % row["peak"] if row["peak"] else "-", row["pss"]))
    if len(rows) < 2:
        return
    for column, name in (("wall", "wall"), ("cpu", "CPU")):
        marginal, fixed, predicted, taken = linearity(rows, column)
        line = "%s %s %s: marginal %.3f s per model, fixed %.1f s" % (mode, runtime, name, marginal, fixed)
        if len(rows) >= 3:  # the fit takes the first two; the verdict needs a third
            allowed = fixed + 1.05 * marginal * rows[-1]["models"]
            line += "; k=%d predicted %.1f s, took %.1f s (%.2fx; target <= %.1f s: %s)" % (
                rows[-1]["k"], predicted, taken, taken / predicted, allowed,
                "linear" if taken <= allowed else "grows faster than linear")
        print(line)
    if len(rows) >= 3:
        # The same fit within each repeat, whose runs follow each other: the machine's drift over the whole
        # bench (CPU seconds of one run varied by a quarter within an hour here) falls less on it.
        for column, name in (("wall", "wall"), ("cpu", "CPU")):
            ratios = []
            for repeat in range(repeats):
                own = [dict(models=matrices[k][1], **{column: runs[k][repeat][column]}) for k in ks]
                _, _, predicted, taken = linearity(own, column)
                ratios.append(taken / predicted)
            print("%s %s %s, each repeat's own fit: k=%d at %s of its prediction (median %.2fx)"
                  % (mode, runtime, name, ks[-1], " / ".join("%.2fx" % r for r in ratios),
                     statistics.median(ratios)))
    # Where a growth faster than linear goes: the same fit on each role's CPU seconds (sampled from /proc)
    verdict = len(rows) >= 3  # with two ks the fit passes through both: no ratio to show
    print("%s: CPU seconds by process (medians; per model from the first two ks%s):"
          % (mode, "; k=%d against that fit" % ks[-1] if verdict else ""))
    print("  %-13s %s %9s %9s" % ("", " ".join("%8s" % ("k=%d" % k) for k in ks), "per model",
                                  "k=%d" % ks[-1] if verdict else ""))
    for role in ROLES:
        marginal, fixed, predicted, taken = linearity(rows, role)
        ratio = "%8.2fx" % (taken / predicted) if verdict and predicted > 0 else ""
        print("  %-13s %s %8.3fs %s" % (role, " ".join("%7.1fs" % row[role] for row in rows), marginal, ratio))
    print("%s: peak PSS by process, MB (medians; each role's own peak):" % mode)
    for role in ROLES:
        print("  %-13s %s" % (role, " ".join("%7.0f " % row["pss " + role] for row in rows)))
    for column, name in (("peak", "largest executor's peak RSS"), ("pss", "the run's peak PSS")):
        peaks = [row[column] for row in rows]
        if not all(peaks):
            print("%s %s: no executor started (every case reused)" % (mode, name))
            continue
        print("%s %s MB: %s: %s" % (mode, name, " / ".join("%.0f" % p for p in peaks),
                                    "flat" if max(peaks) <= 1.1 * min(peaks) else "grows with k"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", default="tf2.21")
    parser.add_argument("--copies", default="1,3,10", help="comma-separated k (three or more for a verdict)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of every k; the medians count")
    parser.add_argument("--reports", default=os.path.join(ROOT, "reports", "bench"))
    parser.add_argument("--reuse", action="store_true",
                        help="each k: a first run into an empty store, then a reuse run with nothing changed")
    parser.add_argument("--twin-cases", action="store_true",
                        help="only the load and semantics cases (what bench/twin.py replays), not every kind")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each run's row as it ends: the largest k takes minutes
    ks = sorted({int(k) for k in args.copies.split(",")})
    case_files = TWIN_CASES if args.twin_cases else EVERY_KIND
    os.makedirs(args.reports, exist_ok=True)
    matrices = {k: copied_matrix(os.path.join(ROOT, DEFAULT_MATRIX), k, args.reports) for k in ks}
    fresh = {"CONFORMANCE_FRESH": "1"}  # every case run: a reused case would measure the store
    run(args.runtime, matrices[ks[0]][0], args.reports, case_files, fresh)
    modes = ("first", "reuse") if args.reuse else ("fresh",)
    print("%s; %s (after one warm-up run)" % (" ".join(case_files), "first run into an empty store, then a reuse run"
                                              if args.reuse else "every case run"))
    print(HEADER % ("mode", "repeat", "k", "models", "cases", "ran", "wall", "CPU", "executor RSS", "run PSS"))
    runs = {mode: {k: [] for k in ks} for mode in modes}
    failures = []
    for repeat in range(args.repeats):
        for k in (ks if repeat % 2 == 0 else ks[::-1]):
            if not args.reuse:
                measured = run(args.runtime, matrices[k][0], args.reports, case_files, fresh)
                runs["fresh"][k].append(measured)
                print_row("fresh", repeat + 1, k, matrices[k][1], measured)
                continue
            store = tempfile.mkdtemp(prefix="hub-conformance-scaling-reuse-")
            try:
                # CONFORMANCE_FRESH=0: reuse on, whatever the caller's environment says
                environment = {"CONFORMANCE_FRESH": "0", "CONFORMANCE_REUSE_DIR": store}
                first = run(args.runtime, matrices[k][0], args.reports, case_files, environment)
                stored_mb = folder_mb(store)
                second = run(args.runtime, matrices[k][0], args.reports, case_files, environment)
            finally:
                shutil.rmtree(store, ignore_errors=True)
            runs["first"][k].append(first)
            runs["reuse"][k].append(second)
            print_row("first", repeat + 1, k, matrices[k][1], first)
            print_row("reuse", repeat + 1, k, matrices[k][1], second)
            sources = ", ".join(second["reused_from"]) or "no run"
            print("       reuse run: %d cases reused from %s; store %.1f MB; %.1f%% of the first's wall, "
                  "%.1f%% of its CPU" % (sum(second["reused_from"].values()), sources, stored_mb,
                                         100 * second["wall"] / first["wall"], 100 * second["cpu"] / first["cpu"]))
            unstorable = never_stored(first["entries"])
            wrongly = [case for case in second["ran_cases"] if case not in unstorable]
            if unstorable:
                print("       %d cases the first run did not store (crash, timeout: never reused) ran again"
                      % len(set(second["ran_cases"]) & unstorable))
            if wrongly:
                failures.append((k, second, wrongly))
    first_kinds = runs[modes[0]][ks[0]][0]["kinds"]
    print("cases per kind at k=%d: %s" % (ks[0], ", ".join("%s %d" % item for item in sorted(first_kinds.items()))))
    for mode in modes:
        print_fit(mode, args.runtime, ks, matrices, runs[mode], args.repeats)
    if failures:
        for k, second, wrongly in failures:
            print("bench: the reuse run at k=%d (run %s) ran %d cases again that the first run stored, e.g. %s"
                  % (k, second["run_id"], len(wrongly), ", ".join(wrongly[:5])))
        sys.exit(1)


if __name__ == "__main__":
    main()
