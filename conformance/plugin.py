"""The pytest plugin of hub-conformance (entry point ``pytest11: conformance``).

Inert unless ``--runtime ID`` is given. Then, in every process that runs cases (each xdist worker, or the
only process), it brings TensorFlow up in the runtime's mode, fails loudly if the runtime is not what
matrix.yaml declares, records run info, generates the cases from the matrix and records what each saw.
The controller process never imports TensorFlow: it serves the zoo on 127.0.0.1 and sizes the workers.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional

import pytest

from conformance.cases import Case, load_cases
from conformance.matrix import DEFAULT_MATRIX, Matrix, Runtime, load_matrix
from conformance.observations import Recorder
from conformance.run_ids import new_run_id
from conformance.serve import LoopbackServer
from conformance.versions import installed_version
from conformance.yaml_source import SourceError
from conformance.zoo.catalog import default_zoo_dir

RUN_ID_ENV = "CONFORMANCE_RUN_ID"
ZOO_URL_ENV = "CONFORMANCE_ZOO_URL"
PARALLEL_ENVS_ENV = "CONFORMANCE_PARALLEL_ENVS"


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "hub-conformance")
    group.addoption("--runtime", default=None, help="runtime id from matrix.yaml that this process is")
    group.addoption("--matrix", default=None, help="matrix file (default: matrix.yaml in the rootdir)")
    group.addoption("--reports", default=None, help="reports directory (default: reports/ in the rootdir)")
    group.addoption("--run-id", default=None, help="run id shared by all runtimes of a run "
                                                   "(default: $%s or a new timestamp)" % RUN_ID_ENV)
    group.addoption("--zoo", default=None, help="zoo directory (default: $CONFORMANCE_ZOO_DIR or .zoo)")


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): cases of one model run on one worker")
    runtime_id = config.getoption("runtime")
    if runtime_id:
        config.pluginmanager.register(RuntimePlugin(config, runtime_id), "conformance-runtime")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto``: the cores shared among the tox envs running at once (each worker imports TensorFlow).

    toxfile.py sets $CONFORMANCE_PARALLEL_ENVS from ``tox -p N`` (``0`` for ``tox -p``/``-p all``).
    """
    cores = os.cpu_count() or 1
    setting = os.environ.get(PARALLEL_ENVS_ENV)
    if setting is None:
        return cores
    parallel_envs = int(setting) or cores
    return max(1, cores // min(cores, parallel_envs))


def _runtime_plugin(config) -> "RuntimePlugin":
    plugin = config.pluginmanager.get_plugin("conformance-runtime")
    if plugin is None:
        raise pytest.UsageError("conformance cases need --runtime ID (a runtime of matrix.yaml)")
    return plugin


@pytest.fixture(scope="session")
def matrix(request) -> Matrix:
    return _runtime_plugin(request.config).matrix


@pytest.fixture(scope="session")
def runtime_session(request):
    """TensorFlow, tensorflow_hub and the devices of this worker (:class:`RuntimeSession`)."""
    return _runtime_plugin(request.config).session


@pytest.fixture
def case_record(request) -> "CaseRecord":
    """Records what the current case sees into the worker's observation file."""
    return _runtime_plugin(request.config).begin(request.node.callspec.params["load_case"], request.node.nodeid)


class CaseRecord(object):
    """Stores what one case saw into its worker's observation file, as it is seen."""

    def __init__(self, recorder: Recorder, case_id: str):
        self.recorder, self.case_id = recorder, case_id

    def __call__(self, **fields: Any) -> None:
        self.recorder.update(self.case_id, **fields)

    def save_outputs(self, name: str, arrays) -> str:
        return self.recorder.save_outputs(name, arrays)


class RuntimePlugin(object):
    def __init__(self, config, runtime_id: str):
        self.config = config
        root = str(config.rootpath) if hasattr(config, "rootpath") else str(config.rootdir)
        try:
            self.matrix = load_matrix(config.getoption("matrix") or os.path.join(root, DEFAULT_MATRIX))  # type: Matrix
            self.runtime = self.matrix.runtime(runtime_id)  # type: Runtime
        except SourceError as error:
            raise pytest.UsageError(str(error))
        self.reports = config.getoption("reports") or os.path.join(root, "reports")
        self.zoo_dir = os.path.abspath(config.getoption("zoo") or default_zoo_dir(root))
        self.worker = config.workerinput["workerid"] if hasattr(config, "workerinput") else "main"
        self.run_id = config.getoption("run_id") or os.environ.get(RUN_ID_ENV) or new_run_id()
        os.environ[RUN_ID_ENV] = self.run_id  # xdist workers inherit it
        self.server = None  # type: Optional[LoopbackServer]
        self.session = None
        self.recorder = None  # type: Optional[Recorder]
        self.cases = {}  # type: Dict[str, Case]

    # ------------------------------------------------------------------ process set-up
    def _runs_cases(self) -> bool:
        return hasattr(self.config, "workerinput") or not self.config.pluginmanager.has_plugin("dsession")

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session):
        if not hasattr(self.config, "workerinput") and os.path.isdir(self.zoo_dir):
            self.server = LoopbackServer(self.zoo_dir).__enter__()
            os.environ[ZOO_URL_ENV] = self.server.url
        if not self._runs_cases():
            return
        from conformance.runtime.probe import RuntimeSession  # imports TensorFlow

        places = {"zoo": self.zoo_dir}
        if os.environ.get(ZOO_URL_ENV):
            places["zoo_url"] = os.environ[ZOO_URL_ENV]
        self.session = RuntimeSession(self.runtime, places)
        wrong = self.session.mismatches()
        if wrong:
            pytest.exit("runtime %s is not what %s declares: %s" % (self.runtime.id, self.matrix.path,
                                                                    "; ".join(wrong)), returncode=4)
        self.recorder = Recorder(self.reports, self.run_id, self.runtime.id, self.worker, self.session.run_info())

    def pytest_sessionfinish(self, session):
        if self.server is not None:
            self.server.__exit__(None, None, None)

    # ------------------------------------------------------------------ cases
    def pytest_generate_tests(self, metafunc):
        if "load_case" not in metafunc.fixturenames:
            return
        versions = {"tensorflow": installed_version(self.runtime.tensorflow),
                    "tensorflow_hub": installed_version(self.runtime.tensorflow_hub)}
        params = []
        for case in load_cases(self.matrix, self.runtime, versions):
            self.cases[case.param_id] = case
            marks = [pytest.mark.xdist_group(case.cell.model)]
            if case.expectation.status == "skip":
                marks.append(pytest.mark.skip(reason="%s [%s]" % (case.expectation.reason, case.expectation.source)))
            params.append(pytest.param(case, id=case.param_id, marks=marks))
        metafunc.parametrize("load_case", params)

    def begin(self, case: Case, nodeid: str) -> CaseRecord:
        self.recorder.begin(case.id, {"check": case.check, "model": case.cell.model, "runtime": case.cell.runtime,
                                      "device": case.cell.device, "api": case.api,
                                      "expected": case.expectation.status,
                                      "expected_cause": case.expectation.cause,
                                      "expectation_source": case.expectation.source, "nodeid": nodeid})
        return CaseRecord(self.recorder, case.id)

    def pytest_runtest_logreport(self, report):
        if self.recorder is None or "[" not in report.nodeid:
            return
        # xdist's loadgroup appends "@<group>" to node ids: take what is inside the brackets.
        case = self.cases.get(report.nodeid.rsplit("]", 1)[0].split("[", 1)[-1])
        if case is None:
            return
        final = report.when == "call" or (report.when == "setup" and not report.passed)
        if not final:
            return
        if hasattr(report, "wasxfail"):
            status, message = "xfail", report.wasxfail
        elif report.skipped:
            status = "skip"
            message = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        else:
            status, message = report.outcome.replace("passed", "pass").replace("failed", "fail"), ""
            if report.failed:
                message = getattr(report.longrepr, "reprcrash", None)
                message = message.message if message is not None else str(report.longrepr).splitlines()[-1]
        self.recorder.update(case.id, status=status, message=message, duration=round(report.duration, 6),
                             expected=case.expectation.status, nodeid=report.nodeid)

    def pytest_terminal_summary(self, terminalreporter):
        stats = terminalreporter.stats
        counts = ["%d %s" % (len(stats.get(key, [])), label) for key, label in
                  (("passed", "passed"), ("xfailed", "xfailed (expected)"), ("failed", "failed"),
                   ("skipped", "skipped"), ("xpassed", "xpassed"), ("error", "errors"))]
        terminalreporter.write_sep("-", "conformance: runtime %s" % self.runtime.id)
        terminalreporter.write_line("cases: %s" % ", ".join(counts))
        terminalreporter.write_line("observations: %s" % os.path.join(self.reports, "runs", self.run_id,
                                                                      self.runtime.id))
