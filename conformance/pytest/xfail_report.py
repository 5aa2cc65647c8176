"""Reports of expected failures, without pytest's rendering of a traceback nobody reads.

A case that settles as an expected failure (``pytest.xfail`` from :func:`conformance.outcome.settle`) would
have pytest render the raise's full traceback, reading and parsing the source of every frame (8 ms a case on
Python 3.7: most of what pytest costs per case), only for its skipping plugin to set it aside as an xfail.
Here the report's text is the exception's one line; the skipping plugin still turns it into an xfail, from
``call.excinfo``, as it does for any other.
"""
from __future__ import annotations

import copy

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    if call.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(pytest.xfail.Exception):
        reasoned = copy.copy(call)
        reasoned.excinfo = call.excinfo.exconly()  # pytest reports a failure that is not an ExceptionInfo as it is
        return pytest.TestReport.from_item_and_call(item, reasoned)
    return None
