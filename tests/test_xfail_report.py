"""An expected failure settled by a case is reported with its one line, not a rendered traceback, and is
still an xfail with its reason (plain Python: runs on Python 3.7 too)."""
import pytest

pytest_plugins = ["pytester"]

CASE = '''
from conformance.causes import Cause
from conformance.expectations import Expectation
from conformance.outcome import settle


def test_settled():
    expected = Expectation(status="fail", reason="hub.Module is graph-only", source="matrix.yaml:3",
                           cause="graph-only-api")
    settle("load[m-r-cpu-hub.Module]", expected, Cause("graph-only-api", "the runtime executes eagerly"))


def test_fails():
    assert 1 == 2
'''


@pytest.mark.parametrize("plugin", [True, False])
def test_an_expected_failure_is_reported_by_its_line(pytester, plugin):
    pytester.makepyfile(test_case=CASE)
    args = ["-p", "conformance.pytest.xfail_report"] if plugin else []
    recorded = pytester.inline_run("-p", "no:cacheprovider", *args)
    recorded.assertoutcome(passed=0, skipped=1, failed=1)
    calls = {r.nodeid.split("::")[-1]: r for r in recorded.getreports("pytest_runtest_logreport") if r.when == "call"}
    settled = calls["test_settled"]
    assert settled.skipped and settled.wasxfail.endswith(
        "hub.Module is graph-only (graph-only-api: the runtime executes eagerly) [matrix.yaml:3]")
    if plugin:
        assert settled.longrepr.startswith("_pytest.outcomes.XFailed: hub.Module is graph-only"), settled.longrepr
    else:
        assert not isinstance(settled.longrepr, str), "pytest's own report renders the traceback"
    assert not isinstance(calls["test_fails"].longrepr, str), "a real failure keeps its traceback"
