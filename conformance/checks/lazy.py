"""``lazy[<model>-<runtime>-<device>-<api>-<signature>]``: each output fetched alone in graph mode equals that
output of the same runtime's, device's and api's call of the whole signature: laziness is compared within one
runtime, never across TF versions (that is numeric's business)."""
from __future__ import annotations


from conformance.checks._compare import finish
from conformance.checks._case import skip
from conformance.checks.registry import Check, register


def run(case, comparison, case_record):
    from conformance.compare import checks

    model = comparison.matrix.model(case.model)
    whole = comparison.observed.cells.get((case.model, case.runtime, case.device, case.api))
    try:
        result = checks.check_lazy(comparison.cell(case), model, case.signature, whole)
    except checks.NoReference as reason:
        skip(str(reason))
    finish(case, case_record, result)


def _fetched_alone_in_graph_mode(comparison, model, semantics, signature):
    return bool(semantics.signature(signature).get("alone_file")) and semantics.run_info.get("mode") == "graph"


register(Check(name="lazy", side="compare", scope="signature", observes="semantics", run=run, doc=__doc__,
               causes=("lazy-eager-mismatch",), suite="compare", applies=_fetched_alone_in_graph_mode))
