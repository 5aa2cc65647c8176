"""``compared[<model>-*]``: a model the runtimes recorded that gave nothing to compare (it loaded nowhere, or
ran no signature) fails, with why; so does a run with no observation of any matrix model
(``compared[run-*]``)."""
from __future__ import annotations

from conformance.checks.registry import Check, register
from conformance.checks._case import settle


def run(case, comparison, case_record):
    from conformance.causes import Cause

    settle(case.id, case.expectation, Cause("nothing-compared", comparison.why_nothing_compared(case)))


register(Check(name="compared", side="compare", scope="model", observes=None, run=run, doc=__doc__,
               causes=("nothing-compared",), suite="compare"))
