"""Settling a case against its expectation: pass, expected failure (xfail), or an unexpected result."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from conformance.causes import Cause
from conformance.expectations import Expectation


def _source(expectation: Expectation) -> str:
    link = " %s" % expectation.link if expectation.link else ""
    return "[%s%s]" % (expectation.source, link)


# What the case running in this process was settled with, for reuse (conformance/pytest/reuse.py): its cause
# and note, or the reason it was skipped. Cleared when a case begins and read when it ends.
_VERDICT = {}  # type: Dict[str, Any]


def note_verdict(**verdict: Any) -> None:
    _VERDICT.clear()
    _VERDICT.update(verdict)


def take_verdict() -> Optional[Dict[str, Any]]:
    """The verdict noted since the last call, or None."""
    verdict = dict(_VERDICT) or None
    _VERDICT.clear()
    return verdict


def status_of(cause: Optional[Cause]) -> str:
    return "pass" if cause is None else "fail"


def settle(case_id: str, expectation: Expectation, cause: Optional[Cause], note: str = "") -> str:
    """End the test the way ``cause`` (None for success) and ``expectation`` say; returns the verdict.

    An expected failure whose diagnosed cause differs from the expected one is unexpected: a model that
    was expected to fail for lack of hub.Module but now fails on a corrupt file is news. ``note`` ends the
    message of an expected failure.
    """
    note_verdict(cause=None if cause is None else [cause.id, cause.diagnosis], note=note)
    status = status_of(cause)
    if expectation.allows(status):
        if status == "fail" and cause is not None and not expectation.allows_cause(cause.id):
            pytest.fail("%s: expected fail (%s) but the cause is %s: %s %s"
                        % (case_id, expectation.cause, cause.id, cause.diagnosis, _source(expectation)),
                        pytrace=False)
        if status == "fail" and cause is not None:
            pytest.xfail("%s (%s: %s)%s %s" % (expectation.reason, cause.id, cause.diagnosis,
                                               "; " + note if note else "", _source(expectation)))
        return "expected"
    if cause is None:
        pytest.fail("%s: unexpected pass: expected %s because %s %s"
                    % (case_id, expectation.status, expectation.reason, _source(expectation)), pytrace=False)
    pytest.fail("%s: %s: %s" % (case_id, cause.id, cause.diagnosis), pytrace=False)
    return "unexpected"  # not reached: pytest.fail raises


def settle_lost(case: Any, finding: Dict[str, Any], record: Any) -> None:
    """End a case whose executor crashed or hit its limit (``finding`` has ``lost`` fields and ``cause``):
    status ``crash`` / ``timeout``, or xfail when the expectation foresaw that cause."""
    record(**finding["lost"])
    settle(case.id, case.expectation, finding["cause"])


def param_id(nodeid: str) -> str:
    """The part inside the brackets (xdist's loadgroup appends ``@<group>`` after them)."""
    return nodeid.rsplit("]", 1)[0].split("[", 1)[-1]


def report_status(report: Any) -> Optional[Tuple[str, str]]:
    """``(status, message)`` of a finished case from its pytest report, or None for a non-final phase."""
    if not (report.when == "call" or (report.when == "setup" and not report.passed)):
        return None
    if hasattr(report, "wasxfail"):
        return "xfail", report.wasxfail
    if report.skipped:
        return "skip", report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        return "fail", crash.message if crash is not None else str(report.longrepr).splitlines()[-1]
    return "pass", ""


def counts_line(stats: Dict[str, List[Any]]) -> str:
    return ", ".join("%d %s" % (len(stats.get(key, [])), label) for key, label in (
        ("passed", "passed"), ("xfailed", "xfailed (expected)"), ("failed", "failed"), ("skipped", "skipped"),
        ("xpassed", "xpassed"), ("error", "errors")))
