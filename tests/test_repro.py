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
from conformance.report.repro import stem, wanted

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


def test_only_failing_load_and_numeric_cases_get_a_script_and_expected_ones_on_request():
    assert wanted({"check": "load", "status": "fail"}, False)
    assert not wanted({"check": "load", "status": "xfail"}, False) and wanted({"check": "load", "status": "xfail"}, True)
    assert not wanted({"check": "load", "status": "pass"}, True) and wanted({"check": "numeric", "status": "fail"}, False)
    assert not wanted({"check": "repeat", "status": "fail"}, True)
    assert stem("load[hazard-tf2.21-cpu-hub.load]") == "load-hazard-tf2.21-cpu-hub.load"


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
