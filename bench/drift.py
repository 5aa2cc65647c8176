"""Largest numeric differences from the reference, per runtime and device, from a run's comparison.

    python bench/drift.py [--reports reports] [--run-id ID] [--include MODEL ...]

Reads reports/runs/<run-id>/compare/*.json (written by `tox -e compare`); planted-change models (`twin:`
in matrix.yaml) are left out unless named with --include.
"""
import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from conformance.matrix import load_matrix  # noqa: E402
from conformance.observations import read_run  # noqa: E402
from conformance.run_ids import latest_run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--run-id", default=None)
    parser.add_argument("--include", nargs="*", default=[])
    args = parser.parse_args()
    run_id = args.run_id or latest_run(args.reports)
    planted = {m.id for m in load_matrix("matrix.yaml").models if m.twin} - set(args.include)
    worst = collections.defaultdict(lambda: [0.0, 0.0, "", 0])
    for _, document in read_run(args.reports, run_id):
        if document.get("runtime") != "compare":
            continue
        for entry in document["cases"].values():
            if entry.get("check") != "numeric" or entry.get("model") in planted:
                continue
            for difference in (entry.get("details") or {}).get("differences", []):
                row = worst[(entry["runtime"], entry["device"])]
                row[3] += 1
                if difference["max_abs"] > row[0]:
                    row[0], row[2] = difference["max_abs"], "%s %s" % (entry["model"], difference["path"])
                row[1] = max(row[1], difference["max_rel"])
    print("run %s (outputs compared with each model's reference cell)" % run_id)
    print("%-14s %-4s %8s %12s %12s  %s" % ("runtime", "dev", "outputs", "max abs", "max rel", "largest abs at"))
    for (runtime, device), (max_abs, max_rel, where, count) in sorted(worst.items()):
        print("%-14s %-4s %8d %12.3g %12.3g  %s" % (runtime, device, count, max_abs, max_rel, where))


if __name__ == "__main__":
    main()
