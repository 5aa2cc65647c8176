"""What both plugin modes share: parametrizing ``case`` from generated cases, and recording each case's
start and outcome in the worker's observation file."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import pytest

from conformance.observations import CaseRecord, Recorder
from conformance.outcome import report_status


_OUTCOMES = (pytest.fail.Exception, pytest.skip.Exception, pytest.xfail.Exception, pytest.exit.Exception,
             KeyboardInterrupt)


class CasePlugin(object):
    """Base of the runtime and comparison plugins; subclasses set ``recorder`` at session start."""

    recorder = None  # type: Optional[Recorder]

    def __init__(self):
        self.cases = {}  # type: Dict[str, Any]

    def parametrize(self, metafunc, cases: Iterable[Any]) -> None:
        """``case`` for every generated case, grouped by model for xdist; expected skips marked."""
        params = []
        for case in cases:
            self.cases[case.id] = case
            marks = [pytest.mark.xdist_group(case.model)]
            if case.expectation.status == "skip":
                marks.append(pytest.mark.skip(reason="%s [%s]" % (case.expectation.reason, case.expectation.source)))
            params.append(pytest.param(case, id=case.param_id, marks=marks))
        metafunc.parametrize("case", params)

    def begin(self, case: Any, nodeid: str) -> CaseRecord:
        self.recorder.begin(case.id, {"check": case.check, "model": case.model, "runtime": case.runtime,
                                      "device": case.device, "api": case.api, "signature": case.signature,
                                      "expected": case.expectation.status, "expected_cause": case.expectation.cause,
                                      "expectation_source": case.expectation.source, "nodeid": nodeid})
        return CaseRecord(self.recorder, case.id)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """A case that ends on anything but pytest's own outcomes (fail, skip, xfail) raised from the
        framework's code: a hub-conformance bug, status ``error``, never the model's failure."""
        outcome = yield
        case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
        if getattr(case, "id", None) is not None:  # matched by object, not by node id (escaped if non-ASCII)
            outcome.get_result().conformance_case = case.id
        if call.excinfo is not None and not call.excinfo.errisinstance(_OUTCOMES):
            outcome.get_result().conformance_harness_error = call.excinfo.exconly()[:2000]

    def pytest_runtest_logreport(self, report):
        if self.recorder is None:
            return
        case_id = getattr(report, "conformance_case", None)
        case = self.cases.get(case_id) if case_id else None
        final = report_status(report) if case is not None else None
        if final is None:
            return
        status, message = final
        harness_error = getattr(report, "conformance_harness_error", None)
        if harness_error and status == "fail":
            status = "error"
            message = "hub-conformance bug (not the model's failure): %s" % harness_error
            self.recorder.update(case.id, harness_traceback=str(report.longrepr)[-20000:])
        elif status == "fail":
            status = self.recorder.entry(case.id).get("lost") or status
        self.recorder.update(case.id, status=status, message=message, duration=round(report.duration, 6),
                             expected=case.expectation.status, nodeid=report.nodeid)

    def pytest_sessionfinish(self, session):
        if self.recorder is not None:
            self.recorder.close()
