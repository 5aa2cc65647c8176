"""``check``: validate matrix.yaml and its expectation files, and list what would run."""
from __future__ import annotations

from conformance.cases import load_cases
from conformance.matrix import load_matrix


def register(commands) -> None:
    parser = commands.add_parser("check", help="validate matrix.yaml and its expectations")
    parser.set_defaults(run=run)


def run(args) -> int:
    matrix = load_matrix(args.matrix)
    for runtime in matrix.runtimes:
        cases = load_cases(matrix, runtime)
        expected_failures = sum(1 for case in cases if case.expectation.status == "fail")
        print("%-14s %-6s %4d load cases (%d expected to fail)%s"
              % (runtime.id, runtime.mode, len(cases), expected_failures,
                 "" if runtime.is_default else "  [labels: %s]" % ", ".join(runtime.labels)))
    print("%s: ok (%d models, %d runtimes, %d expectations)"
          % (args.matrix, len(matrix.models), len(matrix.runtimes), len(matrix.expectations)))
    return 0
