"""Fault injection: a model that aborts its process or loops forever costs its own cases, never the run.

Real TensorFlow 2.21 runs the hostile models (tests/hostile_models.py) through the real runtime cases,
with pytest-xdist workers, as `tox -p` runs them.
"""
import os
import re
import subprocess
import sys
import time

import pytest

from conformance.observations import read_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HANG_LIMIT = 6
SECRET = "HUBCONF-SECRET-7f3a"  # the secret file's text: no output of any run may hold it

pytestmark = pytest.mark.tensorflow

RUNTIME = """
runtimes:
  - id: tf2.21
    python: "3.11"
    tensorflow: tensorflow-cpu==2.21.0
    tensorflow_hub: tensorflow-hub==0.16.1
    extras: ["tf-keras==2.21.0", "setuptools<80"]
    mode: eager
    env: {TF_USE_LEGACY_KERAS: "1"}
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    target = str(tmp_path_factory.mktemp("target") / "written")
    secrets = tmp_path_factory.mktemp("secrets")
    (secrets / "secret.txt").write_text("line\n%s\n" % SECRET)
    places = dict(HOSTILE_TARGET=target, HOSTILE_SECRET=str(secrets / "secret.txt"),
                  HOSTILE_CHECKPOINT=str(secrets / "checkpoint"))
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "hostile_models.py"), str(root)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300, env=dict(os.environ, **places))
    os.environ.update(places)
    return root


def _matrix(tmp_path, hostile, models):
    lines = ["devices: [cpu]", "apis: [hub.load, saved_model]", "expectations: []", RUNTIME, "models:"]
    for name, extra in models:
        lines.append("  - {id: %s, handle: %s, format: saved_model_v2, tags: [serve]%s}"
                     % (name, hostile / (name if (hostile / name).exists() else name.rsplit("_", 1)[0]), extra))
    path = tmp_path / "matrix.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _run(tmp_path, matrix, *args, sandbox="auto"):
    command = [sys.executable, "-m", "pytest", "cases", "--runtime=tf2.21", "--matrix", matrix, "-p",
               "no:cacheprovider", "-q", "--reports", str(tmp_path / "reports"), "--run-id", "r1"] + list(args)
    env = dict(os.environ, TFHUB_CACHE_DIR=str(tmp_path / "tfhub_cache"), CONFORMANCE_SANDBOX=sandbox)
    env.pop("CONFORMANCE_RUN_ID", None)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=400)
    cases = {}
    for _, document in read_run(str(tmp_path / "reports"), "r1"):
        cases.update(document["cases"])
    return result, cases, time.monotonic() - started


def test_crash_and_hang_are_named_and_every_other_model_runs(tmp_path, hostile):
    matrix = _matrix(tmp_path, hostile, [("crash", ""), ("hang", ", timeout: %d" % HANG_LIMIT), ("good", "")])
    result, cases, _ = _run(tmp_path, matrix, "-n", "2", "--dist", "loadgroup", "--max-worker-restart=0")
    assert result.returncode == 1, result.stdout[-3000:]
    for api in ("hub.load", "saved_model"):
        crashed = cases["load[crash-tf2.21-cpu-%s]" % api]
        assert crashed["status"] == "crash", crashed
        assert "died (SIGABRT)" in crashed["message"]
        assert "Abort_op intentional failure" in crashed["message"], "the FATAL line of the dead process"
        hung = cases["load[hang-tf2.21-cpu-%s]" % api]
        assert hung["status"] == "timeout", hung
        assert "within its %gs limit" % HANG_LIMIT in hung["message"]
        assert cases["load[good-tf2.21-cpu-%s]" % api]["status"] == "pass"
    assert "crash: the runtime process died (SIGABRT)" in result.stdout


def test_models_after_a_crash_run_in_the_same_worker(tmp_path, hostile):
    matrix = _matrix(tmp_path, hostile, [("crash", ""), ("crash_again", ""), ("good", "")])
    result, cases, _ = _run(tmp_path, matrix, "-p", "no:xdist")
    assert result.returncode == 1, result.stdout[-3000:]
    assert [cases["load[%s-tf2.21-cpu-hub.load]" % m]["status"] for m in ("crash", "crash_again", "good")] == [
        "crash", "crash", "pass"]


def test_an_executor_that_has_grown_is_replaced_between_models(tmp_path, hostile, monkeypatch):
    """TensorFlow keeps what it loaded for the life of its process: past CONFORMANCE_RECYCLE_MB of growth the
    next model gets a fresh executor (0 here: every model), and its cases run as before."""
    matrix = _matrix(tmp_path, hostile, [("good", ""), ("good_again", "")])
    monkeypatch.setenv("CONFORMANCE_RECYCLE_MB", "0")
    result, cases, _ = _run(tmp_path, matrix, "-p", "no:xdist")
    assert result.returncode == 0, result.stdout[-3000:]
    pids = {m: {cases["load[%s-tf2.21-cpu-%s]" % (m, api)]["executor_pid"] for api in ("hub.load", "saved_model")}
            for m in ("good", "good_again")}
    assert all(len(p) == 1 for p in pids.values()), "one executor per model, all its cases"
    assert pids["good"] != pids["good_again"], "the second model ran in a fresh executor"
    assert all(cases["load[%s-tf2.21-cpu-hub.load]" % m]["status"] == "pass" for m in ("good", "good_again"))


PLANTED_BUG = '''
import conformance.runtime.probe as probe


def make_inputs(*args, **kwargs):
    return {}["planted harness bug"]


probe.make_inputs = make_inputs
'''


def test_a_harness_bug_is_an_error_not_the_models_failure(tmp_path, hostile):
    """A KeyError in the framework's own code (planted in the executor) is status ``error``, named a
    hub-conformance bug, with what was recorded before it kept."""
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(PLANTED_BUG)
    matrix = _matrix(tmp_path, hostile, [("good", "")])
    os.environ["PYTHONPATH"], saved = str(plant), os.environ.get("PYTHONPATH")
    try:
        result, cases, _ = _run(tmp_path, matrix, "-p", "no:xdist", "-k", "load and hub.load")
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    assert result.returncode == 1, result.stdout[-3000:]
    entry = cases["load[good-tf2.21-cpu-hub.load]"]
    assert entry["status"] == "error", entry
    assert entry["message"].startswith("hub-conformance bug (not the model's failure)"), entry["message"]
    assert "KeyError: 'planted harness bug'" in entry["message"]
    assert entry["loaded"] is True, "what was seen before the bug is kept"
    assert entry["signatures"]["serving_default"]["harness_error"]["stage"] == "inputs"
    assert "error" not in entry["signatures"]["serving_default"], "no model error was recorded"


def test_models_with_file_ops_are_not_run_unless_trusted(tmp_path, hostile):
    """Without a sandbox, the untrusted-op scan runs before any signature: WriteFile in a TF2 function and in
    a TF1 serving signature is reported with the op and where it is, and nothing is written; ``trust: true``
    runs it."""
    target = os.environ["HOSTILE_TARGET"]
    matrix = _matrix(tmp_path, hostile, [("writes", ""), ("writes_tf1", ""), ("good", "")])
    result, cases, _ = _run(tmp_path, matrix, "-p", "no:xdist", "-k", "test_load", sandbox="off")
    assert result.returncode == 1, result.stdout[-3000:]
    tf2 = cases["load[writes-tf2.21-cpu-hub.load]"]
    assert tf2["status"] == "fail" and tf2["error"]["cause"] == "untrusted-op", tf2
    assert "op WriteFile (the file system (writes files)) in __inference_writes" in tf2["message"]
    assert "reachable from signature serving_default" in tf2["message"]
    tf1 = cases["load[writes_tf1-tf2.21-cpu-saved_model]"]
    assert tf1["error"]["cause"] == "untrusted-op" and "op WriteFile (the file system (writes files)) in graph, " \
                                                       "reachable from signature serving_default" in tf1["message"]
    assert cases["load[good-tf2.21-cpu-hub.load]"]["status"] == "pass", "a model without such ops runs"
    assert not os.path.exists(target + ".tf2") and not os.path.exists(target + ".tf1")

    trusted = _matrix(tmp_path, hostile, [("writes", ", trust: true")])
    result, cases, _ = _run(tmp_path / "trusted", trusted, "-p", "no:xdist", "-k", "load and cpu-hub.load",
                            sandbox="off")
    assert cases["load[writes-tf2.21-cpu-hub.load]"]["status"] == "pass", result.stdout[-3000:]
    assert os.path.exists(target + ".tf2"), "trusted: it ran, and wrote its file"


def test_a_run_stopped_early_is_incomplete_not_green(tmp_path, hostile):
    """pytest stopping at the first failure (as Ctrl-C or a CI limit would) leaves cases unrecorded:
    summary says which and exits 3."""
    matrix = _matrix(tmp_path, hostile, [("crash", ""), ("good", "")])
    result, cases, _ = _run(tmp_path, matrix, "-p", "no:xdist", "--maxfail=1", "-k", "test_load")
    assert result.returncode == 1 and len(cases) == 1, result.stdout[-3000:]
    summary = subprocess.run([sys.executable, "-m", "conformance", "--matrix", matrix, "summary", "--reports",
                              str(tmp_path / "reports"), "--run-id", "r1"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert summary.returncode == 3, summary.stdout
    assert "incomplete: 1 of 4 cases recorded (3 missing)" in summary.stdout
    assert "MISSING load[good-tf2.21-cpu-hub.load]" in summary.stdout


KILL_WORKER = '''
import os
import signal

import conformance.outcome as outcome

_settle = outcome.settle


def settle(case_id, *args, **kwargs):
    if case_id.startswith("load[good_killme-"):
        os.kill(os.getpid(), signal.SIGKILL)  # the pytest worker itself dies (OOM killer, kill -9)
    return _settle(case_id, *args, **kwargs)


outcome.settle = settle
'''


def test_a_killed_pytest_worker_ends_the_run_and_its_cases_are_missing(tmp_path, hostile):
    """Not the model: the xdist worker itself is killed. pytest-xdist's recovery could hang the run forever;
    with --max-worker-restart=0 the run ends, and what it never recorded is reported, not lost."""
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(KILL_WORKER)
    matrix = _matrix(tmp_path, hostile, [("good_killme", ""), ("good", "")])
    os.environ["PYTHONPATH"], saved = str(plant), os.environ.get("PYTHONPATH")
    try:
        result, cases, seconds = _run(tmp_path, matrix, "-n", "2", "--dist", "loadgroup", "--max-worker-restart=0",
                                      "-k", "test_load")
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    assert result.returncode == 3 and "node down" in result.stdout, result.stdout[-3000:]
    lost = re.search(r"error: (\d+) cases not run: worker gw\d lost", result.stdout)
    assert lost, result.stdout[-3000:]
    summary = subprocess.run([sys.executable, "-m", "conformance", "--matrix", matrix, "summary", "--reports",
                              str(tmp_path / "reports"), "--run-id", "r1"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert summary.returncode in (1, 3), summary.stdout
    assert "UNEXPECTED running load[good_killme-tf2.21-cpu-" in summary.stdout, summary.stdout
    missing = re.search(r"\((\d+) missing\)", summary.stdout)
    running = summary.stdout.count("UNEXPECTED running ")
    assert int(lost.group(1)) == running + (int(missing.group(1)) if missing else 0), (lost.group(0), summary.stdout)


# model -> the op its finding names first (findings are sorted by op)
REACHING_OUTSIDE = {"writes": "WriteFile", "writes_tf1": "WriteFile", "prints": "PrintV2",
                    "csv_secret": "CSVDatasetV2", "lists_files": "ExperimentalMatchingFilesDataset",
                    "restores": "RestoreV2", "pbtxt_tf1": "ReadFile", "main_op_tf1": "WriteFile",
                    "legacy_init_op_tf1": "WriteFile", "table_path_tf1": "InitializeTableFromTextFileV2"}


def _one_line_matrix(tmp_path, hostile, names):
    """The hostile models as a user would add them: one line each."""
    lines = ["devices: [cpu]", "apis: [saved_model]", "expectations: []", RUNTIME, "models:"]
    lines.extend("  - {id: %s, handle: %s}" % (name, hostile / name) for name in names)
    path = tmp_path / "matrix.yaml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _written_outside():
    return set(os.listdir(os.path.dirname(os.environ["HOSTILE_TARGET"])))


def _nothing_escaped(tmp_path, before):
    """No file was written beside the target since ``before``, and no file of the run holds the secret."""
    assert _written_outside() == before, "a model wrote outside its run"
    for folder, _, files in os.walk(str(tmp_path)):
        for name in files:
            with open(os.path.join(folder, name), "rb") as stream:
                assert SECRET.encode() not in stream.read(), "the secret reached %s" % os.path.join(folder, name)


def test_without_a_sandbox_every_model_reaching_outside_is_untrusted(tmp_path, hostile):
    """The scan reads saved_model.pbtxt, the init ops (main_op, legacy_init_op, table initializers) and every
    function, and allows only reviewed ops: each hostile model is untrusted-op naming its op, nothing runs."""
    matrix, before = _one_line_matrix(tmp_path, hostile, sorted(REACHING_OUTSIDE) + ["good"]), _written_outside()
    result, cases, _ = _run(tmp_path, matrix, "-p", "no:xdist", "-k", "test_load", sandbox="off")
    assert result.returncode == 1, result.stdout[-3000:]
    for name, op in sorted(REACHING_OUTSIDE.items()):
        case = cases["load[%s-tf2.21-cpu-saved_model]" % name]
        assert case["error"]["cause"] == "untrusted-op" and "not run: op %s (" % op in case["message"], case
    assert cases["load[good-tf2.21-cpu-saved_model]"]["status"] == "pass"
    _nothing_escaped(tmp_path, before)


def test_the_sandbox_lets_them_run_and_stops_what_they_try(tmp_path, hostile):
    """With bubblewrap in force the same models run, each case says which ops outside the allow list ran in
    the sandbox, the ones whose reach failed there are sandbox-denied, and nothing outside the run's folders
    was written or read into an output."""
    matrix, before = _one_line_matrix(tmp_path, hostile, sorted(REACHING_OUTSIDE) + ["good"]), _written_outside()
    result, cases, _ = _run(tmp_path, matrix, "-p", "no:xdist", "-k", "test_load", sandbox="bubblewrap")
    assert result.returncode == 1, result.stdout[-3000:]
    denied = set()
    for name, op in sorted(REACHING_OUTSIDE.items()):
        case = cases["load[%s-tf2.21-cpu-saved_model]" % name]
        assert case["sandbox"] == "bubblewrap" and case["untrusted_ops"][0].startswith("op %s (" % op), case
        if case["status"] != "pass":
            assert "sandbox-denied: ran in the bubblewrap sandbox with op %s (" % op in case["message"], case
            denied.add(name)
    assert denied == set(REACHING_OUTSIDE), "every one of them failed to reach outside, with its own cause"
    assert cases["load[good-tf2.21-cpu-saved_model]"]["status"] == "pass"
    _nothing_escaped(tmp_path, before)


def test_losses_on_one_device_do_not_cost_the_other_devices_cases(tmp_path, hostile):
    """Two losses of a model's executor on cpu stop its other cpu cases ("not run"), not its xla ones, which
    still run and find their own cause (XLA cannot compile Abort): a real export that crashes only under XLA
    keeps its cpu cases the same way."""
    lines = ["devices: [cpu, xla]", "apis: [hub.load, saved_model, hub.KerasLayer]", "expectations: []", RUNTIME,
             "models:", "  - {id: crash, handle: %s}" % (hostile / "crash")]
    (tmp_path / "matrix.yaml").write_text("\n".join(lines) + "\n")
    result, cases, _ = _run(tmp_path, str(tmp_path / "matrix.yaml"), "-p", "no:xdist", "-k", "test_load")
    assert result.returncode == 1, result.stdout[-3000:]
    apis = ("hub.load", "saved_model", "hub.KerasLayer")
    on_cpu = [cases["load[crash-tf2.21-cpu-%s]" % api]["message"] for api in apis]
    assert sum("died (SIGABRT)" in message and "not run" not in message for message in on_cpu) == 2, on_cpu
    assert sum("not run: model crash already lost its executor 2 times on cpu" in m for m in on_cpu) == 1, on_cpu
    on_xla = [cases["load[crash-tf2.21-xla-%s]" % api]["message"] for api in apis]
    assert all("XLA cannot compile op Abort" in message for message in on_xla), on_xla


PLANTED_UNPACK_BUG = '''
import conformance.handles as handles


def unpack_local_archive(path):
    return {}["planted unpack bug"]


handles.unpack_local_archive = unpack_local_archive
'''


def test_our_bug_while_unpacking_before_the_sandbox_is_an_error_not_the_models_failure(tmp_path, hostile):
    """An archive is unpacked in the worker before the sandbox starts: a KeyError of our own there makes the
    model's load case status ``error`` (a hub-conformance bug), never a cause blamed on the model."""
    import tarfile

    archive = tmp_path / "good.tar.gz"
    with tarfile.open(str(archive), "w:gz") as tar:
        tar.add(str(hostile / "good"), arcname=".")
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "sitecustomize.py").write_text(PLANTED_UNPACK_BUG)
    lines = ["devices: [cpu]", "apis: [hub.load]", "expectations: []", RUNTIME, "models:",
             "  - {id: packed, handle: %s}" % archive]
    (tmp_path / "matrix.yaml").write_text("\n".join(lines) + "\n")
    os.environ["PYTHONPATH"], saved = str(plant) + os.pathsep + ROOT, os.environ.get("PYTHONPATH")
    try:
        result, cases, _ = _run(tmp_path, str(tmp_path / "matrix.yaml"), "-p", "no:xdist", "-k", "test_load",
                                sandbox="bubblewrap")
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    entry = cases["load[packed-tf2.21-cpu-hub.load]"]
    assert entry["status"] == "error", (entry, result.stdout[-3000:])
    assert "KeyError: 'planted unpack bug'" in entry["message"], entry["message"]
