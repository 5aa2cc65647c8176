"""What both plugin modes share: parametrizing ``case`` from generated cases, and recording each case's
start and outcome in the worker's observation file."""
from __future__ import annotations

import errno
import re
from typing import Any, Dict, Iterable, List, Optional

import pytest

from conformance.observations import CaseRecord, Recorder
from conformance.outcome import report_status


_OUTCOMES = (pytest.fail.Exception, pytest.skip.Exception, pytest.xfail.Exception, pytest.exit.Exception,
             KeyboardInterrupt)


# What a full disk, a quota or a read-only reports folder raise: the run's output cannot be written (exit 4)
CANNOT_WRITE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG)
CANNOT_WRITE_STATUS = 4
CANNOT_WRITE_KEY = "conformance_cannot_write"  # an xdist worker's workeroutput: the line to end the run with


def cannot_write(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in CANNOT_WRITE


_OS_ERROR = re.compile(r"(?:OSError|IOError|PermissionError): \[Errno (\d+)\] ([^\n:']+)")


def _cannot_write_text(excinfo: Any) -> Optional[OSError]:
    """The OSError of a full disk or a read-only folder behind a case's error, raised here or in the
    executor (which reports it as text), else None."""
    if excinfo.errisinstance(OSError) and cannot_write(excinfo.value):
        return excinfo.value
    for found in _OS_ERROR.finditer(str(excinfo.value)):
        code = int(found.group(1))
        if code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
            return OSError(code, found.group(2).strip())
    return None


class CasePlugin(object):
    """Base of the runtime and comparison plugins; subclasses set ``recorder`` at session start.

    Observations that cannot be written (a full disk, a read-only reports folder) end the run: the case that
    met it is skipped with the reason, no other case starts, and the run exits 4 with one line saying so
    (from an xdist worker, through its ``workeroutput`` to the controller)."""

    recorder = None  # type: Optional[Recorder]
    write_error = None  # type: Optional[str]
    _session = None

    def __init__(self):
        self.cases = {}  # type: Dict[str, Any]
        self.lost_workers = []  # type: List[str]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session):
        self._session = session

    def stop_writing(self, error: OSError, where: str) -> str:
        """Record why observations cannot be written, stop the run's other cases; returns the line."""
        if self.write_error is None:
            self.write_error = "cannot write observations under %s: %s" % (
                where, error.strerror or error)
        self.recorder = None
        if self._session is not None:
            self._session.shouldstop = self.write_error
            output = getattr(self._session.config, "workeroutput", None)
            if output is not None:
                output[CANNOT_WRITE_KEY] = self.write_error
        return self.write_error

    def _where(self) -> str:
        return getattr(self.recorder, "directory", None) or "reports/"

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        """The xdist controller learns why a worker stopped writing."""
        line = (getattr(node, "workeroutput", None) or {}).get(CANNOT_WRITE_KEY)
        if line and self.write_error is None:
            self.write_error = line
        if error is not None:  # killed, or crashed outside any case: its remaining cases never ran
            self.lost_workers.append(str(getattr(getattr(node, "gateway", None), "id", None) or "a worker"))

    def write_error_summary(self, terminalreporter) -> None:
        """The one line that says why the run's output could not be written (subclasses' terminal summary)."""
        if self.write_error:
            terminalreporter.write_line("error: %s" % self.write_error)

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
        if self.recorder is None and self.write_error:
            pytest.skip("not run: %s" % self.write_error)
        try:
            self._begin(case, nodeid)
        except OSError as error:
            if not cannot_write(error):
                raise
            pytest.skip("not run: %s" % self.stop_writing(error, self._where()))
        return GuardedRecord(self, case.id)

    def _begin(self, case: Any, nodeid: str) -> None:
        self.recorder.begin(case.id, {"check": case.check, "model": case.model, "runtime": case.runtime,
                                      "device": case.device, "api": case.api, "signature": case.signature,
                                      "expected": case.expectation.status, "expected_cause": case.expectation.cause,
                                      "expectation_source": case.expectation.source, "nodeid": nodeid})

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """A case that ends on anything but pytest's own outcomes (fail, skip, xfail) raised from the
        framework's code: a hub-conformance bug, status ``error``, never the model's failure."""
        outcome = yield
        case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
        if getattr(case, "id", None) is not None:  # matched by object, not by node id (escaped if non-ASCII)
            outcome.get_result().conformance_case = case.id
        if call.excinfo is not None and not call.excinfo.errisinstance(_OUTCOMES):
            full = _cannot_write_text(call.excinfo)
            if full is not None:  # the executor's outputs could not be written either: not run, the run stops
                line = self.stop_writing(full, self._where())
                report = outcome.get_result()
                report.outcome, report.longrepr = "skipped", (str(item.path), 0, "Skipped: not recorded: %s" % line)
                return
            outcome.get_result().conformance_harness_error = call.excinfo.exconly()[:2000]

    def pytest_runtest_logreport(self, report):
        if self.recorder is None:
            return
        case_id = getattr(report, "conformance_case", None)
        case = self.cases.get(case_id) if case_id else None
        final = report_status(report) if case is not None else None
        if final is None:
            return
        try:
            self._record_outcome(case, report, final)
        except OSError as error:
            if not cannot_write(error):
                raise
            self.stop_writing(error, self._where())

    def _record_outcome(self, case: Any, report: Any, final: Any) -> None:
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
            try:
                self.recorder.close()
            except OSError as error:
                if not cannot_write(error):
                    raise
                self.stop_writing(error, self._where())
        if self.write_error:
            session.exitstatus = CANNOT_WRITE_STATUS


class GuardedRecord(CaseRecord):
    """A case's record that, on a full disk or a read-only folder, ends the case as not run (a skip with the
    reason) and stops the run, instead of an ``error`` blamed on hub-conformance."""

    def __init__(self, plugin: CasePlugin, case_id: str):
        super(GuardedRecord, self).__init__(plugin.recorder, case_id)
        self.plugin = plugin

    def _guarded(self, call, *args: Any, **kwargs: Any) -> Any:
        if self.plugin.recorder is None and self.plugin.write_error:
            pytest.skip("not recorded: %s" % self.plugin.write_error)
        try:
            return call(*args, **kwargs)
        except OSError as error:
            if not cannot_write(error):
                raise
            pytest.skip("not recorded: %s" % self.plugin.stop_writing(error, self.plugin._where()))

    def __call__(self, **fields: Any) -> None:
        self._guarded(super(GuardedRecord, self).__call__, **fields)

    def save_outputs(self, name: str, arrays) -> str:
        return self._guarded(super(GuardedRecord, self).save_outputs, name, arrays)
