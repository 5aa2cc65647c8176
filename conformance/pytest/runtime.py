"""Runtime mode of the plugin (``--runtime ID``): one tox env per runtime runs the runtime cases
(cases/test_load.py, cases/test_semantics.py, cases/test_train.py and cases/test_cluster.py).

Every process that runs cases (each xdist worker, or the only process) starts an executor process where
TensorFlow comes up in the runtime's mode and is checked against matrix.yaml (runtime/supervisor.py): a
model that crashes or hangs it costs that case, not the run. No pytest process imports TensorFlow; the
controller serves the zoo on 127.0.0.1 for ``{zoo_url}`` handles.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Dict, List, Optional

import pytest

from conformance.checks import registry
from conformance.pytest.case import CasePlugin, cannot_write
from conformance.cases import in_shard, parse_shard, runtime_cases
from conformance.matrix import DEFAULT_MATRIX, Matrix, Runtime, load_matrix
from conformance.observations import Recorder, run_dir
from conformance.outcome import counts_line
from conformance.report.completeness import missing_results, write_expected
from conformance.run_ids import new_run_id
from conformance.saved_model_header import detect
from conformance.pytest.reuse import ReusePlugin, flaky_in_last_report, fresh_requested, summary_of_workers
from conformance.reuse.key import CaseKeys
from conformance.reuse.store import ReuseStore
from conformance.runtime.deferred_session import DeferredSession, facts_of
from conformance.runtime.sandbox import SandboxUnavailable, choose as choose_sandbox, summary_line as sandbox_summary_line
from conformance.runtime.supervisor import HarnessError, SupervisedSession
from conformance.serve import LoopbackServer
from conformance.versions import installed_mismatches, installed_version
from conformance.yaml_source import SourceError
from conformance.zoo.catalog import default_zoo_dir

RUN_ID_ENV = "CONFORMANCE_RUN_ID"
INCOMPLETE = 3  # README's exit codes: an incomplete run (a killed worker's cases never ran)
ZOO_URL_ENV = "CONFORMANCE_ZOO_URL"


def with_detected_facts(matrix: Matrix, places: Dict[str, str], resolve=None) -> Matrix:
    """What a model's files say where its entry is silent, read without TensorFlow: its format (so that
    expectations about formats apply to a handle alone), the graph variant it is loaded with (its tags), its
    signatures with several outputs (so that it gets semantics and cost cases, which are generated before any
    runtime has seen the model) and those with one output in every graph variant (a declared one gets no
    semantics or cost cases: nothing is computed unasked). ``resolve(model)`` gives the local directory of a
    handle that is not a local path (a URL, resolved by the runtime's executor), or None."""
    models = []
    for model in matrix.models:
        header = detect(model.handle, places)
        if header is None and resolve is not None and (model.format is None or model.tags is None):
            directory = resolve(model)
            header = detect(directory, {}) if directory else None
        models.append(model if header is None else _facts_of(model, header))
    return dataclasses.replace(matrix, models=models)


def _facts_of(model, header):
    variant = header.variant(None if model.tags is None else list(model.tags))
    several = tuple(sorted(name for name, count in header.outputs[variant].items() if count >= 2))
    most = {}  # type: Dict[str, int]
    for outputs in header.outputs:
        for name, count in outputs.items():
            most[name] = max(count, most.get(name, 0))
    model = dataclasses.replace(model, format=model.format or header.format, detected_signatures=several,
                                single_output_signatures=tuple(sorted(n for n, c in most.items() if c == 1)))
    if model.tags is None:
        model = dataclasses.replace(model, tags=tuple(header.default_tags()), tags_from_files=True)
    return model


def bad_input(line: str) -> None:
    """End the run with exit status 2 and one line (pytest's ``Exit: <line>``): a matrix or expectations file
    that `check` refuses."""
    raise pytest.exit(line, returncode=2)


def _case_of(item) -> Any:
    """The generated case an item runs, or None for a test that is not one."""
    return getattr(getattr(item, "callspec", None), "params", {}).get("case")


def _model_of(item) -> Optional[str]:
    return getattr(_case_of(item), "model", None)


class RuntimePlugin(CasePlugin):
    def __init__(self, config, runtime_id: str):
        super(RuntimePlugin, self).__init__()
        self.config = config
        root = str(config.rootpath) if hasattr(config, "rootpath") else str(config.rootdir)
        try:
            self.matrix = load_matrix(config.getoption("matrix") or os.path.join(root, DEFAULT_MATRIX))  # type: Matrix
            self.runtime = self.matrix.runtime(runtime_id)  # type: Runtime
        except SourceError as error:  # bad input: exit 2, as from `check` (README's exit codes)
            bad_input(str(error))
        if not hasattr(config, "workerinput"):  # the first process: a wrong environment ends the run here,
            wrong = installed_mismatches(self.runtime)  # in one line (exit 4), before TensorFlow is imported
            if wrong:
                raise pytest.UsageError("runtime %s is not what %s declares: %s"
                                        % (self.runtime.id, self.matrix.path, "; ".join(wrong)))
        self.reports = config.getoption("reports") or os.path.join(root, "reports")
        self.zoo_dir = os.path.abspath(config.getoption("zoo") or default_zoo_dir(root))
        self.matrix = with_detected_facts(self.matrix, {"zoo": self.zoo_dir})
        if not hasattr(config, "workerinput"):  # expectations that could hide the run: refused as `check` does
            self._audit_expectations()
        self.worker = config.workerinput["workerid"] if hasattr(config, "workerinput") else "main"
        self.run_id = config.getoption("run_id") or os.environ.get(RUN_ID_ENV) or new_run_id()
        os.environ[RUN_ID_ENV] = self.run_id  # xdist workers inherit it
        try:
            self.shard = parse_shard(config.getoption("shard")) if config.getoption("shard") else None
        except ValueError as error:
            raise pytest.UsageError(str(error))
        self.models = None  # type: Optional[List[str]]
        if config.getoption("models"):
            self.models = [name.strip() for name in config.getoption("models").split(",") if name.strip()]
            unknown = [name for name in self.models if name not in {m.id for m in self.matrix.models}]
            if unknown or not self.models:
                raise pytest.UsageError("--models %s: no model %s in %s" % (
                    config.getoption("models"), ", ".join(unknown) or "named", self.matrix.path))
        if self.shard is not None:  # shards run as separate jobs whose observation folders are merged
            self.worker = "%s.shard-%d-of-%d" % ((self.worker,) + self.shard)
        self._resolved = False  # whether handles that are not local paths were resolved for their facts
        self.server = None  # type: Optional[LoopbackServer]
        self.session = None
        self.recorder = None  # type: Optional[Recorder]
        self.reuse = None  # type: Optional[ReusePlugin]
        self.not_run = 0

    def _audit_expectations(self) -> None:
        from conformance.expectation_audit import refusals, warn_only_from_env
        from conformance.matrix import ZOO_EXPECTATIONS

        found = refusals(self.matrix, zoo_file=ZOO_EXPECTATIONS)
        if found and warn_only_from_env():
            for line in found:
                print("warning: %s" % line, file=sys.stderr)
        elif found:
            bad_input("%s%s" % (found[0], " (and %d more: `python -m conformance check` lists them)"
                                % (len(found) - 1) if len(found) > 1 else ""))

    # ------------------------------------------------------------------ process set-up
    def _runs_cases(self) -> bool:
        return hasattr(self.config, "workerinput") or not self.config.pluginmanager.has_plugin("dsession")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        if not hasattr(self.config, "workerinput") and os.path.isdir(self.zoo_dir):
            self.server = LoopbackServer(self.zoo_dir).__enter__()
            os.environ[ZOO_URL_ENV] = self.server.url
        if not self._runs_cases():  # the xdist controller: a folder it cannot write ends the run here, once
            self._check_writable(os.path.join(run_dir(self.reports, self.run_id), self.runtime.id))
            return
        places = {"zoo": self.zoo_dir}
        if os.environ.get(ZOO_URL_ENV):
            places["zoo_url"] = os.environ[ZOO_URL_ENV]
        outputs = os.path.join(run_dir(self.reports, self.run_id), self.runtime.id)
        # Waited for here, not while pytest collects: an exit from a later hook of an xdist worker reaches
        # the controller as "no active workers", without its reason.
        try:
            os.makedirs(outputs, exist_ok=True)  # the executors' sandbox needs it before they start
        except OSError as error:
            pytest.exit("cannot write observations under %s: %s" % (self.reports, error.strerror or error),
                        returncode=4)
        self.reuse = self._reuse_plugin(places)
        facts = self.reuse.store.get_facts(self.reuse.keys.runtime_key()) if self.reuse is not None else None
        if facts is None:
            self.session = self._start_session(places, outputs)
            if self.reuse is not None:
                self.reuse.store.put_facts(self.reuse.keys.runtime_key(), facts_of(self.session))
        else:  # the runtime as a run found it with these very packages: TensorFlow starts with the first case run
            self.session = DeferredSession(self.runtime, facts, places, lambda: self._start_session(places, outputs),
                                           self._session_started)
        try:
            self.recorder = Recorder(self.reports, self.run_id, self.runtime.id, self.worker, self.session.run_info())
        except OSError as error:
            self.session.close()
            pytest.exit("cannot write observations under %s: %s" % (self.reports, error.strerror or error),
                        returncode=4)

    def _start_session(self, places: Dict[str, str], outputs: str) -> SupervisedSession:
        """The executor's session (TensorFlow in the runtime's mode), checked against matrix.yaml; a runtime that
        cannot start or is not what it declares ends the run."""
        try:
            session = SupervisedSession(self.runtime, self.matrix.path, places, outputs, self.matrix.timeout_of)
        except SandboxUnavailable as error:
            pytest.exit("runtime %s: %s" % (self.runtime.id, error), returncode=4)
        except (HarnessError, OSError) as error:
            pytest.exit("hub-conformance could not start runtime %s: %s" % (self.runtime.id, error), returncode=3)
        wrong = session.mismatches()
        if wrong:
            session.close()
            pytest.exit("runtime %s is not what %s declares: %s" % (self.runtime.id, self.matrix.path,
                                                                    "; ".join(wrong)), returncode=4)
        return session

    def _session_started(self, session: SupervisedSession) -> None:
        """A deferred session started (a case was not reused): the observations say what it really found."""
        if self.recorder is not None:
            self.recorder.document["run_info"].update(session.run_info())

    def _reuse_plugin(self, places: Dict[str, str]) -> Optional[ReusePlugin]:
        """The reuse of stored cases for this process (registered with pytest), or None when fresh."""
        if fresh_requested(self.config, self.matrix):
            return None
        root = str(self.config.rootpath) if hasattr(self.config, "rootpath") else str(self.config.rootdir)
        try:
            store = ReuseStore()
        except ValueError as error:
            bad_input(str(error))
        keys = CaseKeys(self.matrix, self.runtime, places,
                        [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.join(root, "cases")],
                        sandbox=choose_sandbox([], []).kind)
        plugin = ReusePlugin(self, keys, store, flaky_in_last_report(self.reports))
        self.config.pluginmanager.register(plugin, "conformance-reuse")
        return plugin

    def _check_writable(self, folder: str) -> None:
        probe = os.path.join(folder, ".writable-%d" % os.getpid())
        try:
            os.makedirs(folder, exist_ok=True)
            with open(probe, "w") as stream:
                stream.write("ok\n")
            os.remove(probe)
        except OSError as error:
            pytest.exit("cannot write observations under %s: %s" % (folder, error.strerror or error), returncode=4)

    def pytest_collection_finish(self, session):
        """The cases this process will run, so a run that ends early says what it never recorded."""
        if not self._runs_cases():
            return
        cases = [_case_of(item) for item in session.items if _case_of(item) is not None]
        try:
            self._write_expected(cases)
        except OSError as error:
            if not cannot_write(error):
                raise
            self.stop_writing(error, os.path.join(run_dir(self.reports, self.run_id), self.runtime.id))

    def _write_expected(self, cases) -> None:
        write_expected(os.path.join(run_dir(self.reports, self.run_id), self.runtime.id), shard=self.shard, cases=[
            dict({"test": c.id, "check": c.check, "model": c.model, "runtime": c.runtime, "device": c.device,
                  "api": c.api, "signature": c.signature, "expected": c.expectation.status},
                 **({"shard": "%d/%d" % self.shard} if self.shard else {}))
            for c in cases if getattr(c, "id", None)])

    def _not_run(self) -> int:
        """This runtime's cases that were generated and never finished (never recorded, or recorded as
        ``running``: their worker died during them), as summary and report will count them."""
        from conformance.observations import load_document

        folder = os.path.join(run_dir(self.reports, self.run_id), self.runtime.id)
        recorded = set()
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            if name.endswith(".json") and not name.startswith("."):
                try:
                    cases = load_document(os.path.join(folder, name)).get("cases") or {}
                except (OSError, ValueError):
                    continue
                recorded.update(case_id for case_id, entry in cases.items() if entry.get("status") != "running")
        return len(missing_results(folder, recorded))

    def pytest_sessionfinish(self, session):
        if self.lost_workers and not self._runs_cases():  # the controller: a killed worker's cases never ran
            self.not_run = self._not_run()
            if not self.write_error:
                session.exitstatus = INCOMPLETE
        if self.recorder is not None and self.session is not None:  # how often executors were replaced
            try:
                reused = self.reuse.run_info() if self.reuse else {}
                self.recorder.close(executor_restarts=self.session.restarts, executor_recycled=self.session.recycled,
                                    **reused)
            except OSError as error:
                if not cannot_write(error):
                    raise
                self.stop_writing(error, self._where())
            self.recorder = None
        super(RuntimePlugin, self).pytest_sessionfinish(session)
        if self.session is not None:
            self.session.close()
        if self.reuse is not None:
            self.reuse.store.prune()
        if self.server is not None:
            self.server.__exit__(None, None, None)

    # ------------------------------------------------------------------ cases
    def pytest_generate_tests(self, metafunc):
        if "case" not in metafunc.fixturenames:
            return
        check = registry.check_of(metafunc.function).name
        versions = {"tensorflow": installed_version(self.runtime.tensorflow),
                    "tensorflow_hub": installed_version(self.runtime.tensorflow_hub)}
        absent = [name for name, found in self.session.devices.items() if not found.available] if self.session else []
        if not self._resolved and self.session is not None:  # URL handles: their files, once per process
            self.matrix = with_detected_facts(self.matrix, {}, self.session.resolve)
            self._resolved = True
        selected = dataclasses.replace(self.matrix, models=[
            m for m in self.matrix.models if (self.shard is None or in_shard(m.id, self.shard))
            and (self.models is None or m.id in self.models)])  # a slice's cases only: generated for its models
        self.parametrize(metafunc, runtime_cases(selected, self.runtime, check, versions, absent))

    def pytest_collection_modifyitems(self, items):
        """Each model's cases one after another, whichever file they come from: the executor keeps only the
        current model loaded, so a run without xdist (whose groups already keep a model together) also loads
        each model once per api, not once per case file."""
        first_seen = {}  # type: Dict[Optional[str], int]
        for item in items:
            first_seen.setdefault(_model_of(item), len(first_seen))
        items.sort(key=lambda item: first_seen[_model_of(item)])

    def _workers_reuse(self) -> Optional[str]:
        """The xdist controller's reuse line: what its workers' observation files say."""
        from conformance.observations import load_document

        folder = os.path.join(run_dir(self.reports, self.run_id), self.runtime.id)
        if self._runs_cases() or not os.path.isdir(folder):
            return None
        documents = []
        for name in sorted(os.listdir(folder)):
            if name.endswith(".json") and not name.startswith("."):
                try:
                    documents.append(load_document(os.path.join(folder, name)))
                except (OSError, ValueError):
                    continue
        return summary_of_workers(documents)

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_sep("-", "conformance: runtime %s" % self.runtime.id)
        terminalreporter.write_line("cases: %s" % counts_line(terminalreporter.stats))
        terminalreporter.write_line(sandbox_summary_line())
        reuse = self.reuse.summary() if self.reuse is not None else self._workers_reuse()
        if reuse:
            terminalreporter.write_line(reuse)
        terminalreporter.write_line("observations: %s" % os.path.join(self.reports, "runs", self.run_id,
                                                                      self.runtime.id))
        if self.lost_workers:
            terminalreporter.write_line("error: %d cases not run: worker %s lost (the run is incomplete, exit %d)"
                                        % (self.not_run, ", ".join(self.lost_workers), INCOMPLETE))
        self.write_error_summary(terminalreporter)
