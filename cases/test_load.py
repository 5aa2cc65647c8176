"""Loadability: every model loads through every TF Hub api, in every runtime and device, and each declared
signature runs on the agreed inputs. Ids: ``test_load[<model>-<runtime>-<device>-<api>]``."""
import pytest

from conformance.cases import refused
from conformance.outcome import settle
from conformance.runtime.not_applicable import NotApplicable


def test_load(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    try:
        cause = runtime_session.probe_load(model, case.api, device.name, case_record)
    except NotApplicable as reason:
        case_record(skipped_because=str(reason))
        pytest.skip("%s on %s in %s: %s" % (case.api, device.name, case.cell.runtime, reason))
    settle(case.id, case.expectation, cause,
           note="its other checks are not generated" if refused(case.expectation) else "")
