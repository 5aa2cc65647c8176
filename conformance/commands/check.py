"""``check``: validate matrix.yaml and its expectation files, and list what would run.

Everything that can be known before a runtime starts is checked here, local handles and npz files
included; each problem is one ``file:line: key: what is wrong (what is allowed)`` line and exit status 2.
"""
from __future__ import annotations

import gc

from conformance.cases import load_cases
from conformance.matrix import load_matrix


def register(commands) -> None:
    parser = commands.add_parser("check", help="validate matrix.yaml and its expectations")
    parser.set_defaults(run=run)


def run(args) -> int:
    matrix = load_matrix(args.matrix, check_files=True)
    # Hundreds of thousands of case objects on a large matrix, none in cycles: the cyclic collector's
    # passes over them would take longer than making them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for runtime in matrix.runtimes:
            cases = load_cases(matrix, runtime)
            expected_failures = sum(1 for case in cases if case.expectation.status == "fail")
            print("%-14s %-6s %4d load cases (%d expected to fail)%s"
                  % (runtime.id, runtime.mode, len(cases), expected_failures,
                     "" if runtime.is_default else "  [labels: %s]" % ", ".join(runtime.labels)))
    finally:
        if collecting:
            gc.enable()
    print("%s: ok (%d models, %d runtimes, %d expectations)"
          % (args.matrix, len(matrix.models), len(matrix.runtimes), len(matrix.expectations)))
    return 0
