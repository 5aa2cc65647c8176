"""Reuse of unchanged cells in a runtime (``--runtime ID``): a case whose key (conformance/reuse/key.py) a
finished run stored is not run; its recorded fields and files are copied into this run's observations,
marked ``reused_from: <run>``, and settled against the expectations of today. A case that ran is stored when
it ended on a verdict of its own (pass, a cause, a skip it gave): never a crash, a timeout, a hub-conformance
error or a case the last report calls flaky; a key seen with two verdicts is marked flaky in the store.

Off with ``--fresh``, ``CONFORMANCE_FRESH=1`` or ``reuse: false`` in matrix.yaml (the nightly's weekly run).
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Set

import pytest

from conformance.causes import Cause
from conformance.checks import registry
from conformance.outcome import settle, take_verdict
from conformance.reuse.key import CaseKeys
from conformance.reuse.store import ReuseStore

FRESH_ENV = "CONFORMANCE_FRESH"
# What a case's entry says about this run only (written again when it is reused), not what it observed.
RUN_FIELDS = frozenset(("status", "message", "duration", "started", "nodeid", "expected", "expected_cause",
                        "expectation_source", "executor_pid", "reused_from", "harness_traceback"))
STORED_STATUSES = ("pass", "xfail", "fail", "skip")


def fresh_requested(config: Any, matrix: Any) -> bool:
    return bool(config.getoption("fresh") or os.environ.get(FRESH_ENV, "") not in ("", "0")
                or not getattr(matrix, "reuse", True))


def flaky_in_last_report(reports: str) -> Set[str]:
    """Case ids that the last report (reports/latest/results.json) marks flaky: never reused."""
    try:
        with open(os.path.join(reports, "latest", "results.json")) as stream:
            results = json.load(stream).get("results") or []
    except (OSError, ValueError, AttributeError):
        return set()
    return {result.get("test") for result in results if isinstance(result, dict) and result.get("flaky")}


def _verdict_of(verdict: Dict[str, Any]) -> Any:
    return verdict.get("skip") if "skip" in verdict else (verdict.get("cause") or [None])[0]


class ReusePlugin(object):
    def __init__(self, runtime_plugin: Any, keys: CaseKeys, store: ReuseStore, flaky: Set[str]):
        self.runtime_plugin = runtime_plugin
        self.keys = keys
        self.store = store
        self.flaky = flaky
        self.reused = 0
        self.stored = 0
        self.from_runs = {}  # type: Dict[str, int]
        self._pending = {}  # type: Dict[str, Any]  # case id -> (key, verdict) of a case that ran

    def key_of(self, case: Any) -> Optional[str]:
        if case.id in self.flaky:
            return None
        key = self.keys.of(case, self.runtime_plugin.matrix.model(case.model))
        return None if key is None or self.store.is_flaky(key) else key

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem):
        case = getattr(pyfuncitem, "callspec", None) and pyfuncitem.callspec.params.get("case")
        recorder = self.runtime_plugin.recorder
        if case is None or recorder is None or "case_record" not in pyfuncitem.funcargs:
            return None
        take_verdict()  # nothing of an earlier case
        key = self.key_of(case)
        self._pending[case.id] = (key, None)
        stored = self.store.get(key) if key else None
        if stored is None or stored.status not in STORED_STATUSES:
            return None
        try:
            stored.copy_files(recorder.directory)
        except OSError:  # pruned by another run meanwhile: run it
            return None
        del self._pending[case.id]
        pyfuncitem.funcargs["case_record"](reused_from=stored.run_id, **stored.fields)
        self.reused += 1
        self.from_runs[stored.run_id] = self.from_runs.get(stored.run_id, 0) + 1
        verdict = stored.verdict
        if "skip" in verdict:
            pytest.skip(verdict["skip"])
        cause = verdict.get("cause")
        settle(case.id, case.expectation, Cause(cause[0], cause[1]) if cause else None,
               note=registry.get(case.check).settle_note(case))
        return True

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        case = getattr(getattr(item, "callspec", None), "params", {}).get("case")
        if call.when == "call" and case is not None and case.id in self._pending:
            key, _ = self._pending[case.id]
            harness = call.excinfo is not None and getattr(outcome.get_result(), "conformance_harness_error", None)
            self._pending[case.id] = (key, None if harness else take_verdict())

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report):
        if report.when != "call":
            return
        case_id = getattr(report, "conformance_case", None)
        key, verdict = self._pending.pop(case_id, (None, None)) if case_id else (None, None)
        recorder = self.runtime_plugin.recorder
        if key is None or verdict is None or recorder is None:
            return
        entry = recorder.entry(case_id)
        status = entry.get("status")
        if status not in STORED_STATUSES or "lost" in entry or entry.get("error", {}).get("cause") in (
                "crash", "timeout", "harness-error"):
            return
        earlier = self.store.get(key)
        if earlier is not None and _verdict_of(earlier.verdict) != _verdict_of(verdict):
            self.store.mark_flaky(key)  # the same inputs, two verdicts: never reused
            return
        fields = {name: value for name, value in entry.items() if name not in RUN_FIELDS}
        if earlier is None and self.store.put(key, recorder.document["run_id"], status, verdict, fields,
                                              recorder.directory):
            self.stored += 1

    def summary(self) -> str:
        return summary_line(self.from_runs, self.stored, self.store.root)

    def run_info(self) -> Dict[str, Any]:
        """What this process's observations say of reuse (run_info): read back by the xdist controller."""
        return {"reused_cases": self.reused, "reused_from": dict(self.from_runs), "stored_cases": self.stored,
                "reuse_store": self.store.root}


def summary_line(from_runs: Dict[str, int], stored: int, root: str) -> str:
    if not from_runs:
        return "reuse: no case reused, %d stored (%s)" % (stored, root)
    runs = ", ".join("%s (%d)" % item for item in sorted(from_runs.items()))
    return "reuse: %d cases reused from %s, %d stored; run them again with --fresh or %s=1" % (
        sum(from_runs.values()), runs, stored, FRESH_ENV)


def summary_of_workers(documents: List[Dict[str, Any]]) -> Optional[str]:
    """The reuse line of a runtime whose cases ran in xdist workers, from their observation files' run_info
    (None when none of them reused or stored anything: reuse was off)."""
    infos = [d.get("run_info") or {} for d in documents if "reuse_store" in (d.get("run_info") or {})]
    if not infos:
        return None
    from_runs = {}  # type: Dict[str, int]
    for info in infos:
        for run, count in (info.get("reused_from") or {}).items():
            from_runs[run] = from_runs.get(run, 0) + count
    return summary_line(from_runs, sum(info.get("stored_cases", 0) for info in infos), infos[0]["reuse_store"])
