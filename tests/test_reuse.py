"""Reuse of unchanged cells: every part of a case's key invalidates it, the store is bounded and safe, and a
real runtime run replays what an earlier one stored, settled against today's expectations (TF 2.21)."""
import json
import os
import shutil
import subprocess
import sys

import numpy
import pytest

from conformance.cases import runtime_cases
from conformance.matrix import load_matrix
from conformance.reuse.key import CaseKeys, installed_distributions
from conformance.reuse.store import ReuseStore
from conformance.observations import read_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MATRIX = """\
devices: [cpu]
apis: [hub.load, saved_model]
expectations: expectations.yaml
case_timeout: 300
runtimes:
  - id: tf2.21
    python: "3.11"
    tensorflow: tensorflow-cpu==2.21.0
    tensorflow_hub: tensorflow-hub==0.16.1
    extras: ["tf-keras==2.21.0", "setuptools<80"]
    mode: eager
    env: {TF_USE_LEGACY_KERAS: "1"}
models:
  - {id: first, handle: models/reusable_tf2_written}
  - {id: second, handle: models/serving_tf2}
"""


@pytest.fixture
def project(tmp_path, zoo_dir):
    """A matrix of two zoo models copied under tmp_path (so that a test can change their files)."""
    for name in ("reusable_tf2_written", "serving_tf2"):
        shutil.copytree(os.path.join(zoo_dir, name), str(tmp_path / "models" / name))
    (tmp_path / "matrix.yaml").write_text(MATRIX)  # handles relative to it, as users write them
    (tmp_path / "expectations.yaml").write_text("[]\n")
    return tmp_path


def _keys(project, roots, **changes):
    matrix = load_matrix(str(project / "matrix.yaml"))
    runtime = matrix.runtime("tf2.21")
    keys = CaseKeys(matrix, runtime, {"zoo": str(project)}, roots, environ={}, sandbox="none", **changes)
    return {case.id: keys.of(case, matrix.model(case.model))
            for case in runtime_cases(matrix, runtime, "load", {"tensorflow": "2.21.0", "tensorflow_hub": "0.16.1"})}


def _framework_copy(tmp_path):
    roots = [str(tmp_path / "framework" / "conformance"), str(tmp_path / "framework" / "cases")]
    shutil.copytree(os.path.join(ROOT, "conformance"), roots[0], ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(os.path.join(ROOT, "cases"), roots[1], ignore=shutil.ignore_patterns("__pycache__"))
    return roots


def test_every_part_of_the_key_invalidates_and_nothing_else_does(project, tmp_path):
    roots = _framework_copy(tmp_path)
    before = _keys(project, roots)
    assert len(before) == 4 and len(set(before.values())) == 4 and None not in before.values()

    (project / "expectations.yaml").write_text("- {match: {model: second}, status: fail, reason: planted}\n")
    matrix = (project / "matrix.yaml").read_text()
    (project / "matrix.yaml").write_text(matrix + "  - {id: other, handle: models/serving_tf2}\n")
    assert {k: v for k, v in _keys(project, roots).items() if "other" not in k} == before, \
        "expectations and other models decide nothing a case observes"
    (project / "matrix.yaml").write_text(matrix)

    with open(str(project / "models" / "serving_tf2" / "saved_model.pb"), "ab") as stream:
        stream.write(b"\0")  # a changed model file: that model's cases only
    changed = _keys(project, roots)
    assert {k for k in before if changed[k] != before[k]} == {k for k in before if "second" in k}

    (project / "matrix.yaml").write_text(matrix.replace("case_timeout: 300", "case_timeout: 301"))
    assert not set(_keys(project, roots).values()) & set(changed.values()), "a matrix setting: every case"
    (project / "matrix.yaml").write_text(matrix.replace("reusable_tf2_written}", "reusable_tf2_written, batch: 3}"))
    entry = _keys(project, roots)
    assert {k for k in changed if entry[k] != changed[k]} == {k for k in changed if "first" in k}, \
        "a model's entry: that model's cases"
    (project / "matrix.yaml").write_text(matrix)

    (project / "matrix.yaml").write_text(matrix.replace(
        "reusable_tf2_written}", "reusable_tf2_written, inputs: {serving_default: {x: {npz: inputs.npz}}}}"))
    numpy.savez(str(project / "inputs.npz"), x=numpy.zeros(3, numpy.float32))
    with_inputs = _keys(project, roots)
    numpy.savez(str(project / "inputs.npz"), x=numpy.ones(3, numpy.float32))
    other_inputs = _keys(project, roots)
    assert {k for k in with_inputs if other_inputs[k] != with_inputs[k]} == {k for k in changed if "first" in k}, \
        "the npz file a model's inputs name: that model's cases"
    (project / "matrix.yaml").write_text(matrix)

    with open(os.path.join(roots[0], "checks", "load.py"), "a") as stream:
        stream.write("\n# a changed framework file\n")
    assert not set(_keys(project, roots).values()) & set(changed.values()), "a framework file: every case"


def test_a_changed_package_version_invalidates(project, tmp_path):
    """The key reads the distributions installed where the runtime runs (importlib.metadata on sys.path)."""
    roots = _framework_copy(tmp_path)
    site = tmp_path / "site"

    def keys_with(version):
        shutil.rmtree(str(site), ignore_errors=True)
        info = site / "planted_dist-{}.dist-info".format(version)
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: planted-dist\nVersion: %s\n" % version)
        code = ("import json, sys; sys.path.insert(0, %r); sys.path.insert(0, %r); "
                "from conformance.reuse.key import installed_distributions as d; print(json.dumps(d()))"
                % (ROOT, str(site)))
        found = json.loads(subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, check=True,
                                          universal_newlines=True).stdout)
        return found, _keys(project, roots, distributions=found)

    (one, first), (two, second) = keys_with("1.0"), keys_with("1.1")
    assert one["planted-dist"] == "1.0" and two["planted-dist"] == "1.1"
    assert not set(first.values()) & set(second.values())
    assert "numpy" in installed_distributions()


