"""What both plugin modes share: parametrizing ``case`` from generated cases, and recording each case's
start and outcome in the worker's observation file."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import pytest

from conformance.observations import CaseRecord, Recorder
from conformance.outcome import param_id, report_status


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

    def pytest_runtest_logreport(self, report):
        if self.recorder is None:
            return
        check = report.nodeid.split("::")[-1].split("[")[0][len("test_"):]
        case = self.cases.get("%s[%s]" % (check, param_id(report.nodeid)))
        final = report_status(report) if case is not None else None
        if final is not None:
            self.recorder.update(case.id, status=final[0], message=final[1], duration=round(report.duration, 6),
                                 expected=case.expectation.status, nodeid=report.nodeid)

    def pytest_sessionfinish(self, session):
        if self.recorder is not None:
            self.recorder.close()
