"""repro/<case>.py: a standalone script per failing load case, written with the report, that reproduces the
run's failure with TensorFlow, tensorflow_hub and numpy alone. Generated from a real tf2.21 run of zoo models
that fail in different ways, then run in this env (tf2.21's packages) and held to the same cause."""
import ast
import json
import os
import re
import subprocess
import sys

import pytest

from conformance.causes import classify
from conformance.report.repro import stem, wanted, write

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# zoo failure kinds on tf2.21: an op XLA lacks, an assertion only eager calls reach, a signature whose shape
# info is missing, a reference-typed output, and an api tensorflow-hub 0.16 removed
CELLS = ["batch_one-tf2.21-xla-hub.load", "hazard-tf2.21-cpu-hub.load", "no_shape_info-tf2.21-cpu-saved_model",
         "reference_output-tf2.21-cpu-hub.KerasLayer", "gpu_pinned-tf2.21-cpu-hub.Module"]
_RAISED = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception)): ?(.*)$")


def raised(output):
    """The type and message of the last exception a script's traceback shows."""
    lines = output.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        found = _RAISED.match(lines[index])
        if found:
            return found.group(1), "\n".join([found.group(2)] + lines[index + 1:])
    return None, output[-2000:]


def test_only_failing_cases_of_the_scripted_checks_get_a_script_and_expected_ones_on_request():
    assert wanted({"check": "load", "status": "fail"}, False)
    assert not wanted({"check": "load", "status": "xfail"}, False) and wanted({"check": "load", "status": "xfail"}, True)
    assert not wanted({"check": "load", "status": "pass"}, True) and wanted({"check": "numeric", "status": "fail"}, False)
    for check in ("semantics", "cost", "proof", "cluster", "train", "gradient", "step"):
        assert wanted({"check": check, "status": "fail"}, False)
    assert not wanted({"check": "repeat", "status": "fail"}, True)
    assert stem("load[hazard-tf2.21-cpu-hub.load]") == "load-hazard-tf2.21-cpu-hub.load"


def test_a_failing_case_of_a_check_without_scripts_gets_a_line_saying_so(tmp_path):
    document = {"run_ids": ["r"], "run_info": {}, "results": [
        {"test": "repeat[m-tf2.21-cpu-hub.load-default]", "check": "repeat", "model": "m", "runtime": "tf2.21",
         "device": "cpu", "api": "hub.load", "signature": "default", "status": "fail", "details": {}},
        {"test": "repeat[m-tf2.21-cpu-hub.load-other]", "check": "repeat", "model": "m", "runtime": "tf2.21",
         "device": "cpu", "api": "hub.load", "signature": "other", "status": "pass", "details": {}}]}
    assert write(document, str(tmp_path), str(tmp_path / "report"), {}) == [
        "repeat[m-tf2.21-cpu-hub.load-default]: no reproduction (no script is written for repeat cases yet)"]


