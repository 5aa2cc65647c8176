"""A handle alone gives every comparison: signatures come from what the runtimes saw, the reference is the
first runtime where the model ran, and a comparison that compares nothing fails."""
import os
import subprocess
import sys

import numpy as np

from conformance.observations import Recorder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATRIX = """
runtimes:
  - {id: tf1, python: "3.7", tensorflow: tensorflow==1.15.5, tensorflow_hub: tensorflow-hub==0.12.0, mode: graph}
  - {id: tf2, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
     mode: eager}
  - {id: tf3, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
     mode: eager}
devices: [cpu]
apis: [hub.load]
models:
  - {id: m, handle: /m}
"""
DESCRIPTION = {"inputs": {"x": {"dtype": "float32", "shape": [None], "kind": "dense"}},
               "outputs": {"y": {"dtype": "float32", "shape": [None], "kind": "dense"}}}


def record(reports, runtime, outputs=None, loaded=True):
    """A load case of model m in ``runtime``: ``outputs`` per signature, or a failed load."""
    recorder = Recorder(str(reports), "r1", runtime, "gw0", {"tensorflow": runtime, "mode": "eager"})
    case = "load[m-%s-cpu-hub.load]" % runtime
    recorder.begin(case, {"check": "load", "model": "m", "runtime": runtime, "device": "cpu", "api": "hub.load"})
    signatures = {}
    for signature, y in (outputs or {}).items():
        stored = recorder.save_outputs("m-cpu-hub_load-%s" % signature.replace("/", "_"), {"y": np.float32(y)})
        signatures[signature] = {"description": DESCRIPTION, "inputs_fingerprint": "f00d", "outputs_file": stored,
                                 "repeat_differs": []}
    recorder.update(case, status="pass" if loaded else "fail", loaded=loaded, signatures=signatures,
                    signatures_seen=sorted(signatures))
    recorder.close()


def run_compare(tmp_path):
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX)
    command = [sys.executable, "-m", "pytest", os.path.join(ROOT, "cases", "test_compare.py"), "-p",
               "no:cacheprovider", "-q", "-p", "no:xdist", "-rfEs", "--matrix", str(matrix), "--goldens",
               str(tmp_path / "goldens"), "--rootdir", ROOT, "--compare", str(tmp_path / "reports" / "runs" / "r1")]
    return subprocess.run(command, cwd=ROOT, env=dict(os.environ, COLUMNS="2000"), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)


def test_signatures_seen_are_compared_against_the_first_runtime_that_ran(tmp_path):
    record(tmp_path / "reports", "tf1", loaded=False)  # e.g. written by a newer TF: never loads in TF 1.15
    record(tmp_path / "reports", "tf2", {"serving_default": [1.0, 2.0], "tensorflow/serving/regress": [3.0]})
    record(tmp_path / "reports", "tf3", {"serving_default": [1.0, 2.5], "tensorflow/serving/regress": [3.0]})
    result = run_compare(tmp_path)
    assert result.returncode == 1, result.stdout
    assert ("numeric[m-tf3-cpu-hub.load-serving_default]: numeric-drift: vs tf2 cpu hub.load: serving_default.y"
            in result.stdout), "the reference is tf2, where the model first loaded and ran"
    # 2 inputs + 2 cells x 2 signatures x 3 checks, by name (another registered check adds its own cases)
    from conformance.report import results

    statuses = {r["test"]: r["status"] for r in results.collect([str(tmp_path / "reports" / "runs" / "r1")])["results"]
                if r["check"] in ("inputs", "signature", "numeric", "repeat")}
    signatures = ("serving_default", "tensorflow/serving/regress")
    expected = {"inputs[m-%s]" % s: "pass" for s in signatures}
    expected.update({"%s[m-%s-cpu-hub.load-%s]" % (c, r, s): "pass" for c in ("signature", "numeric", "repeat")
                     for r in ("tf2", "tf3") for s in signatures})
    expected["numeric[m-tf3-cpu-hub.load-serving_default]"] = "fail"
    assert statuses == expected, result.stdout


def test_a_comparison_of_nothing_fails_with_the_reason(tmp_path):
    record(tmp_path / "reports", "tf1", loaded=False)
    record(tmp_path / "reports", "tf2", loaded=False)
    result = run_compare(tmp_path)
    assert result.returncode == 1, result.stdout
    assert ("compared[m-*]: nothing-compared: nothing was compared for m: it loaded in no cell of this run "
            "(2 cells recorded)" in result.stdout)
