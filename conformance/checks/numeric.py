"""``numeric[<model>-<runtime>-<device>-<api>-<signature>]``: every output is within tolerance of the
reference's (the reference cell, or a golden)."""
from __future__ import annotations

from conformance.checks._compare import finish, keep_reference, reference
from conformance.checks._case import skip
from conformance.checks.registry import Check, register
from conformance.checks.scopes import seen_with_outputs


def run(case, comparison, case_record):
    from conformance.compare import checks

    cell = comparison.cell(case)
    fingerprint = cell.signature(case.signature).get("inputs_fingerprint")
    found = reference(comparison, case, fingerprint)
    model = comparison.matrix.model(case.model)
    try:
        result = checks.check_numeric(cell, model, case.signature, found)
    except checks.NoReference as reason:
        skip(str(reason))
    keep_reference(case, case_record, found, result)
    finish(case, case_record, result)


register(Check(name="numeric", side="compare", scope="signature", observes="cells", run=run, doc=__doc__,
               causes=("numeric-drift", "golden-missing", "golden-stale"), suite="compare", section="heatmap",
               applies=seen_with_outputs))
