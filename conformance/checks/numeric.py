"""``numeric[<model>-<runtime>-<device>-<api>-<signature>]``: every output is within tolerance of the
reference's (the reference cell, or a golden)."""
from __future__ import annotations

from conformance.checks._compare import finish, reference
from conformance.checks._case import skip
from conformance.checks.registry import Check, register
from conformance.checks.scopes import seen_with_outputs
from conformance.observations import safe_stem


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
    if result[0] is not None:  # the reference outputs a repro script holds the runtime's to (report/repro.py)
        import numpy as np

        arrays = {name: value for name, value in found.outputs.items() if isinstance(value, np.ndarray)}
        result[1]["reference_file"] = case_record.save_outputs("reference-%s" % safe_stem(case.id), arrays)
    finish(case, case_record, result)


register(Check(name="numeric", side="compare", scope="signature", observes="cells", run=run, doc=__doc__,
               causes=("numeric-drift", "golden-missing", "golden-stale"), suite="compare", section="heatmap",
               applies=seen_with_outputs))
