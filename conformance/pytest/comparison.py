"""Comparison mode of the plugin (``--compare RUN``): cross-runtime checks on recorded observations.

Needs numpy, not TensorFlow. Cases (one per check and signature, stable ids):
``inputs[<model>-<signature>]``, and for every cell that loaded,
``signature|numeric|repeat[<model>-<runtime>-<device>-<api>-<signature>]``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import pytest

from conformance.compare.goldens import GOLDEN_DIR, Goldens
from conformance.compare.observed import (COMPARE_RUNTIME, Observed, ObservationError, run_directories,
                                          variables_reference_cell)
from conformance.expectations import PASS, Expectation, expected_for
from conformance.matrix import DEFAULT_MATRIX, Matrix, load_matrix
from conformance.pytest.case import CasePlugin
from conformance.observations import Recorder
from conformance.outcome import counts_line
from conformance.run_ids import latest_run
from conformance.yaml_source import SourceError

CHECKS = ("inputs", "signature", "numeric", "repeat", "lazy", "gradient", "step", "variables", "compared")


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
        except SourceError as error:
            raise pytest.UsageError(str(error))
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
        cases = []
        expectations = self.matrix.expectations
        for model in self.matrix.models:
            cells = [c for c in self.observed.of_model(model.id) if c.entry.get("loaded")]
            before = len(cases)
            for signature in self.signatures_of(model, cells):
                cases.append(CompareCase("inputs", model.id, signature, None, None, None,
                                         expected_for(self._facts("inputs", model, signature), expectations)))
                for key, semantics in sorted(self.observed.semantics.items()):
                    if key[0] == model.id and key[4] == signature and semantics.signature(signature).get(
                            "alone_file") and semantics.run_info.get("mode") == "graph":
                        cases.append(CompareCase("lazy", model.id, signature, key[1], key[2], key[3],
                                                 expected_for(self._facts("lazy", model, signature, semantics),
                                                              expectations)))
                for cell in cells:
                    seen = cell.signature(signature)
                    checks = ["signature"] + (["numeric", "repeat"] if seen.get("outputs_file") else [])
                    for check in checks:
                        cases.append(CompareCase(check, model.id, signature, cell.runtime, cell.device, cell.api,
                                                 expected_for(self._facts(check, model, signature, cell),
                                                              expectations)))
            for key, trained in sorted(self.observed.training.items()):
                if key[0] != model.id:
                    continue
                first = variables_reference_cell(self.observed, self.matrix, *key[:3])
                if first is not None and first is not trained and "train" in trained.entry["signatures"]:
                    cases.append(CompareCase("variables", model.id, "train", key[1], key[2], key[3],
                                             expected_for(self._facts("variables", model, "train", trained),
                                                          expectations)))
                for label, seen in sorted(trained.entry["signatures"].items()):
                    for check in (["gradient"] if seen.get("gradient_file") else []) + ["step"]:
                        cases.append(CompareCase(check, model.id, label, key[1], key[2], key[3],
                                                 expected_for(self._facts(check, model, label, trained),
                                                              expectations)))
            if len(cases) == before and self.observed.of_model(model.id):
                cases.append(CompareCase("compared", model.id, "*", None, None, None,
                                         expected_for(self._facts("compared", model, "*"), expectations)))
        if not cases:
            cases.append(CompareCase("compared", "run", "*", None, None, None, PASS))
        return cases

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
        check = metafunc.function.__name__[len("test_"):]
        self.parametrize(metafunc, [case for case in self.generate() if case.check == check])

    def cell(self, case: CompareCase):
        if case.check in ("gradient", "step", "variables"):
            return self.observed.training[(case.model, case.runtime, case.device, case.api)]
        if case.check == "lazy":
            return self.observed.semantics[(case.model, case.runtime, case.device, case.api, case.signature)]
        return self.observed.cells[(case.model, case.runtime, case.device, case.api)]

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", "conformance: comparison of %s" % ", ".join(self.directories))
        terminalreporter.write_line("cases: %s" % counts_line(terminalreporter.stats))
        if self.goldens is not None:
            terminalreporter.write_line("goldens: %s%s" % (self.goldens.directory,
                                                           " (forced)" if self.goldens.forced else " (fallback)"))
