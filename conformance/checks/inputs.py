"""``inputs[<model>-<signature>]``: every runtime fed the signature byte-identical inputs (their fingerprints
agree)."""
from __future__ import annotations

from conformance.checks._compare import finish
from conformance.checks.registry import Check, register


def run(case, comparison, case_record):
    from conformance.compare import checks

    model = comparison.matrix.model(case.model)
    finish(case, case_record, checks.check_inputs(comparison.observed, model, case.signature))


register(Check(name="inputs", side="compare", scope="signature", observes=None, run=run, doc=__doc__,
               causes=("input-mismatch",), suite="compare"))