def test_the_store_is_whole_or_absent_bounded_and_marks_flaky_keys(tmp_path):
    observations = tmp_path / "obs"
    (observations / "outputs").mkdir(parents=True)
    (observations / "outputs" / "a.npz").write_bytes(b"x" * 4000)
    store = ReuseStore(str(tmp_path / "store"), limit=10000)
    fields = {"signatures": {"s": {"outputs_file": "outputs/a.npz"}}, "loaded": True}
    assert store.put("aa11", "r1", "pass", {"cause": None}, fields, str(observations))
    assert not store.put("aa11", "r2", "pass", {"cause": None}, fields, str(observations)), "the first one stays"
    assert not store.put("bb22", "r1", "pass", {}, {"x": "outputs/missing.npz"}, str(observations)), \
        "a case whose file is gone is not stored"
    stored = store.get("aa11")
    assert stored.run_id == "r1" and stored.fields == fields
    target = tmp_path / "run2"
    stored.copy_files(str(target))
    assert (target / "outputs" / "a.npz").read_bytes() == b"x" * 4000
    for key in ("cc33", "dd44"):
        store.put(key, "r1", "pass", {"cause": None}, fields, str(observations))
    os.utime(str(tmp_path / "store" / "aa" / "aa11" / "entry.json"), (1, 1))  # the least recently used
    assert store.prune() >= 1 and store.get("aa11") is None and store.get("dd44") is not None
    store.mark_flaky("dd44")
    assert store.is_flaky("dd44") and store.get("dd44") is None
    assert not os.listdir(str(tmp_path / "store" / ".staging")), "nothing half-written is left"


def _run(project, run_id, *args, fresh="0"):
    command = [sys.executable, "-m", "pytest", "cases", "--runtime=tf2.21", "--matrix", str(project / "matrix.yaml"),
               "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "--reports", str(project / "reports"),
               "--run-id", run_id, "--ignore", "cases/test_cluster.py"] + list(args)
    env = dict(os.environ, TFHUB_CACHE_DIR=str(project / "tfhub_cache"), CONFORMANCE_FRESH=fresh,
               CONFORMANCE_REUSE_DIR=str(project / "store"))
    env.pop("CONFORMANCE_RUN_ID", None)
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=600)
    cases, info = {}, {}
    for _, document in read_run(str(project / "reports"), run_id):
        cases.update(document["cases"])
        info = document["run_info"]
    return result, cases, info


@pytest.mark.tensorflow
def test_a_second_run_replays_the_first_and_settles_against_todays_expectations(project):
    first, ran, _ = _run(project, "r1")
    assert first.returncode == 0, first.stdout[-3000:]
    assert not any("reused_from" in entry for entry in ran.values())
    stored = len(ran) - sum(1 for entry in ran.values() if "-gpu" in entry.get("nodeid", ""))

    second, reused, info = _run(project, "r2")
    assert second.returncode == 0, second.stdout[-3000:]
    assert "reuse: %d cases reused from r1" % stored in second.stdout, second.stdout[-2000:]
    assert info.get("executor_started") is False, "nothing to run: TensorFlow never started"
    for case_id, entry in ran.items():
        again = reused[case_id]
        assert (again["status"], again["message"]) == (entry["status"], entry["message"]), case_id
        if entry["status"] == "pass" and entry["check"] == "load":
            assert again["reused_from"] == "r1" and again["signatures"] == entry["signatures"]
            for seen in again["signatures"].values():
                if seen.get("outputs_file"):
                    assert os.path.isfile(str(project / "reports" / "runs" / "r2" / "tf2.21" / seen["outputs_file"]))

    (project / "expectations.yaml").write_text(
        "- {match: {check: load, model: first, api: hub.load}, status: fail, cause: api-absent,"
        " reason: planted to be wrong}\n")
    settled, today, _ = _run(project, "r3")
    assert settled.returncode == 1 and "unexpected pass: expected fail because planted to be wrong" in settled.stdout
    assert today["load[first-tf2.21-cpu-hub.load]"]["reused_from"] == "r1"
    (project / "expectations.yaml").write_text("[]\n")

    (project / "models" / "serving_tf2" / "assets").mkdir(exist_ok=True)
    (project / "models" / "serving_tf2" / "assets" / "note.txt").write_text("a changed file\n")
    changed, after, _ = _run(project, "r4")
    assert changed.returncode == 0, changed.stdout[-3000:]
    ran_again = sorted(c for c, entry in after.items() if "reused_from" not in entry and "-gpu" not in c)
    assert ran_again and all("second" in c for c in ran_again), ran_again
    assert all("reused_from" in entry for c, entry in after.items() if "first" in c and "-gpu" not in c)

    fresh, all_run, _ = _run(project, "r5", "--fresh")
    assert fresh.returncode == 0 and not any("reused_from" in entry for entry in all_run.values())
    assert "reuse:" not in fresh.stdout
