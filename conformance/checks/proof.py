"""``proof[<model>-<runtime>-<device>-<api>-<signature>]``: on a model with a ``counter``, using one output
moves the counter where every output is computed and not where only fetched outputs run: TensorFlow's own
behaviour, checked every night."""
from __future__ import annotations


from conformance.causes import Cause
from conformance.checks.registry import Check, register
from conformance.checks.scopes import declared_signatures
from conformance.checks._case import settle, settle_lost, skip
from conformance.semantics import proof_verdict


def run(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    result = runtime_session.probe_counter(model, case.api, device.name, case.signature)
    if "lost" in result:
        settle_lost(case, result, case_record)
    if "skip" in result:
        skip(result["skip"])
    case_record(proof=result)
    verdict = proof_verdict(runtime_session.runtime.mode, case.api, result["delta"], result["calls"])
    settle(case.id, case.expectation, Cause("semantics-changed", verdict) if verdict else None)


register(Check(name="proof", side="runtime", scope="signature", run=run, doc=__doc__, causes=("semantics-changed",),
               case_file="test_semantics", signatures=declared_signatures,
               where=lambda model, runtime: bool(model.counter)))
