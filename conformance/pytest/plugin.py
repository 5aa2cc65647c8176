"""The pytest plugin of hub-conformance (entry point ``pytest11: conformance``).

Two modes, each its own plugin object: ``--runtime ID`` (runtime: the cases of one runtime) and
``--compare RUN`` (comparison: cross-runtime checks on recorded observations, no TensorFlow).
"""
from __future__ import annotations

import os

import pytest

from conformance.matrix import Matrix

PARALLEL_ENVS_ENV = "CONFORMANCE_PARALLEL_ENVS"


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "hub-conformance")
    group.addoption("--runtime", default=None, help="runtime id from matrix.yaml that this process is")
    group.addoption("--matrix", default=None, help="matrix file (default: matrix.yaml in the rootdir)")
    group.addoption("--reports", default=None, help="reports directory (default: reports/ in the rootdir)")
    group.addoption("--run-id", default=None, help="run id shared by all runtimes of a run "
                                                   "(default: $CONFORMANCE_RUN_ID or a new timestamp)")
    group.addoption("--zoo", default=None, help="zoo directory (default: $CONFORMANCE_ZOO_DIR or .zoo)")
    group.addoption("--shard", default=None, metavar="K/N",
                    help="run only shard K of N (whole models, split the same way on every machine)")
    group.addoption("--models", default=None, metavar="ID[,ID...]",
                    help="run only these models of the matrix (a slice, e.g. CI's run of the nightly runtime)")
    group.addoption("--fresh", action="store_true",
                    help="run every case, reusing no stored observation (also CONFORMANCE_FRESH=1, or `reuse: false` "
                         "in matrix.yaml)")
    group.addoption("--compare", action="append", default=None, metavar="RUN",
                    help="compare a finished run: a run id, a run directory, or `auto` ($CONFORMANCE_RUN_ID if "
                         "recorded, else the newest run); repeat to merge runs (CI shards)")
    group.addoption("--goldens", default=None, help="golden baselines directory (default: cases/goldens)")
    group.addoption("--against-goldens", action="store_true",
                    help="hold every cell to the goldens, even where the run has its reference cells")


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): cases of one model run on one worker")
    if config.getoption("runtime") and config.getoption("compare"):
        raise pytest.UsageError("--runtime and --compare are two modes: give one")
    if config.getoption("runtime") or config.getoption("compare"):
        from conformance.pytest import xfail_report

        config.pluginmanager.register(xfail_report, "conformance-xfail-report")
    if config.getoption("runtime"):
        from conformance.pytest.runtime import RuntimePlugin

        config.pluginmanager.register(RuntimePlugin(config, config.getoption("runtime")), "conformance-runtime")
    elif config.getoption("compare"):
        from conformance.pytest.comparison import ComparisonPlugin

        config.pluginmanager.register(ComparisonPlugin(config, config.getoption("compare")),
                                      "conformance-compare")


def _mode_of_case_file():
    """Each case file of cases/ and the side of the checks it collects (from conformance/checks/)."""
    from conformance.checks import registry

    return registry.case_files()


def pytest_ignore_collect(collection_path, config):
    """Case files of the other mode are not collected: ``pytest cases --runtime X`` runs the runtime cases
    (test_load.py, test_semantics.py, test_cluster.py, test_train.py), ``pytest cases --compare RUN`` the
    comparison (test_compare.py). Never "collect it" (False): that would end the hook before pytest's own
    ``--ignore``, so ``tox -e R -- --ignore=cases/test_train.py`` would run the training cases anyway."""
    mode = _mode_of_case_file().get(collection_path.name)
    if mode is not None and collection_path.parent.name == "cases" and not config.getoption(mode):
        return True
    return None


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto``: the cores shared among the tox envs running at once (each worker imports TensorFlow); 0
    (no xdist: the cases run in pytest's own process, TensorFlow still in its executor) where that share is
    one core, since a lone worker only adds a process and a message per case (about 15 % of a runtime's
    CPU on the load and semantics cases).

    toxfile.py sets $CONFORMANCE_PARALLEL_ENVS from ``tox -p N`` (``0`` for ``tox -p``/``-p all``).
    """
    cores = os.cpu_count() or 1
    setting = os.environ.get(PARALLEL_ENVS_ENV)
    parallel_envs = 1 if setting is None else int(setting) or cores
    workers = max(1, cores // min(cores, parallel_envs))
    return 0 if workers == 1 else workers


def _mode_plugin(config, name: str, option: str):
    plugin = config.pluginmanager.get_plugin(name)
    if plugin is None:
        raise pytest.UsageError("these cases need %s" % option)
    return plugin


def _active(config):
    return (config.pluginmanager.get_plugin("conformance-runtime")
            or _mode_plugin(config, "conformance-compare", "--runtime ID or --compare RUN"))


@pytest.fixture(scope="session")
def matrix(request) -> Matrix:
    return _active(request.config).matrix


@pytest.fixture(scope="session")
def runtime_session(request):
    """TensorFlow, tensorflow_hub and the devices of this worker (:class:`RuntimeSession`)."""
    return _mode_plugin(request.config, "conformance-runtime", "--runtime ID").session


@pytest.fixture
def device(request, runtime_session, case_record):
    """The case's device; a case for a device this runtime lacks (only one load case per model is generated)
    is skipped with what was probed."""
    case = request.node.callspec.params["case"]
    found = runtime_session.devices[case.cell.device]
    if not found.available:
        case_record(skipped_because=found.probed)
        pytest.skip("runtime %s has no %s device (probed: %s); no other case of this model on it is generated"
                    % (case.cell.runtime, found.name, found.probed))
    return found


@pytest.fixture
def case_record(request):
    """Records what the current case sees into this worker's observation file."""
    return _active(request.config).begin(request.node.callspec.params["case"], request.node.nodeid)


@pytest.fixture(scope="session")
def comparison(request):
    """The observations under comparison, the goldens and the checks' inputs (:class:`ComparisonPlugin`)."""
    return _mode_plugin(request.config, "conformance-compare", "--compare RUN")


