"""The comparison side end to end on recorded observations (no TensorFlow): cases, messages, goldens, merge."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conformance.compare import checks
from conformance.compare.checks import Reference, check_signature
from conformance.compare.goldens import GoldenError, Goldens, bless
from conformance.compare.observed import Cell, ObservationError, Observed
from conformance.matrix import load_matrix
from conformance.observations import Recorder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATRIX = """
runtimes:
  - {id: tf1, python: "3.7", tensorflow: tensorflow==1.15.5, tensorflow_hub: tensorflow-hub==0.12.0, mode: graph}
  - {id: tf2, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
     mode: eager}
devices: [cpu]
apis: [hub.load]
models:
  - {id: m, handle: /m, signatures: [default], reference: tf1}
"""
DESCRIPTION = {"inputs": {"x": {"dtype": "float32", "shape": [None], "kind": "dense"}},
               "outputs": {"y": {"dtype": "float32", "shape": [None], "kind": "dense"}}}


def record(reports, run, runtime, y, fingerprint="f00d", description=DESCRIPTION, worker="gw0"):
    recorder = Recorder(str(reports), run, runtime, worker, {"tensorflow": runtime, "mode": "graph"})
    case = "load[m-%s-cpu-hub.load]" % runtime
    recorder.begin(case, {"check": "load", "model": "m", "runtime": runtime, "device": "cpu", "api": "hub.load"})
    outputs = recorder.save_outputs("m-cpu-hub_load-default", {"y": np.float32(y)})
    recorder.update(case, status="pass", loaded=True, signatures={"default": {
        "description": description, "inputs_fingerprint": fingerprint, "outputs_file": outputs,
        "repeat_differs": []}})
    recorder.close()


def run_compare(tmp_path, *args):
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX)
    command = [sys.executable, "-m", "pytest", os.path.join(ROOT, "cases", "test_compare.py"), "-p", "no:cacheprovider",
               "-q", "-p", "no:xdist", "--matrix", str(matrix), "--goldens", str(tmp_path / "goldens"),
               "--rootdir", ROOT] + list(args)
    env = dict(os.environ, COLUMNS="2000")  # keep the short summary's one-line diagnoses whole
    return subprocess.run(command + ["-rfE"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)


def test_drift_fails_with_path_and_figures(tmp_path):
    record(tmp_path / "reports", "r1", "tf1", [1.0, 2.0, 3.0])
    record(tmp_path / "reports", "r1", "tf2", [1.0, 2.0001, 3.0])
    result = run_compare(tmp_path, "--compare", str(tmp_path / "reports" / "runs" / "r1"))
    assert result.returncode == 1, result.stdout
    assert ("numeric[m-tf2-cpu-hub.load-default]: numeric-drift: vs tf1 cpu hub.load: default.y float32 [3]: "
            "1 of 3 outside rtol=1e-06 atol=1e-06 (default for float32); max abs 9.98974e-05, max rel 4.99487e-05; "
            "worst at [1]: 2.0000998973846436 vs reference 2.0" in result.stdout)
    # inputs; signature, numeric and repeat of each cell (the reference is held to itself too)
    assert "1 failed, 6 passed" in result.stdout


def test_input_mismatch_and_signature_difference(tmp_path):
    other = {"inputs": DESCRIPTION["inputs"],
             "outputs": {"y": {"dtype": "float64", "shape": [None], "kind": "dense"}}}
    record(tmp_path / "reports", "r1", "tf1", [1.0])
    record(tmp_path / "reports", "r1", "tf2", [1.0], fingerprint="beef", description=other)
    result = run_compare(tmp_path, "--compare", str(tmp_path / "reports" / "runs" / "r1"))
    assert "inputs[m-default]: input-mismatch: runtimes fed m.default different inputs: " in result.stdout
    assert "signature-mismatch: tf2 cpu hub.load vs tf1 cpu hub.load: output `y` dtype float64 vs float32" \
        in result.stdout


def test_shards_merge_and_duplicates_name_both_sources(tmp_path):
    record(tmp_path / "a", "r1", "tf1", [1.0])
    record(tmp_path / "b", "r1", "tf2", [1.0])
    merged = run_compare(tmp_path, "--compare", str(tmp_path / "a" / "runs" / "r1"),
                         "--compare", str(tmp_path / "b" / "runs" / "r1"))
    assert merged.returncode == 0, merged.stdout
    record(tmp_path / "c", "r1", "tf2", [1.0], worker="gw7")
    with pytest.raises(ObservationError, match=r"case load\[m-tf2-cpu-hub.load\] is recorded twice: in .*gw0.json "
                                               r"and in .*gw7.json"):
        Observed([str(tmp_path / "b" / "runs" / "r1"), str(tmp_path / "c" / "runs" / "r1")])


def test_one_runtime_alone_is_checked_against_goldens(tmp_path):
    record(tmp_path / "full", "r1", "tf1", [1.0, 2.0])
    matrix_path = tmp_path / "matrix.yaml"
    matrix_path.write_text(MATRIX)
    bless(Observed([str(tmp_path / "full" / "runs" / "r1")]), load_matrix(str(matrix_path)),
          str(tmp_path / "goldens"), "r1")
    record(tmp_path / "alone", "r2", "tf2", [1.0, 2.5])
    result = run_compare(tmp_path, "--compare", str(tmp_path / "alone" / "runs" / "r2"))
    assert "numeric[m-tf2-cpu-hub.load-default]: numeric-drift: vs golden (tf1 cpu hub.load, run r1)" in result.stdout


def test_stale_and_missing_goldens_are_named(tmp_path):
    record(tmp_path, "r1", "tf1", [1.0])
    matrix_path = tmp_path / "matrix.yaml"
    matrix_path.write_text(MATRIX)
    bless(Observed([str(tmp_path / "runs" / "r1")]), load_matrix(str(matrix_path)), str(tmp_path / "g"), "r1")
    goldens = Goldens(str(tmp_path / "g"))
    record_, outputs = goldens.lookup("m", "default", "f00d")
    assert outputs["y"].tolist() == [1.0] and record_["reference"] == "tf1 cpu hub.load"
    with pytest.raises(GoldenError, match=r"stale golden for m.default: its inputs f00d, this run's beef"):
        goldens.lookup("m", "default", "beef")
    with pytest.raises(GoldenError, match=r"no golden for m.tokens in .*: bless a run"):
        goldens.lookup("m", "tokens", "f00d")


def test_missing_signature_is_spelled_out():
    cell = Cell("m", "tf1.15-eager", "cpu", "hub.load", {"signatures": {"tokens": {"error": {
        "diagnosis": "signature tokens is not there under this api"}}}}, "/", "x.json", {})
    cause, _ = check_signature(cell, "tokens", Reference("ref", DESCRIPTION, {}, []))
    assert cause.diagnosis == ("signature `tokens` missing under hub.load in tf1.15-eager: signature tokens is "
                               "not there under this api")


def test_an_api_that_finds_other_trainable_variables_is_named():
    """The variables check holds each api's train step to the variables the first api's found in the same
    runtime and device: names may differ by api, the count and shapes may not."""
    from conformance.compare.checks import check_variables

    def trained(api, variables):
        return Cell("m", "tf2.21", "cpu", api, {"signatures": {"train": {"variables": variables}}}, "", "", {})

    module = trained("hub.Module", [["module/kernel:0", [4, 2]], ["module/bias:0", [2]]])
    same = trained("hub.load", [["kernel:0", [4, 2]], ["bias:0", [2]]])
    fewer = trained("hub.KerasLayer", [["keras_layer/kernel:0", [4, 2]]])
    assert check_variables(same, module)[0] is None
    cause, details = check_variables(fewer, module)
    assert cause.id == "variables-differ"
    assert cause.diagnosis == "hub.KerasLayer finds 1 trainable variables, hub.Module finds 2: 1 fewer of shape [2]"
    assert details["reference_variables"] == ["module/kernel:0", "module/bias:0"]


def test_a_signature_that_writes_state_is_stateful_not_nondeterministic():
    def cell(seen):
        return Cell("m", "tf2.21", "cpu", "hub.load", {"signatures": {"increment": seen}}, "", "", {})

    assert checks.check_repeat(cell({"repeat_differs": []}), "increment") == (None, {"repeat_differs": []})
    cause, _ = checks.check_repeat(cell({"repeat_differs": ["count"]}), "increment")
    assert cause.id == "nondeterministic", "nothing in the graph writes state: a difference is drift"
    with pytest.raises(checks.Stateful) as state:
        checks.check_repeat(cell({"repeat_differs": ["count"], "writes_state": ["AssignAddVariableOp inc"]}),
                            "increment")
    assert str(state.value).startswith("stateful: signature increment writes state (AssignAddVariableOp inc)")
    assert "outputs count changed between two calls" in str(state.value)
