"""``cost[<model>-<runtime>-<device>-<api>-<signature>]``: the ops the all-outputs call runs against those of
the cheapest needed output alone (a deterministic measure; the seconds are recorded beside it), flagged
above matrix.yaml's ``overhead_threshold``."""
from __future__ import annotations


from conformance.causes import Cause
from conformance.checks.registry import Check, register
from conformance.checks.scopes import several_outputs
from conformance.checks.semantics import measured
from conformance.checks._case import settle, skip
from conformance.semantics import LAZY_APIS, assess


def run(case, matrix, runtime_session, device, case_record):
    model, record = measured(case, matrix, runtime_session, device, case_record)
    finding = assess(record, model.fetch.get(case.signature))
    if finding.overhead is None:
        skip("; ".join(finding.notes))
    threshold = matrix.threshold_of(model)
    case_record(overhead=round(finding.overhead, 3), threshold=threshold, ops=record["ops"], needed=finding.needed,
                time_ratio=None if finding.time_ratio is None else round(finding.time_ratio, 3))
    if runtime_session.runtime.mode == "graph" and case.api in LAZY_APIS:
        skip("%s in graph mode runs only the fetched outputs: overhead %.1fx recorded, not paid here"
                    % (case.api, finding.overhead))
    cause = None
    if finding.overhead > threshold:
        cause = Cause("overhead", "the all-outputs call of %s runs %.1fx the ops of the cheapest needed output "
                                  "alone (%d vs %d; threshold %.1fx)"
                      % (case.signature, finding.overhead, record["ops"]["*"],
                         min(record["ops"][o] for o in finding.needed if record["ops"].get(o)), threshold))
    settle(case.id, case.expectation, cause)


register(Check(name="cost", side="runtime", scope="signature", run=run, doc=__doc__, causes=("overhead",),
               case_file="test_semantics", signatures=several_outputs))
