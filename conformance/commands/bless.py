"""``bless``: write a run's reference outputs to cases/goldens/ (review the diff, then commit it)."""
from __future__ import annotations

import os

from conformance.compare.goldens import GOLDEN_DIR, bless
from conformance.compare.observed import Observed, run_directories
from conformance.matrix import load_matrix
from conformance.run_ids import latest_run


def register(commands) -> None:
    parser = commands.add_parser("bless", help="bless a run's reference outputs as the golden baselines")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--run-id", default=None, help="run to bless (default: the newest)")
    parser.add_argument("--goldens", default=GOLDEN_DIR)
    parser.set_defaults(run=run)


def run(args) -> int:
    run_id = args.run_id or latest_run(args.reports)
    if run_id is None:
        print("bless: no runs under %s/runs" % args.reports)
        return 2
    matrix = load_matrix(args.matrix)
    observed = Observed(run_directories(args.reports, [run_id]))
    index = bless(observed, matrix, args.goldens, os.path.basename(run_id))
    for model, entry in sorted(index.items()):
        for signature, record in sorted(entry["signatures"].items()):
            print("blessed %s.%s from %s (%d outputs)" % (model, signature, record["reference"],
                                                          len(record["outputs"])))
    print("wrote %s: review the diff before committing" % args.goldens)
    return 0
