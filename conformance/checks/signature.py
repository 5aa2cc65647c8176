"""``signature[<model>-<runtime>-<device>-<api>-<signature>]``: the cell describes the signature exactly as
the reference does: input/output names, dtypes, shapes (unknown dims kept) and kinds."""
from __future__ import annotations


from conformance.checks._compare import finish, reference
from conformance.checks._case import skip
from conformance.checks.registry import Check, register


def run(case, comparison, case_record):
    from conformance.compare import checks

    cell = comparison.cell(case)
    fingerprint = cell.signature(case.signature).get("inputs_fingerprint")
    found = reference(comparison, case, fingerprint)
    try:
        result = checks.check_signature(cell, case.signature, found)
    except checks.NoReference as reason:
        skip(str(reason))
    finish(case, case_record, result)


register(Check(name="signature", side="compare", scope="signature", observes="cells", run=run, doc=__doc__,
               causes=("signature-mismatch", "golden-missing", "golden-stale"), suite="compare"))
