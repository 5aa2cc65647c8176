"""The eager-computes-all-outputs semantics, per multi-output signature, in every runtime and device.

- ``semantics``: the TF1 use (the outputs it fetched) still works: an output that fails when computed,
  while the needed outputs work alone, is a migration hazard (eager runtimes, and graph-mode hub.load /
  KerasLayer whose signatures are functions).
- ``cost``: the ops the all-outputs call runs against those of the cheapest needed output alone (a
  deterministic measure; the seconds are recorded beside it), flagged above matrix.yaml's threshold.
- ``proof``: on a model with a ``counter``, using one output moves the counter where every output is
  computed and not where only fetched outputs run: TensorFlow's own behaviour, checked every night.
"""
import pytest

from conformance.causes import Cause
from conformance.outcome import settle, settle_lost
from conformance.semantics import LAZY_APIS, NotAssessable, assess, hazard_verdict, proof_verdict


def _measured(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    record = runtime_session.probe_semantics(model, case.api, device.name, case.signature)
    if "lost" in record:
        settle_lost(case, record, case_record)
    if "skip" in record:
        pytest.skip(record["skip"])
    return model, record


def test_semantics(case, matrix, runtime_session, device, case_record):
    model, record = _measured(case, matrix, runtime_session, device, case_record)
    finding = assess(record, model.fetch.get(case.signature))
    case_record(semantics=record, hazards=finding.hazards, needed=finding.needed, overhead=finding.overhead,
                snippet=record.get("snippet"))
    try:
        verdict = hazard_verdict(runtime_session.runtime.mode, case.api, finding, case.signature)
    except NotAssessable as reason:
        pytest.skip(str(reason))
    cause = None
    if verdict:
        cause = Cause("migration-hazard", "%s (inputs %s); in TF2 compute only what is needed: a pruned function "
                                          "(obj.prune) or another signature" % (verdict, record["inputs_fingerprint"]))
    settle(case.id, case.expectation, cause)


def test_cost(case, matrix, runtime_session, device, case_record):
    model, record = _measured(case, matrix, runtime_session, device, case_record)
    finding = assess(record, model.fetch.get(case.signature))
    if finding.overhead is None:
        pytest.skip("; ".join(finding.notes))
    threshold = matrix.threshold_of(model)
    case_record(overhead=round(finding.overhead, 3), threshold=threshold, ops=record["ops"], needed=finding.needed,
                time_ratio=None if finding.time_ratio is None else round(finding.time_ratio, 3))
    if runtime_session.runtime.mode == "graph" and case.api in LAZY_APIS:
        pytest.skip("%s in graph mode runs only the fetched outputs: overhead %.1fx recorded, not paid here"
                    % (case.api, finding.overhead))
    cause = None
    if finding.overhead > threshold:
        cause = Cause("overhead", "the all-outputs call of %s runs %.1fx the ops of the cheapest needed output "
                                  "alone (%d vs %d; threshold %.1fx)"
                      % (case.signature, finding.overhead, record["ops"]["*"],
                         min(record["ops"][o] for o in finding.needed if record["ops"].get(o)), threshold))
    settle(case.id, case.expectation, cause)


def test_proof(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    result = runtime_session.probe_counter(model, case.api, device.name, case.signature)
    if "lost" in result:
        settle_lost(case, result, case_record)
    if "skip" in result:
        pytest.skip(result["skip"])
    case_record(proof=result)
    verdict = proof_verdict(runtime_session.runtime.mode, case.api, result["delta"], result["calls"])
    settle(case.id, case.expectation, Cause("semantics-changed", verdict) if verdict else None)