@pytest.mark.tensorflow
def test_generated_scripts_reproduce_each_failure_kind_with_the_same_cause(tmp_path, zoo_dir):
    reports = tmp_path / "reports"
    env = dict(os.environ, TFHUB_CACHE_DIR=str(tmp_path / "tfhub_cache"))
    env.pop("CONFORMANCE_RUN_ID", None)
    selection = " or ".join(CELLS)
    run = subprocess.run([sys.executable, "-m", "pytest", "cases/test_load.py", "-p", "no:cacheprovider", "-q",
                          "-p", "no:xdist", "--runtime=tf2.21", "--reports", str(reports), "--run-id", "r1",
                          "-k", selection], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=900)
    assert run.returncode == 0 and "5 xfailed" in run.stdout, run.stdout[-3000:]
    output = tmp_path / "report"
    report = subprocess.run([sys.executable, "-m", "conformance", "report", "--reports", str(reports), "--run-id",
                             "r1", "--output", str(output), "--repro-expected"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
    assert report.returncode == 0, report.stdout[-3000:]
    with open(str(output / "results.json")) as stream:
        failing = [r for r in json.load(stream)["results"] if r["status"] == "xfail" and r["check"] == "load"]
    assert len(failing) == 5, [r["test"] for r in failing]
    page = (output / "index.html").read_text()
    causes = {}
    for result in failing:
        script = output / result["repro"]
        assert result["repro"] == "repro/%s.py" % stem(result["test"]) and result["repro"] in page
        imported = set()
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module.split(".")[0])
        assert imported <= {"os", "inspect", "numpy", "tensorflow", "tensorflow_hub"}, imported
        text = script.read_text()
        assert "Runtime tf2.21: eager mode, device %s, api %s" % (result["device"], result["api"]) in text
        assert "tensorflow-cpu 2.21.0" in text and "TF_USE_LEGACY_KERAS=1" in text
        copied = dict(os.environ)
        copied.pop("TF_USE_LEGACY_KERAS", None)  # the script sets what its runtime sets
        ran = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=copied, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
        assert ran.returncode != 0, ran.stdout[-3000:]
        error_type, message = raised(ran.stdout)
        recorded = result["details"]["error"] if result["details"].get("error") else next(
            seen["error"] for _, seen in sorted(result["details"]["signatures"].items()) if seen.get("error"))
        causes[result["model"]] = classify(error_type or "", message).id
        assert causes[result["model"]] == recorded["cause"], (result["test"], ran.stdout[-3000:])
    assert causes == {"batch_one": "xla-unsupported-op", "hazard": "assertion-failed",
                      "no_shape_info": "shape-mismatch", "reference_output": "reference-typed-output",
                      "gpu_pinned": "api-absent"}


def _run(command, tmp_path, env=None, timeout=900):
    env = dict(env or os.environ, TFHUB_CACHE_DIR=str(tmp_path / "tfhub_cache"))
    env.pop("CONFORMANCE_RUN_ID", None)
    return subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)


def _report(tmp_path, reports, run_id, matrix=None):
    """The report of a run (expected failures get scripts too); its results by case id."""
    output = tmp_path / "report"
    report = _run([sys.executable, "-m", "conformance"] + (["--matrix", matrix] if matrix else []) + [
        "report", "--reports", str(reports), "--run-id", run_id, "--output", str(output), "--repro-expected"],
        tmp_path, timeout=600)
    assert report.returncode in (0, 1), report.stdout[-3000:]
    with open(str(output / "results.json")) as stream:
        return output, {r["test"]: r for r in json.load(stream)["results"]}


def _script(output, result, python, tmp_path):
    """Run a case's script with a runtime's interpreter, in a clean environment of the script's own."""
    assert result.get("repro") == "repro/%s.py" % stem(result["test"]), result
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TF_", "CONFORMANCE_"))}
    return subprocess.run([python, str(output / result["repro"])], cwd=str(tmp_path), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)


def _recorded_cause(result):
    details = result["details"]
    return details["error"]["cause"] if details.get("error") else next(
        seen["error"]["cause"] for _, seen in sorted(details["signatures"].items()) if seen.get("error"))


TF215_GRAPH = os.path.join(ROOT, ".tox", "tf2.15-graph", "bin", "python")
GRAPH_CELLS = ["gpu_pinned-tf2.15-graph-cpu-hub.load", "gpu_pinned-tf2.15-graph-cpu-saved_model",
               "hazard-tf2.15-graph-cpu-hub.KerasLayer", "hazard-tf2.15-graph-cpu-hub.load"]


@pytest.mark.tensorflow
@pytest.mark.skipif(not os.path.isfile(TF215_GRAPH), reason="needs the tf2.15-graph env (`tox -p` creates it)")
def test_graph_mode_scripts_reproduce_a_device_pin_and_an_assertion_through_each_api(tmp_path, zoo_dir):
    reports = tmp_path / "reports"
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}  # tf2.15's own env
    run = _run([TF215_GRAPH, "-m", "pytest", "cases/test_load.py", "-p", "no:cacheprovider", "-q", "-p", "no:xdist",
                "--runtime=tf2.15-graph", "--reports", str(reports), "--run-id", "g1", "-k", " or ".join(GRAPH_CELLS)],
               tmp_path, env=env)
    assert run.returncode == 0 and "4 xfailed" in run.stdout, run.stdout[-3000:]
    output, results = _report(tmp_path, reports, "g1")
    causes = {}
    for cell in GRAPH_CELLS:
        result = results["load[%s]" % cell]
        text = (output / result["repro"]).read_text()
        assert "Runtime tf2.15-graph: graph mode, device cpu, api %s" % result["api"] in text
        assert "tensorflow-cpu 2.15.1" in text
        ran = _script(output, result, TF215_GRAPH, tmp_path)
        assert ran.returncode != 0, ran.stdout[-3000:]
        error_type, message = raised(ran.stdout)
        causes[cell] = classify(error_type or "", message).id
        assert causes[cell] == _recorded_cause(result), (cell, ran.stdout[-3000:])
    assert causes == {GRAPH_CELLS[0]: "device-pinned", GRAPH_CELLS[1]: "device-pinned",
                      GRAPH_CELLS[2]: "assertion-failed", GRAPH_CELLS[3]: "assertion-failed"}


