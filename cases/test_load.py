"""Loadability: every model loads through every TF Hub api, in every runtime and device, and each declared
signature runs on the agreed inputs. Ids: ``test_load[<model>-<runtime>-<device>-<api>]``."""
import pytest

from conformance.outcome import settle
from conformance.runtime.apis import NotApplicable


def test_load(load_case, matrix, runtime_session, case_record):
    device = runtime_session.devices[load_case.cell.device]
    if not device.available:
        case_record(skipped_because=device.probed)
        pytest.skip("runtime %s has no %s device (probed: %s)" % (load_case.cell.runtime, device.name,
                                                                   device.probed))
    model = matrix.model(load_case.cell.model)
    try:
        cause = runtime_session.probe_load(model, load_case.api, device.name, case_record)
    except NotApplicable as reason:
        case_record(skipped_because=str(reason))
        pytest.skip("%s on %s in %s: %s" % (load_case.api, device.name, load_case.cell.runtime, reason))
    settle(load_case.id, load_case.expectation, cause)
