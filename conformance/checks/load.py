"""``load[<model>-<runtime>-<device>-<api>]``: the model loads through the api and every declared signature
runs on the agreed inputs (loadability). One per model × device × api, and one per model (no api) on a
device the runtime lacks."""
from __future__ import annotations


from conformance import causes
from conformance.cases import refused
from conformance.checks.registry import Check, register
from conformance.checks._case import settle, skip
from conformance.runtime.not_applicable import NotApplicable


def run(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    try:
        cause = runtime_session.probe_load(model, case.api, device.name, case_record)
    except NotApplicable as reason:
        case_record(skipped_because=str(reason))
        skip("%s on %s in %s: %s" % (case.api, device.name, case.cell.runtime, reason))
    settle(case.id, case.expectation, cause, note=_note(case))


def _note(case):
    return "its other checks are not generated" if refused(case.expectation) else ""


register(Check(
    name="load", side="runtime", case_file="test_load", scope="cell", run=run, doc=__doc__,
    # the diagnosis table's causes (conformance/causes.py), and the probe's own
    causes=tuple(rule[0] for rule in causes._RULES) + ("untrusted-op", "sandbox-denied", "op-library-unavailable"),
    section="compat", made_on_load=False, absent_device_case=True, settle_note=_note))
