"""``compare``: the cross-runtime checks on a finished run (pytest on cases/test_compare.py)."""
from __future__ import annotations

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def register(commands) -> None:
    parser = commands.add_parser("compare", help="compare the runtimes of a finished run")
    parser.add_argument("--run-id", action="append", default=None,
                        help="run id or run directory (repeat to merge shards; default: newest run)")
    parser.add_argument("--against-goldens", action="store_true", help="hold every cell to cases/goldens")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    parser.set_defaults(run=run)


def run(args) -> int:
    argv = [os.path.join(ROOT, "cases", "test_compare.py"), "--matrix", os.path.abspath(args.matrix)]
    for run_id in args.run_id or ["auto"]:
        argv += ["--compare", run_id]
    if args.against_goldens:
        argv.append("--against-goldens")
    return int(pytest.main(argv + list(args.pytest_args)))
