"""`python -m conformance bisect` end to end: real throwaway envs of two TensorFlow builds the runtimes
already installed (in uv's cache), the real case run in each, and what it prints and writes. The probes
install from the package index tox and uv use, as the command does: the 2.15.1 probe needs tf-keras 2.15,
which no runtime env holds, so a fresh machine's cache lacks it. The search itself is tested with a fake
probe in tests/test_bisect_search.py."""
import json
import os
import subprocess
import sys

import pytest

from conformance.bisect_probe import Target, outcome_of, parse_target, probe_runtime_entry
from conformance.matrix import load_matrix
from conformance.yaml_source import SourceError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Keras 3 became tf.keras in TF 2.16: in the tf2.21-keras3 runtime (no TF_USE_LEGACY_KERAS) a Keras model
# holding hub.KerasLayer trains on TF 2.15 and fails on 2.21. Both builds are cached: tf2.15-* and tf2.21 use them.
CASE = "train[reusable_tf2_written-tf2.21-keras3-cpu-hub.KerasLayer]"


@pytest.mark.tensorflow
def test_bisect_between_two_cached_releases_ends_at_the_pair_and_skips_a_build_that_cannot_install(
        tmp_path, zoo_dir):
    output = tmp_path / "bisect.json"
    env = dict(os.environ, CONFORMANCE_ZOO_DIR=zoo_dir)
    # 2.16.0 was never published: its probe cannot install, and must be neither good nor bad
    ran = subprocess.run([sys.executable, "-m", "conformance", "bisect", "test_" + CASE, "tensorflow-cpu==2.15.1",
                          "2.21.0", "--builds", "2.16.0", "--reports", str(tmp_path / "reports"),
                          "--output", str(output)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True, timeout=1200)
    assert ran.returncode == 0, ran.stdout[-3000:]
    result = json.loads(output.read_text())
    assert (result["last_good"]["build"], result["last_good"]["outcome"]) == ("2.15.1", "pass")
    assert (result["first_bad"]["build"], result["first_bad"]["outcome"]) == ("2.21.0", "fail (keras-mismatch)")
    assert result["last_good"]["git_version"].startswith("v2.15.")
    assert result["first_bad"]["git_version"].startswith("v2.21.")
    assert result["first_bad"]["distributions"]["tensorflow-cpu"] == "2.21.0"
    assert "tensorflow" not in result["first_bad"]["distributions"]  # the runtime's overrides held
    assert [p["build"] for p in result["probes"]] == ["2.15.1", "2.21.0", "2.16.0"]
    skipped = result["probes"][2]
    assert skipped["outcome"] is None and "install failed" in skipped["skipped"] and "2.16.0" in skipped["skipped"]
    assert result["skipped_between"] == ["2.16.0"] and result["target"] == CASE
    assert "last good: tensorflow-cpu==2.15.1" in ran.stdout and "first bad: tensorflow-cpu==2.21.0" in ran.stdout
    assert "probe tensorflow-cpu==2.16.0: skipped: install failed" in ran.stdout
    assert not os.path.exists(str(tmp_path / "reports" / "bisect" / "work" / "tf2.21-keras3-2.15.1" / "env"))


def test_targets_are_case_ids_in_every_spelling_or_cells():
    matrix = load_matrix(os.path.join(ROOT, "matrix.yaml"))
    expected = Target(runtime="tf2.21-keras3", model="reusable_tf2_written", device="cpu", case=CASE)
    for text in (CASE, "test_" + CASE, "cases/test_train.py::test_" + CASE):
        assert parse_target(text, matrix) == expected
    assert parse_target(CASE, matrix).keyword == "test_" + CASE
    cell = parse_target("hazard/tf2.21/xla", matrix)
    assert (cell.model, cell.runtime, cell.device, cell.case) == ("hazard", "tf2.21", "xla", None)
    assert cell.selects("load[hazard-tf2.21-xla-hub.load]", {"model": "hazard", "runtime": "tf2.21", "device": "xla"})
    assert not cell.selects("load[hazard-tf2.21-cpu-hub.load]", {"model": "hazard", "runtime": "tf2.21",
                                                                  "device": "cpu"})


@pytest.mark.parametrize("text, message", [
    ("hazard/tf9/cpu", r"'hazard/tf9/cpu': expected a case id such as .* or a cell MODEL/RUNTIME/DEVICE of .*matrix"),
    ("load[nope-tf2.21-cpu-hub.load]", r"no model and runtime of .*matrix.yaml start the case's parameters"),
])
def test_a_bad_target_is_one_line_naming_the_matrix(text, message):
    with pytest.raises(SourceError, match=message):
        parse_target(text, load_matrix(os.path.join(ROOT, "matrix.yaml")))


def test_a_release_probe_pins_tf_keras_to_its_minor_version_and_keeps_the_rest():
    entry = {"id": "tf2.21", "tensorflow": "tensorflow-cpu==2.21.0", "extras": ["tf-keras==2.21.0", "setuptools<80"]}
    probe = probe_runtime_entry(entry, "tensorflow-cpu", "2.17.1")
    assert probe["tensorflow"] == "tensorflow-cpu==2.17.1" and probe["extras"] == ["tf-keras~=2.17.0", "setuptools<80"]
    nightly = probe_runtime_entry({"id": "n", "tensorflow": "tf-nightly", "extras": ["tf-keras-nightly"]},
                                  "tf-nightly", "2.23.0.dev20261026")
    assert nightly["tensorflow"] == "tf-nightly==2.23.0.dev20261026" and nightly["extras"] == ["tf-keras-nightly"]


def test_the_outcome_is_the_raw_status_and_cause_not_the_verdict():
    assert outcome_of({"status": "xfail", "message": "reason (keras-mismatch: the layer ...) [expectations.yaml:27]"}) \
        == "fail (keras-mismatch)"
    assert outcome_of({"status": "fail", "message": "load[m-r-cpu-hub.load]: op-not-registered: Op type ..."}) \
        == "fail (op-not-registered)"
    assert outcome_of({"status": "pass"}) == "pass" and outcome_of({"status": "running"}) == "crash"


@pytest.mark.parametrize("argv, message", [
    (["load[hazard-tf2.21-cpu-hub.load]", "2.15.x", "2.21.0"],
     "bisect: '2.15.x': expected DISTRIBUTION==VERSION (tensorflow-cpu==2.17.0) or a bare version"),
    (["load[hazard-tf2.21-cpu-hub.load]", "tensorflow-cpu==2.15.1", "tf-nightly==2.23.0.dev20261026"],
     "both builds must be of one distribution"),
    (["load[hazard-tf2.21-cpu-hub.load]", "2.15.1", "2.21.0", "--builds", "2.17,x"], "bisect: --builds 2.17,x: "),
    (["hazard/tf2.21", "2.15.1", "2.21.0"], "expected a case id such as load[hazard-tf2.21-cpu-hub.load] or a cell"),
])
def test_bad_arguments_end_with_one_line_and_exit_2(argv, message):
    ran = subprocess.run([sys.executable, "-m", "conformance", "bisect"] + argv, cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert ran.returncode == 2 and message in ran.stderr and len(ran.stderr.strip().splitlines()) == 1, ran.stderr


def test_a_nightly_probe_is_the_runtime_it_declares_though_tf_version_spells_it_with_a_dash():
    # tf-nightly 2.22.0.dev20260701 says tf.__version__ == "2.22.0-dev20260701": before this, every nightly
    # probe ended with exit 4 ("not what matrix.yaml declares") and a nightly bisect could not run at all
    from conformance.runtime.tfmode import same_version

    assert same_version("2.22.0-dev20260701", "2.22.0.dev20260701") and same_version("2.21.0", "2.21.0")
    assert not same_version("2.23.0-dev20261026", "2.22.0.dev20260701") and not same_version("2.21.0", "2.21.1")
    assert not same_version("not a version", "2.21.0")
