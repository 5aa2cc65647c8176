"""``repeat[<model>-<runtime>-<device>-<api>-<signature>]``: two identical calls in the same cell agree bit
for bit; otherwise the output is *nondeterministic* (results.json's status), and left out of ``numeric``; a
signature whose graph writes state is skipped as *stateful* instead."""
from __future__ import annotations

from conformance.checks._case import skip
from conformance.checks._compare import finish
from conformance.checks.registry import Check, register
from conformance.checks.scopes import seen_with_outputs


def run(case, comparison, case_record):
    """Unless the signature writes state (a counter, a training step): then what changed is said, as a skip."""
    from conformance.compare import checks

    try:
        result = checks.check_repeat(comparison.cell(case), case.signature)
    except checks.Stateful as state:
        case_record(details={"stateful": str(state)})
        skip(str(state))
    finish(case, case_record, result)


register(Check(name="repeat", side="compare", scope="signature", observes="cells", run=run, doc=__doc__,
               causes=("nondeterministic",), suite="compare", failure_status="nondeterministic",
               applies=seen_with_outputs))
