"""``semantics[<model>-<runtime>-<device>-<api>-<signature>]``: the TF1 use (the outputs it fetched) still
works: an output that fails when computed, while the needed outputs work alone, is a migration hazard (eager
runtimes, and graph-mode hub.load / KerasLayer whose signatures are functions)."""
from __future__ import annotations


from conformance.causes import Cause
from conformance.checks.registry import Check, register
from conformance.checks.scopes import several_outputs
from conformance.checks._case import settle, settle_lost, skip
from conformance.semantics import NotAssessable, assess, hazard_verdict


def measured(case, matrix, runtime_session, device, case_record):
    """The all-outputs and each-output-alone record of the case's signature (shared with ``cost``)."""
    model = matrix.model(case.cell.model)
    record = runtime_session.probe_semantics(model, case.api, device.name, case.signature)
    if "lost" in record:
        settle_lost(case, record, case_record)
    if "skip" in record:
        skip(record["skip"])
    return model, record


def run(case, matrix, runtime_session, device, case_record):
    model, record = measured(case, matrix, runtime_session, device, case_record)
    finding = assess(record, model.fetch.get(case.signature))
    case_record(semantics=record, hazards=finding.hazards, needed=finding.needed, overhead=finding.overhead,
                snippet=record.get("snippet"))
    try:
        verdict = hazard_verdict(runtime_session.runtime.mode, case.api, finding, case.signature)
    except NotAssessable as reason:
        skip(str(reason))
    cause = None
    if verdict:
        cause = Cause("migration-hazard", "%s (inputs %s); in TF2 compute only what is needed: a pruned function "
                                          "(obj.prune) or another signature" % (verdict, record["inputs_fingerprint"]))
    settle(case.id, case.expectation, cause)


register(Check(name="semantics", side="runtime", case_file="test_semantics", scope="signature", run=run, doc=__doc__,
               causes=("migration-hazard",), signatures=several_outputs))
