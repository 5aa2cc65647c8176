"""``repeat[<model>-<runtime>-<device>-<api>-<signature>]``: two identical calls in the same cell agree bit
for bit; otherwise the output is *nondeterministic* (results.json's status), and left out of ``numeric``."""
from __future__ import annotations

from conformance.checks._compare import finish
from conformance.checks.registry import Check, register
from conformance.checks.scopes import seen_with_outputs


def run(case, comparison, case_record):
    from conformance.compare import checks

    finish(case, case_record, checks.check_repeat(comparison.cell(case), case.signature))


register(Check(name="repeat", side="compare", scope="signature", observes="cells", run=run, doc=__doc__,
               causes=("nondeterministic",), suite="compare", failure_status="nondeterministic",
               applies=seen_with_outputs))
