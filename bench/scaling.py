"""How a runtime's cases grow with the number of models: k copies of the matrix's models, run warm.

    tox exec -e report -- python bench/scaling.py [--runtime tf2.21] [--copies 1,3,10]

For each k, writes a matrix with k copies of every model of matrix.yaml (ids suffixed ``__2`` .. ``__k``,
the same files), runs its load and semantics cases (``pytest cases/test_load.py cases/test_semantics.py
--runtime=R -n auto``, what ``bench/twin.py`` replays) on it in the runtime's tox env and prints the wall
time, the marginal seconds per model (from the smallest and the next k), whether the largest k stayed within
linear growth (target: time(k) <= fixed + 1.05 x marginal x models, i.e. 10.5 x the marginal cost of one
copy at k = 10), and the peak RSS of the largest process of the run (an executor), which must not grow
with k. Copies fail where the
expectations name a model by id (``hazard`` but not ``hazard__2``): timing is what counts here, not the
runs' verdicts.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from conformance.matrix import DEFAULT_MATRIX  # noqa: E402
from conformance.run_ids import new_run_id  # noqa: E402

CASE_FILES = ("cases/test_load.py", "cases/test_semantics.py")  # what bench/twin.py replays
# Runs the command and prints the largest peak RSS among its waited-for descendants (ru_maxrss, kB).
_MEASURE = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
            "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)")


class _Unaliased(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def copied_matrix(source, copies, directory):
    """matrix.yaml with ``copies`` copies of each model; relative expectation paths made absolute."""
    with open(source) as stream:
        document = yaml.safe_load(stream)
    models = document["models"]
    document["models"] = [dict(m, id=m["id"] if k == 1 else "%s__%d" % (m["id"], k))
                          for k in range(1, copies + 1) for m in models]
    base = os.path.dirname(os.path.abspath(source))
    if document.get("expectations"):
        files = document["expectations"] if isinstance(document["expectations"], list) else [document["expectations"]]
        document["expectations"] = [os.path.join(base, f) for f in files]
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
    completed = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
    seconds = time.perf_counter() - started
    peaks = [line.split()[1] for line in completed.stdout.splitlines() if line.startswith("peak-rss-kb")]
    cases = 0
    directory = os.path.join(reports, "runs", run_id, runtime)
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(directory, name)) as stream:
                cases += len(json.load(stream).get("cases") or {})
    if not peaks or not cases:
        sys.exit("bench: the run on %s recorded nothing:\n%s" % (matrix, completed.stdout[-3000:]))
    return seconds, cases, int(peaks[-1]) / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", default="tf2.21")
    parser.add_argument("--copies", default="1,3,10", help="comma-separated k (three or more for a verdict)")
    parser.add_argument("--reports", default=os.path.join(ROOT, "reports", "bench"))
    args = parser.parse_args()
    ks = sorted({int(k) for k in args.copies.split(",")})
    os.makedirs(args.reports, exist_ok=True)
    rows = []
    run(args.runtime, copied_matrix(os.path.join(ROOT, DEFAULT_MATRIX), ks[0], args.reports)[0], args.reports)
    print("%-4s %7s %7s %9s %14s  (after one warm-up run)" % ("k", "models", "cases", "wall", "peak RSS"))
    for k in ks:
        matrix, models = copied_matrix(os.path.join(ROOT, DEFAULT_MATRIX), k, args.reports)
        seconds, cases, peak = run(args.runtime, matrix, args.reports)
        rows.append((k, models, cases, seconds, peak))
        print("%-4d %7d %7d %8.1fs %11.0f MB" % (k, models, cases, seconds, peak))
    if len(rows) >= 3:  # the fit takes the first two; the verdict needs a third
        (_, n1, _, t1, _), (_, n2, _, t2, _) = rows[0], rows[1]
        marginal = (t2 - t1) / (n2 - n1)
        fixed = t1 - marginal * n1
        _, n_last, _, t_last, _ = rows[-1]
        predicted, allowed = fixed + marginal * n_last, fixed + 1.05 * marginal * n_last
        print("%s: marginal %.2f s per model, fixed %.1f s; k=%d predicted %.1f s, took %.1f s (%.2fx; target "
              "<= %.1f s: %s)" % (args.runtime, marginal, fixed, rows[-1][0], predicted, t_last, t_last / predicted,
                                  allowed, "linear" if t_last <= allowed else "grows faster than linear"))
        peaks = [row[4] for row in rows]
        print("peak RSS %s MB: %s" % (" / ".join("%.0f" % p for p in peaks),
                                      "flat" if max(peaks) <= 1.1 * min(peaks) else "grows with k"))


if __name__ == "__main__":
    main()