@pytest.mark.tensorflow
def test_a_numeric_script_prints_the_outputs_beyond_tolerance_of_the_reference(tmp_path, zoo_dir):
    # reusable_planted: reusable_tf1_written with kernel[0, 0] * (1 + 1e-4), held to its twin's golden
    reports = tmp_path / "reports"
    run = _run([sys.executable, "-m", "pytest", "cases/test_load.py", "-p", "no:cacheprovider", "-q", "-p", "no:xdist",
                "--runtime=tf2.21", "--reports", str(reports), "--run-id", "n1", "--models", "reusable_planted",
                "-k", "cpu and hub.load"], tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    compare = _run([sys.executable, "-m", "pytest", "cases/test_compare.py", "-p", "no:cacheprovider", "-q", "-p",
                    "no:xdist", "--compare=n1", "--reports", str(reports), "--against-goldens", "-k", "numeric"],
                   tmp_path)
    assert compare.returncode == 0 and "2 xfailed" in compare.stdout, compare.stdout[-3000:]
    output, results = _report(tmp_path, reports, "n1")
    for signature, outputs in (("serving_default", {"logits", "probabilities"}), ("__call__", {"default"})):
        result = results["numeric[reusable_planted-tf2.21-cpu-hub.load-%s]" % signature]
        assert "numeric-drift" in result["message"]
        text = (output / result["repro"]).read_text()
        assert "stage compare: numeric difference (numeric-drift)" in text and "tensorflow-cpu 2.21.0" in text
        assert (output / "repro" / (stem(result["test"]) + ".reference.npz")).is_file()
        ran = _script(output, result, sys.executable, tmp_path)
        assert ran.returncode != 0, ran.stdout[-3000:]
        error_type, message = raised(ran.stdout)
        assert error_type == "AssertionError" and message.startswith("numeric-drift: "), ran.stdout[-3000:]
        printed = {line.split()[1] for line in ran.stdout.splitlines() if line.startswith("differs ")}
        recorded = {d["path"] for d in result["details"]["details"]["differences"] if not d["ok"]}
        assert printed == recorded == {"%s.%s" % (signature, name) for name in outputs}, ran.stdout[-3000:]


CRASH_MATRIX = """
devices: [cpu]
apis: [hub.load]
expectations: []
runtimes:
  - id: tf2.21
    python: "3.11"
    tensorflow: tensorflow-cpu==2.21.0
    tensorflow_hub: tensorflow-hub==0.16.1
    extras: ["tf-keras==2.21.0", "setuptools<80"]
    mode: eager
    env: {TF_USE_LEGACY_KERAS: "1"}
models:
  - {id: crash, handle: %s, format: saved_model_v2, tags: [serve]}
"""


@pytest.mark.tensorflow
def test_a_crash_script_kills_its_process_with_the_same_signal_and_message(tmp_path):
    hostile = tmp_path / "hostile"
    built = _run([sys.executable, os.path.join(ROOT, "tests", "hostile_models.py"), str(hostile)], tmp_path,
                 env=dict(os.environ, HOSTILE_TARGET=str(tmp_path / "written")))
    assert (hostile / "crash").is_dir(), built.stdout[-3000:]
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(CRASH_MATRIX % (hostile / "crash"))
    reports = tmp_path / "reports"
    run = _run([sys.executable, "-m", "pytest", "cases/test_load.py", "--runtime=tf2.21", "--matrix", str(matrix),
                "-p", "no:cacheprovider", "-q", "-p", "no:xdist", "--reports", str(reports), "--run-id", "c1"], tmp_path)
    assert run.returncode == 1, run.stdout[-3000:]
    output, results = _report(tmp_path, reports, "c1", matrix=str(matrix))
    result = results["load[crash-tf2.21-cpu-hub.load]"]
    assert result["status"] == "crash" and "SIGABRT" in result["message"]
    assert (output / "repro" / (stem(result["test"]) + ".inputs.npz")).is_file()  # what it fed before it died
    ran = _script(output, result, sys.executable, tmp_path)
    assert ran.returncode == -6, ran.stdout[-3000:]  # SIGABRT, as the run's executor died
    assert "hostile model: intentional abort" in ran.stdout and "hostile model: intentional abort" in \
        result["details"]["error"]["message"]


TF221_KERAS3 = os.path.join(ROOT, ".tox", "tf2.21-keras3", "bin", "python")
TRAIN_CASES = {  # a Keras 3 model meeting tf-keras's hub.KerasLayer, and fine-tuning tensorflow_hub refuses
    "train[reusable_tf2_written-tf2.21-keras3-cpu-hub.KerasLayer]": "keras-mismatch",
    "train[reusable_tf2_written-tf2.21-keras3-cpu-hub.KerasLayer-frozen]": "keras-mismatch",
    "train[reusable_tf2_written-tf2.21-keras3-cpu-hub.KerasLayer-signature]": "fine-tune-unsupported",
    "train[image_features-tf2.21-keras3-cpu-hub.KerasLayer]": "fine-tune-unsupported",
    "train[image_features-tf2.21-keras3-cpu-hub.load]": "fine-tune-unsupported",
}


def script_cause(output):
    """The cause a script's last exception shows: a check the script makes itself names its cause first
    (``AssertionError: no-progress: ...``), TensorFlow's and tensorflow_hub's own errors are classified."""
    error_type, message = raised(output)
    named = re.match(r"^([a-z]+(?:-[a-z]+)*): ", message)
    if error_type == "AssertionError" and named:
        return named.group(1)
    return classify(error_type or "", message).id


@pytest.mark.tensorflow
@pytest.mark.skipif(not os.path.isfile(TF221_KERAS3), reason="needs the tf2.21-keras3 env (`tox -p` creates it)")
def test_train_scripts_take_the_step_and_fail_with_the_recorded_cause(tmp_path, zoo_dir):
    reports = tmp_path / "reports"
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}  # as tox runs it
    run = _run([TF221_KERAS3, "-m", "pytest", "cases/test_load.py", "cases/test_train.py", "-p", "no:cacheprovider",
                "-q", "-p", "no:xdist", "--runtime=tf2.21-keras3", "--reports", str(reports), "--run-id", "t1",
                "--models", "reusable_tf2_written,image_features", "-k", "cpu"], tmp_path, env=env)
    assert run.returncode == 0, run.stdout[-3000:]
    output, results = _report(tmp_path, reports, "t1")
    for case, cause in sorted(TRAIN_CASES.items()):
        result = results[case]
        assert result["status"] == "xfail" and result["details"]["train"]["cause"] == cause, result
        assert "Runtime tf2.21-keras3: eager mode, device cpu, api %s" % result["api"] in \
            (output / result["repro"]).read_text()
        ran = _script(output, result, TF221_KERAS3, tmp_path)
        assert ran.returncode != 0 and script_cause(ran.stdout) == cause, (case, ran.stdout[-3000:])
    passing = results["train[reusable_tf2_written-tf2.21-keras3-cpu-hub.load]"]
    assert passing["status"] == "pass" and not passing.get("repro")  # a passing step gets no script


