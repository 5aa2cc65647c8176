"""``check``: validate matrix.yaml and its expectation files, and list what would run.

Everything that can be known before a runtime starts is checked here, local handles and npz files
included; each problem is one ``file:line: key: what is wrong (what is allowed)`` line and exit status 2.
Expectations that could hide a run (conformance/expectation_audit.py) are refused the same way, or only
warned about with ``--warn-only``.
"""
from __future__ import annotations

import gc
import os
import sys

from conformance import expectation_audit
from conformance.cases import load_cases
from conformance.matrix import ZOO_EXPECTATIONS, load_matrix


def register(commands) -> None:
    parser = commands.add_parser("check", help="validate matrix.yaml and its expectations")
    parser.add_argument("--warn-only", action="store_true",
                        help="print expectations that could hide a run (too broad without `broad:`, or matching "
                             "nothing) as warnings instead of refusing them (exit 2)")
    parser.set_defaults(run=run)


def with_model_facts(matrix):
    """The matrix with what the models' files say (format, tags, signatures), read without TensorFlow."""
    from conformance.pytest.runtime import with_detected_facts
    from conformance.zoo.catalog import default_zoo_dir

    zoo = os.path.abspath(default_zoo_dir(os.path.dirname(os.path.abspath(matrix.path))))
    return with_detected_facts(matrix, {"zoo": zoo})


def audit(matrix, warn_only: bool, load_cases_of=None) -> bool:
    """Print the refused expectations; False when they refuse the run (not ``warn_only``). ``matrix`` has
    its models' facts already (:func:`with_model_facts`); ``load_cases_of``: each runtime's load cases."""
    cases = expectation_audit.matrix_cases(matrix, generated=load_cases_of)
    found = expectation_audit.refusals(matrix, cases, zoo_file=ZOO_EXPECTATIONS)
    for line in found:
        print("%s%s" % ("warning: " if warn_only else "error: ", line), file=sys.stderr)
    return warn_only or not found


def run(args) -> int:
    # What the models' files say (format, tags, signatures), as the runtimes will see it: the expectations
    # that match on them apply here too
    matrix = with_model_facts(load_matrix(args.matrix, check_files=True))
    # Hundreds of thousands of case objects on a large matrix, none in cycles: the cyclic collector's
    # passes over them would take longer than making them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        load_cases_of = {runtime.id: load_cases(matrix, runtime) for runtime in matrix.runtimes}
        if not audit(matrix, args.warn_only or expectation_audit.warn_only_from_env(), load_cases_of):
            return 2
        for runtime in matrix.runtimes:
            cases = load_cases_of[runtime.id]
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
