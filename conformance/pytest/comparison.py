"""Comparison mode of the plugin (``--compare RUN``): cross-runtime checks on recorded observations.

Needs numpy, not TensorFlow. Cases (one per check and signature, stable ids):
``inputs[<model>-<signature>]``, and for every cell that loaded,
``signature|numeric|repeat[<model>-<runtime>-<device>-<api>-<signature>]``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from conformance.compare.goldens import GOLDEN_DIR, Goldens
from conformance.checks import registry
from conformance.compare.observed import COMPARE_RUNTIME, Observed, ObservationError, run_directories
from conformance.expectations import PASS, Expectation, expected_for
from conformance.matrix import DEFAULT_MATRIX, Matrix, load_matrix
from conformance.pytest.case import CasePlugin
from conformance.observations import Recorder
from conformance.outcome import counts_line
from conformance.run_ids import latest_run
from conformance.yaml_source import SourceError


@dataclass(frozen=True)
class CompareCase:
    check: str
    model: str
    signature: str
    runtime: Optional[str]
    device: Optional[str]
    api: Optional[str]
    expectation: Expectation

    @property
    def param_id(self) -> str:
        if self.runtime is None:
            return "%s-%s" % (self.model, self.signature)
        return "%s-%s-%s-%s-%s" % (self.model, self.runtime, self.device, self.api, self.signature)

    @property
    def id(self) -> str:
        return "%s[%s]" % (self.check, self.param_id)


class ComparisonPlugin(CasePlugin):
    def __init__(self, config, runs: List[str]):
        super(ComparisonPlugin, self).__init__()
        root = str(config.rootpath)
        try:
            self.matrix = load_matrix(config.getoption("matrix") or os.path.join(root, DEFAULT_MATRIX))  # type: Matrix
        except SourceError as error:  # bad input: exit 2, as from `check`
            pytest.exit(str(error), returncode=2)
        self.reports = config.getoption("reports") or os.path.join(root, "reports")
        runs = [self._auto() if run == "auto" else run for run in runs]
        try:
            self.directories = run_directories(self.reports, runs)
            self.observed = Observed(self.directories)
        except ObservationError as error:
            raise pytest.UsageError(str(error))
        golden_dir = config.getoption("goldens") or os.path.join(root, GOLDEN_DIR)
        self.goldens = Goldens(golden_dir, forced=config.getoption("against_goldens")) \
            if os.path.isfile(os.path.join(golden_dir, "index.json")) or config.getoption("against_goldens") else None
        self.worker = config.workerinput["workerid"] if hasattr(config, "workerinput") else "main"
        self._generated = None  # type: Optional[List[CompareCase]]

    def _auto(self) -> str:
        wanted = os.environ.get("CONFORMANCE_RUN_ID")
        if wanted and os.path.isdir(os.path.join(self.reports, "runs", wanted)):
            return wanted
        newest = latest_run(self.reports)
        if newest is None:
            raise pytest.UsageError("--compare auto: no runs under %s/runs (run `tox -p` first)" % self.reports)
        return newest

    def pytest_sessionstart(self, session):
        first = self.directories[0]
        try:
            self._start_recorder(first)
        except OSError as error:
            pytest.exit("cannot write the comparison's observations under %s: %s" % (first, error.strerror or error),
                        returncode=4)

    def _start_recorder(self, first: str) -> None:
        self.recorder = Recorder(os.path.dirname(os.path.dirname(first)), os.path.basename(first), COMPARE_RUNTIME,
                                 self.worker, {"compared": self.directories,
                                               "goldens": self.goldens.directory if self.goldens else None})

    def _facts(self, check: str, model: Any, signature: str, cell: Any = None) -> Dict[str, Any]:
        facts = {"check": check, "model": model.id, "signature": signature, "format": model.format}
        if cell is not None:
            info = cell.run_info
            declared = [r for r in self.matrix.runtimes if r.id == cell.runtime]
            facts.update(keras=declared[0].keras if declared else None)
            facts.update(runtime=cell.runtime, device=cell.device, api=cell.api, mode=info.get("mode"),
                         tensorflow=info.get("tensorflow"), tensorflow_hub=info.get("tensorflow_hub"))
            facts["case"] = "%s[%s-%s-%s-%s-%s]" % (check, model.id, cell.runtime, cell.device, cell.api, signature)
        else:
            facts["case"] = "%s[%s-%s]" % (check, model.id, signature)
        return facts

    def generate(self) -> List[CompareCase]:
        """Every compare case, from the registered compare checks' scopes and predicates (conformance/checks/):
        per model, each check's cases; a model the runtimes recorded that got none gets the ``model``-scope
        checks (``compared``), and so does a run with no case at all (``compared[run-*]``)."""
        cases = []
        checks = registry.all_checks()
        compare = [c for c in checks if c.side == "compare" and c.scope != "model"]
        fallback = [c for c in checks if c.side == "compare" and c.scope == "model"]
        for model in self.matrix.models:
            cells = [c for c in self.observed.of_model(model.id) if c.entry.get("loaded")]
            signatures = self.signatures_of(model, cells)
            before = len(cases)
            for check in compare:
                for signature, seen in self._scope(check, model, cells, signatures):
                    key = (None, None, None) if seen is None else (seen.runtime, seen.device, seen.api)
                    cases.append(CompareCase(check.name, model.id, signature, key[0], key[1], key[2],
                                             expected_for(self._facts(check.name, model, signature, seen),
                                                          self.matrix.expectations)))
            if len(cases) == before and self.observed.of_model(model.id):
                for check in fallback:
                    cases.append(CompareCase(check.name, model.id, check.label, None, None, None, expected_for(
                        self._facts(check.name, model, check.label), self.matrix.expectations)))
        if not cases:
            cases.extend(CompareCase(check.name, "run", check.label, None, None, None, PASS) for check in fallback)
        return cases

    def _observations(self, check: Any, model: Any, cells: List[Any]) -> List[Any]:
        """What a compare check reads of ``model``, in a stable order (``check.observes``)."""
        if check.observes == "cells":
            return cells
        if check.observes == "semantics":
            return [seen for key, seen in sorted(self.observed.semantics.items()) if key[0] == model.id]
        if check.observes == "training":
            return [seen for key, seen in sorted(self.observed.training.items()) if key[0] == model.id]
        return []

    def _scope(self, check: Any, model: Any, cells: List[Any], signatures: List[str]) -> Iterator[Tuple[str, Any]]:
        """``(signature, observation)`` of each case of ``check`` for ``model`` (observation None: the model's
        cells as a whole), where the check's predicate holds."""
        observations = self._observations(check, model, cells)
        if check.scope == "cell":
            for seen in observations:
                if check.applies(self, model, seen, check.label):
                    yield check.label, seen
        elif check.observes is None:
            for signature in signatures:
                if check.applies(self, model, None, signature):
                    yield signature, None
        elif check.observes == "training":  # per step recorded in each train cell
            for seen in observations:
                for label in sorted(seen.entry["signatures"]):
                    if check.applies(self, model, seen, label):
                        yield label, seen
        elif check.observes == "semantics":  # one record per signature
            for signature in signatures:
                for seen in observations:
                    if signature in seen.entry["signatures"] and check.applies(self, model, seen, signature):
                        yield signature, seen
        else:
            for signature in signatures:
                for seen in observations:
                    if check.applies(self, model, seen, signature):
                        yield signature, seen

    def signatures_of(self, model: Any, cells: List[Any]) -> List[str]:
        """The signatures to compare: what the runtimes saw (every signature of every cell that loaded),
        narrowed by matrix.yaml's ``signatures:`` when it lists them."""
        if model.signatures:
            return list(model.signatures)
        seen = set()
        for cell in cells:
            seen.update((cell.entry.get("signatures") or {}).keys())
            seen.update(cell.entry.get("signatures_seen") or [])
        return sorted(seen)

    def why_nothing_compared(self, case: CompareCase) -> str:
        """What the runtimes recorded for a model (or a run) that gave no comparison at all."""
        if case.model == "run":
            return ("nothing was compared: the run %s has no observations of any matrix model"
                    % ", ".join(self.directories))
        cells = self.observed.of_model(case.model)
        loaded = [c for c in cells if c.entry.get("loaded")]
        if not loaded:
            return ("nothing was compared for %s: it loaded in no cell of this run (%d cells recorded)"
                    % (case.model, len(cells)))
        return "nothing was compared for %s: %d cells loaded but recorded no signature" % (case.model, len(loaded))

    def pytest_generate_tests(self, metafunc):
        if "case" not in metafunc.fixturenames:
            return
        check = registry.check_of(metafunc.function).name
        if self._generated is None:
            self._generated = self.generate()
        self.parametrize(metafunc, [case for case in self._generated if case.check == check])

    def cell(self, case: CompareCase):
        """The observation a case reads (its check's ``observes``)."""
        observes = registry.get(case.check).observes
        if observes == "training":
            return self.observed.training[(case.model, case.runtime, case.device, case.api)]
        if observes == "semantics":
            return self.observed.semantics[(case.model, case.runtime, case.device, case.api, case.signature)]
        return self.observed.cells[(case.model, case.runtime, case.device, case.api)]

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", "conformance: comparison of %s" % ", ".join(self.directories))
        terminalreporter.write_line("cases: %s" % counts_line(terminalreporter.stats))
        if self.goldens is not None:
            terminalreporter.write_line("goldens: %s%s" % (self.goldens.directory,
                                                           " (forced)" if self.goldens.forced else " (fallback)"))
        self.write_error_summary(terminalreporter)