@pytest.mark.tensorflow
def test_gradient_and_step_scripts_hold_the_step_to_the_reference_runtimes(tmp_path, zoo_dir):
    # reusable_training_ignored: its __call__ ignores `training`; its step is held to its twin's in tf2.21
    reports = tmp_path / "reports"
    run = _run([sys.executable, "-m", "pytest", "cases/test_load.py", "cases/test_train.py", "-p", "no:cacheprovider",
                "-q", "-p", "no:xdist", "--runtime=tf2.21", "--reports", str(reports), "--run-id", "s1", "--models",
                "reusable_tf2_written,reusable_training_ignored", "-k", "cpu and (hub.load or saved_model)"], tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    compare = _run([sys.executable, "-m", "pytest", "cases/test_compare.py", "-p", "no:cacheprovider", "-q", "-p",
                    "no:xdist", "--compare=s1", "--reports", str(reports), "-k", "gradient or step"], tmp_path)
    assert compare.returncode == 0 and "4 xfailed" in compare.stdout, compare.stdout[-3000:]
    output, results = _report(tmp_path, reports, "s1")
    for check, cause in (("gradient", "gradient-drift"), ("step", "step-drift")):
        for api in ("hub.load", "saved_model"):
            result = results["%s[reusable_training_ignored-tf2.21-cpu-%s-train]" % (check, api)]
            assert cause in result["message"]
            assert "stage compare" in (output / result["repro"]).read_text()
            ran = _script(output, result, sys.executable, tmp_path)
            assert ran.returncode != 0 and script_cause(ran.stdout) == cause, ran.stdout[-3000:]
            printed = {line.split()[1] for line in ran.stdout.splitlines() if line.startswith("differs ")}
            recorded = {d["path"] for d in result["details"]["details"]["differences"] if not d["ok"]}
            assert printed == recorded and printed, ran.stdout[-3000:]
    twin = results["gradient[reusable_tf2_written-tf2.21-cpu-hub.load-train]"]
    assert twin["status"] == "pass" and not twin.get("repro")


def _imports(text):
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    return imported


STDLIB = {"os", "inspect", "json", "socket", "sys", "tempfile", "traceback"}


@pytest.mark.tensorflow
def test_semantics_and_cost_scripts_compute_every_output_and_each_alone(tmp_path, zoo_dir):
    # hazard: `sqrt` asserts x >= 0 and fails on the agreed inputs; the TF1 code fetched only `default`
    reports = tmp_path / "reports"
    run = _run([sys.executable, "-m", "pytest", "cases/test_load.py", "cases/test_semantics.py", "-p",
                "no:cacheprovider", "-q", "-p", "no:xdist", "--runtime=tf2.21", "--reports", str(reports), "--run-id",
                "m1", "--models", "hazard", "-k", "cpu and (hub.load or hub.KerasLayer)"], tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    output, results = _report(tmp_path, reports, "m1")
    for case, cause in (("semantics[hazard-tf2.21-cpu-hub.load-default]", "migration-hazard"),
                        ("semantics[hazard-tf2.21-cpu-hub.KerasLayer-default]", "migration-hazard"),
                        ("cost[hazard-tf2.21-cpu-hub.load-default]", "overhead")):
        result = results[case]
        assert result["status"] == "xfail" and cause in result["message"], result
        text = (output / result["repro"]).read_text()
        assert "Runtime tf2.21: eager mode, device cpu, api %s" % result["api"] in text
        assert _imports(text) <= STDLIB | {"numpy", "tensorflow", "tensorflow_hub"}
        ran = _script(output, result, sys.executable, tmp_path)
        assert ran.returncode != 0 and script_cause(ran.stdout) == cause, (case, ran.stdout[-3000:])
        if result["check"] == "semantics":  # the all-outputs call fails as the run's did
            failing = next(line for line in ran.stdout.splitlines() if line.startswith("all outputs: fails: "))
            error_type, _, message = failing[len("all outputs: fails: "):].partition(": ")
            assert classify(error_type, message).id == result["details"]["semantics"]["all"]["cause"], failing
    alone = (output / results["semantics[hazard-tf2.21-cpu-hub.load-default]"]["repro"]).read_text()
    ran = _script(output, results["semantics[hazard-tf2.21-cpu-hub.load-default]"], sys.executable, tmp_path)
    assert "alone: default works" in ran.stdout and "alone: sqrt fails: InvalidArgumentError" in ran.stdout, alone
    counted = _script(output, results["cost[hazard-tf2.21-cpu-hub.load-default]"], sys.executable, tmp_path)
    recorded = results["cost[hazard-tf2.21-cpu-hub.load-default]"]["details"]["ops"]
    assert "(%d vs %d;" % (recorded["*"], recorded["default"]) in counted.stdout, counted.stdout[-2000:]


@pytest.mark.tensorflow
def test_cluster_scripts_train_on_a_loopback_parameter_server_with_and_without_the_flag(tmp_path, zoo_dir):
    reports = tmp_path / "reports"
    run = _run([sys.executable, "-m", "pytest", "cases/test_load.py", "cases/test_cluster.py", "-p",
                "no:cacheprovider", "-q", "-p", "no:xdist", "--runtime=tf2.21", "--reports", str(reports), "--run-id",
                "p1", "--models", "reusable_tf2_written,reusable_tf1_written", "-k", "cpu and hub.load"], tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    output, results = _report(tmp_path, reports, "p1")
    expected = {"cluster[reusable_tf2_written-tf2.21-cpu-hub.load-unshared]": "remote-device-unshared",
                "cluster[reusable_tf1_written-tf2.21-cpu-hub.load-unshared]": "remote-device-unshared",
                "cluster[reusable_tf1_written-tf2.21-cpu-hub.load-shared]": "function-device-pinned"}
    for case, cause in sorted(expected.items()):
        result = results[case]
        assert result["status"] == "xfail" and result["details"]["error"]["cause"] == cause, result
        text = (output / result["repro"]).read_text()
        assert "SHARED = %s" % case.endswith("-shared]") in text and _imports(text) <= STDLIB | {
            "numpy", "tensorflow", "tensorflow_hub"}
        ran = _script(output, result, sys.executable, tmp_path)
        assert ran.returncode == 1 and script_cause(ran.stdout) == cause, (case, ran.stdout[-3000:])
    passing = results["cluster[reusable_tf2_written-tf2.21-cpu-hub.load-shared]"]
    assert passing["status"] == "pass" and not passing.get("repro")  # the flag is the documented fix


COUNTER_MODEL = """
import sys
import tensorflow as tf


class Counted(tf.Module):
    def __init__(self):
        super(Counted, self).__init__()
        self.count = tf.Variable(0.0, trainable=False)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def increment(self, x):
        self.count.assign_add(1.0)
        return {"default": x * 3.0, "counted": x + self.count}

    @tf.function(input_signature=[])
    def read(self):
        return {"default": tf.identity(self.count)}


module = Counted()
tf.saved_model.save(module, sys.argv[1], signatures={"increment": module.increment, "counter": module.read})
"""

COUNTER_MATRIX = """
devices: [cpu]
apis: [saved_model, hub.load]
expectations: []
runtimes:
  - id: tf2.21-graph
    python: "3.11"
    tensorflow: tensorflow-cpu==2.21.0
    tensorflow_hub: tensorflow-hub==0.16.1
    extras: ["tf-keras==2.21.0", "setuptools<80"]
    mode: graph
    env: {TF_USE_LEGACY_KERAS: "1"}
models:
  - {id: counted, handle: %s, signatures: [increment], fetch: {increment: [default]}, counter: counter}
"""


@pytest.mark.tensorflow
def test_a_proof_script_reads_the_counter_around_two_calls_as_the_case_did(tmp_path):
    # A TF2 SavedModel's signature is one function call: the TF1 loader's session cannot run `default` without
    # the increment, so the counter moves where the proof expects the lazy graph api not to move it
    model = tmp_path / "counted"
    built = _run([sys.executable, "-c", COUNTER_MODEL, str(model)], tmp_path)
    assert built.returncode == 0, built.stdout[-3000:]
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(COUNTER_MATRIX % model)
    reports = tmp_path / "reports"
    run = _run([sys.executable, "-m", "pytest", "cases/test_load.py", "cases/test_semantics.py", "--matrix",
                str(matrix), "-p", "no:cacheprovider", "-q", "-p", "no:xdist", "--runtime=tf2.21-graph", "--reports",
                str(reports), "--run-id", "q1", "-k", "load or proof"], tmp_path)
    output, results = _report(tmp_path, reports, "q1", matrix=str(matrix))
    failing = results["proof[counted-tf2.21-graph-cpu-saved_model-increment]"]
    assert failing["status"] == "fail" and "semantics-changed" in failing["message"], run.stdout[-3000:]
    assert failing["details"]["proof"]["delta"] == 2
    ran = _script(output, failing, sys.executable, tmp_path)
    assert ran.returncode != 0 and script_cause(ran.stdout) == "semantics-changed", ran.stdout[-3000:]
    assert "moved by 2.0 over 2 call(s)" in ran.stdout
    assert results["proof[counted-tf2.21-graph-cpu-hub.load-increment]"]["status"] == "pass"


GRAPH_TRAIN_CASES = {  # Keras's graph-mode gradient of a restored Reusable call; hub.load of a TF1 Hub module
    "train[reusable_tf2_written-tf2.15-graph-cpu-hub.KerasLayer]": "function-gradient-broken",
    "train[hazard-tf2.15-graph-cpu-hub.KerasLayer-frozen]": "assertion-failed",
    "train[image_features-tf2.15-graph-cpu-hub.load]": "fine-tune-unsupported",
}


@pytest.mark.tensorflow
@pytest.mark.skipif(not os.path.isfile(TF215_GRAPH), reason="needs the tf2.15-graph env (`tox -p` creates it)")
def test_graph_mode_train_scripts_build_the_step_and_run_it_in_a_session(tmp_path, zoo_dir):
    reports = tmp_path / "reports"
    env = {key: value for key, value in os.environ.items() if key != "TF_USE_LEGACY_KERAS"}
    run = _run([TF215_GRAPH, "-m", "pytest", "cases/test_load.py", "cases/test_train.py", "-p", "no:cacheprovider",
                "-q", "-p", "no:xdist", "--runtime=tf2.15-graph", "--reports", str(reports), "--run-id", "h1",
                "--models", "reusable_tf2_written,hazard,image_features", "-k", "cpu and (hub.load or hub.KerasLayer)"],
               tmp_path, env=env)
    assert run.returncode == 0, run.stdout[-3000:]
    output, results = _report(tmp_path, reports, "h1")
    for case, cause in sorted(GRAPH_TRAIN_CASES.items()):
        result = results[case]
        assert result["status"] == "xfail" and result["details"]["train"]["cause"] == cause, result
        assert "Runtime tf2.15-graph: graph mode, device cpu, api %s" % result["api"] in \
            (output / result["repro"]).read_text()
        ran = _script(output, result, TF215_GRAPH, tmp_path)
        assert ran.returncode != 0 and script_cause(ran.stdout) == cause, (case, ran.stdout[-3000:])
    passing = results["train[reusable_tf2_written-tf2.15-graph-cpu-hub.load]"]
    assert passing["status"] == "pass" and not passing.get("repro")


TF115_GRAPH = os.path.join(ROOT, ".tox", "tf1.15-graph", "bin", "python")


@pytest.mark.tensorflow
@pytest.mark.skipif(not os.path.isfile(TF115_GRAPH), reason="needs the tf1.15-graph env (`tox -p` creates it)")
def test_a_hub_module_train_script_takes_the_step_tf1_code_takes(tmp_path, zoo_dir):
    # No zoo model fails hub.Module's step; the script of a passing one (asked for as if it had failed) must
    # take the same step, with the module's `train` tags and UPDATE_OPS, and find nothing to report
    reports = tmp_path / "reports"
    run = _run([TF115_GRAPH, "-m", "pytest", "cases/test_load.py", "cases/test_train.py", "-p", "no:cacheprovider",
                "-q", "-p", "no:xdist", "--runtime=tf1.15-graph", "--reports", str(reports), "--run-id", "u1",
                "--models", "image_features", "-k", "cpu and hub.Module"], tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    output, results = _report(tmp_path, reports, "u1")
    case = "train[image_features-tf1.15-graph-cpu-hub.Module]"
    assert results[case]["status"] == "pass" and results[case]["details"]["train"]["tags"] == ["train"]
    with open(str(output / "results.json")) as stream:
        document = json.load(stream)
    for result in document["results"]:
        result["status"] = "fail" if result["test"] == case else result["status"]
    assert write(document, str(reports / "runs"), str(tmp_path / "asked"), {}) == []
    text = (tmp_path / "asked" / "repro" / (stem(case) + ".py")).read_text()
    assert "hub.Module(HANDLE, trainable=True, tags=['train'])" in text and "UPDATE_OPS" in text
    ran = _script(tmp_path / "asked", next(r for r in document["results"] if r["test"] == case), TF115_GRAPH,
                  tmp_path)
    assert ran.returncode == 0 and "no error: the recorded failure did not reproduce" in ran.stdout, \
        ran.stdout[-3000:]
    before, after = re.search(r"loss before the step (\S+) \| after (\S+)", ran.stdout).groups()
    assert float(after) < float(before)
