"""``variables[<model>-<runtime>-<device>-<api>-train]``: every api's train step finds the trainable variables
the first api's finds in the same runtime and device (as many, of the same shapes; names differ by api)."""
from __future__ import annotations

from conformance.checks._compare import finish
from conformance.checks.registry import Check, register


def run(case, comparison, case_record):
    from conformance.compare import checks
    from conformance.compare.observed import variables_reference_cell

    cell = comparison.cell(case)
    first = variables_reference_cell(comparison.observed, comparison.matrix, case.model, case.runtime, case.device)
    finish(case, case_record, checks.check_variables(cell, first))


def _not_the_first_api(comparison, model, trained, label):
    from conformance.compare.observed import variables_reference_cell

    first = variables_reference_cell(comparison.observed, comparison.matrix, trained.model, trained.runtime,
                                     trained.device)
    return first is not None and first is not trained and "train" in trained.entry["signatures"]


register(Check(name="variables", side="compare", scope="cell", observes="training", label="train", run=run,
               doc=__doc__, causes=("variables-differ",), applies=_not_the_first_api))
