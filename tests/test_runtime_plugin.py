"""The plugin in a real runtime process: cases from the matrix, run-info checks, observations on disk.

Runs pytest on cases/ in a subprocess with this env's TensorFlow (the tf2.21 pins)."""
import glob
import json
import os
import re
import subprocess
import sys

import pytest

from conformance import schema

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.tensorflow


def run_cases(tmp_path, *args, cases="cases/test_load.py", env=None):
    command = [sys.executable, "-m", "pytest", cases, "-p", "no:cacheprovider", "-q", "-rxs",
               "--reports", str(tmp_path / "reports"), "--run-id", "r1"] + list(args)
    env = dict(os.environ, TFHUB_CACHE_DIR=str(tmp_path / "tfhub_cache"), **(env or {}))
    env.pop("CONFORMANCE_RUN_ID", None)
    return subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600)


def observations(tmp_path, runtime):
    cases = {}
    documents = []
    for path in glob.glob(str(tmp_path / "reports" / "runs" / "r1" / runtime / "*.json")):
        with open(path) as stream:
            documents.append(json.load(stream))
        cases.update(documents[-1]["cases"])
    return documents, cases


def test_runtime_cases_record_outcomes_and_observations(tmp_path, zoo_dir):
    result = run_cases(tmp_path, "--runtime=tf2.21", "-k", "reusable_tf1_written or text_embed_url", "-n", "2",
                       "--dist", "loadgroup")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "cases: 9 passed, 7 xfailed (expected), 0 failed, 2 skipped" in result.stdout
    documents, cases = observations(tmp_path, "tf2.21")
    assert {d["worker"] for d in documents} <= {"gw0", "gw1"}
    info = documents[0]["run_info"]
    assert info["tensorflow"] == "2.21.0" and info["tensorflow_hub"] == "0.16.1" and info["mode"] == "eager"
    assert info["devices"]["gpu"]["available"] is False

    loaded = cases["load[reusable_tf1_written-tf2.21-cpu-hub.KerasLayer]"]
    assert loaded["status"] == "pass" and loaded["loaded"] is True
    assert loaded["signatures"]["serving_default"]["outputs"]["probabilities"]["shape"] == [2, 3]
    npz = os.path.join(str(tmp_path / "reports" / "runs" / "r1" / "tf2.21"),
                       loaded["signatures"]["__call__"]["outputs_file"])
    assert os.path.isfile(npz)

    absent = cases["load[text_embed_url-tf2.21-cpu-hub.Module]"]
    assert absent["status"] == "xfail" and absent["error"]["cause"] == "api-absent"
    assert "Traceback" in absent["error"]["traceback"], "the full error is kept for the report"

    url_case = cases["load[text_embed_url-tf2.21-cpu-hub.load]"]
    assert url_case["status"] == "pass", "the {zoo_url} handle went through hub's HTTP resolver"
    gpu = cases["load[text_embed_url-tf2.21-gpu]"]
    assert gpu["status"] == "skip" and gpu["api"] is None and "runtime tf2.21 has no gpu device" in gpu["message"]


def test_a_device_the_runtime_lacks_gets_its_load_cases_and_no_other(tmp_path, zoo_dir):
    result = run_cases(tmp_path, "--runtime=tf2.21", "-k", "hazard", "--collect-only", "-p", "no:xdist",
                       cases="cases")
    assert result.returncode == 0, result.stdout[-3000:]
    ids = [line for line in result.stdout.splitlines() if "::" in line and "[NOTSET]" not in line]
    files = {device: {i.split("::")[0] for i in ids if "-%s" % device in i} for device in ("cpu", "xla", "gpu")}
    assert files["xla"] == {"cases/test_load.py", "cases/test_semantics.py", "cases/test_train.py"}, files
    assert files["gpu"] == {"cases/test_load.py"}, "no gpu here: only a load case, which says so"
    assert [i.split("::")[1] for i in ids if "-gpu" in i] == ["test_load[hazard-tf2.21-gpu]"], "one, for no api"


def test_a_refused_load_says_so_once_and_its_pass_is_not_hidden(tmp_path, zoo_dir, write):
    """A load the expectations say is refused (hub.Module in tensorflow-hub 0.16: api-absent) gets no other
    checks, and its expected failure says so. Expectations that wrongly refuse hub.Module's successor leave
    out its checks too, but its load passes: an unexpected pass that fails the run."""
    result = run_cases(tmp_path, "--runtime=tf2.21", "-k", "hazard and cpu", "-p", "no:xdist", "--ignore",
                       "cases/test_train.py", "--ignore", "cases/test_cluster.py", cases="cases")
    assert result.returncode == 0, result.stdout[-3000:]
    _, cases = observations(tmp_path, "tf2.21")
    assert [i for i in cases if "hub.Module" in i] == ["load[hazard-tf2.21-cpu-hub.Module]"]
    refused = cases["load[hazard-tf2.21-cpu-hub.Module]"]
    assert refused["status"] == "xfail" and "its other checks are not generated" in refused["message"]
    assert cases["semantics[hazard-tf2.21-cpu-hub.load-default]"]["status"] == "xfail"

    def side_effect(*args):
        return run_cases(tmp_path, "--runtime=tf2.21", "-k", "side_effect and cpu and hub.load", "-p", "no:xdist",
                         "--ignore", "cases/test_train.py", *args, cases="cases")

    collected = side_effect("--collect-only")
    ids = re.findall(r"(?m)::test_(\w+)\[side_effect-tf2.21-cpu-hub.load[^\]]*\]$", collected.stdout)
    assert collected.returncode == 0 and {c: ids.count(c) for c in ("load", "semantics", "cost", "proof")} == {
        "load": 1, "semantics": 1, "cost": 1, "proof": 1}, "load, semantics, cost and proof: %s" % collected.stdout[-500:]
    write("wrong.yaml", """
        - match: {check: load, model: side_effect, api: hub.load}
          status: fail
          cause: api-absent
          reason: hub.load is gone (it is not)
        """)
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        matrix = write("matrix.yaml", stream.read().replace("expectations: expectations.yaml",
                                                            "expectations: wrong.yaml"))
    result = side_effect("--matrix", matrix, "--zoo", zoo_dir, "--run-id", "r2")
    assert result.returncode == 1, result.stdout[-3000:]
    assert ("load[side_effect-tf2.21-cpu-hub.load]: unexpected pass: expected fail because hub.load is gone"
            in result.stdout)
    assert "cases: 0 passed, 0 xfailed (expected), 1 failed, 0 skipped" in result.stdout, "only the load case"


def test_unexpected_outcome_fails_with_one_line_diagnosis(tmp_path, zoo_dir, write):
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        matrix = stream.read().replace("expectations: expectations.yaml", "expectations: []")
    path = write("matrix.yaml", matrix)
    result = run_cases(tmp_path, "--runtime=tf2.21", "--matrix", path, "--zoo", zoo_dir, "-k",
                       "reusable_tf1_written-tf2.21-cpu-hub.Module", "-p", "no:xdist")
    assert result.returncode == 1
    assert ("load[reusable_tf1_written-tf2.21-cpu-hub.Module]: api-absent: hub.Module does not exist in this "
            "tensorflow-hub (removed in 0.16)") in result.stdout


def test_runtime_that_is_not_what_matrix_declares_stops_the_run(tmp_path, zoo_dir):
    """Without xdist too, the installed distributions are checked before TensorFlow is imported."""
    result = run_cases(tmp_path, "--runtime=tf2.15-eager", "-p", "no:xdist")
    assert result.returncode == 4, result.stdout[-2000:]
    assert "runtime tf2.15-eager is not what" in result.stdout
    assert "tensorflow 2.15.1 declared, 2.21.0 installed" in result.stdout


def test_under_xdist_a_wrong_runtime_stops_the_run_with_its_reason(tmp_path, zoo_dir):
    """The controller checks the installed pins before any worker starts: exit 4 and why, not a lost worker."""
    result = run_cases(tmp_path, "--runtime=tf2.15-eager", "-n", "2")
    assert result.returncode == 4, result.stdout[-2000:]
    assert "runtime tf2.15-eager is not what" in result.stdout
    assert "tensorflow 2.15.1 declared, 2.21.0 installed" in result.stdout
    assert "no active workers" not in result.stdout


def test_bad_matrix_is_a_one_line_usage_error(tmp_path, write):
    path = write("matrix.yaml", "modelz: 1\nruntimes: []\nmodels: []\n")
    result = run_cases(tmp_path, "--runtime=tf2.21", "--matrix", path, "-p", "no:xdist")
    assert result.returncode == 2, result.stdout  # bad input, as from `check` (README's exit codes)
    allowed = ", ".join(sorted(schema.MATRIX["properties"]))  # a new setting must not break this test
    assert "models" in allowed and "runtimes" in allowed
    assert "matrix.yaml:1: matrix.modelz: unknown key 'modelz' (allowed: %s)" % allowed in result.stdout


def test_semantics_cases_flag_the_hazard_and_prove_eager_computes_everything(tmp_path, zoo_dir):
    result = run_cases(tmp_path, "--runtime=tf2.21", "-k", "(hazard or side_effect) and cpu and not KerasLayer",
                       "-p", "no:xdist", cases="cases/test_semantics.py")
    assert result.returncode == 0, result.stdout[-3000:]
    _, cases = observations(tmp_path, "tf2.21")
    hazard = cases["semantics[hazard-tf2.21-cpu-hub.load-default]"]
    assert hazard["status"] == "xfail" and hazard["hazards"] == {
        "sqrt": "assertion-failed: an assertion in the model failed on the agreed inputs: [sqrt output needs "
                "x >= 0] [Condition x >= 0 did not hold element-wise:] [x (x:0) = ] [-1 0 1...]"}
    assert hazard["semantics"]["alone"]["default"]["finite"] is True, "the pruned `default` works"
    assert 'obj.prune(feeds=["x:0"], fetches="mul:0")' in hazard["snippet"]
    cost = cases["cost[hazard-tf2.21-cpu-hub.load-default]"]
    assert cost["status"] == "xfail" and cost["overhead"] == 10.0 and cost["ops"]["*"] == 20
    proof = cases["proof[side_effect-tf2.21-cpu-hub.load-default]"]
    assert proof["status"] == "pass" and proof["proof"]["delta"] == 2, "eager: the counter moves with `default`"
    assert cases["semantics[side_effect-tf2.21-cpu-hub.load-default]"]["status"] == "pass"


def test_without_xdist_a_models_cases_run_one_after_another(tmp_path, zoo_dir):
    """The executor keeps one model loaded: each model's load, semantics and train cases together, not file by
    file (which would load every model again for each file)."""
    result = run_cases(tmp_path, "--runtime=tf2.21", "-k", "(hazard or side_effect) and cpu and hub.load",
                       "-p", "no:xdist", "--collect-only", cases="cases")
    assert result.returncode == 0, result.stdout[-3000:]
    models = [line.split("[", 1)[1].split("-tf2.21-")[0] for line in result.stdout.splitlines() if "[" in line
              and "::" in line]
    checks = {line.split("::")[1].split("[")[0] for line in result.stdout.splitlines() if "::" in line}
    assert {"test_load", "test_semantics", "test_train"} <= checks
    assert len(set(models)) == 2
    assert models == sorted(models, key=models.index), "one model's cases, then the other's: %s" % models


_MODULES_AT_THE_END = """
import json, sys
def pytest_sessionfinish(session):
    with open(%r, "w") as stream:
        json.dump(sorted(sys.modules), stream)
"""


def test_pytest_process_never_imports_tensorflow_numpy_or_the_apis(tmp_path, zoo_dir, monkeypatch):
    """pytest's process only sends requests and records answers: TensorFlow runs in the executor, and numpy
    and the apis (~0.2 s with OpenBLAS's threads, in every xdist worker too) are the executor's as well."""
    (tmp_path / "modules_at_the_end.py").write_text(_MODULES_AT_THE_END % str(tmp_path / "modules.json"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    result = run_cases(tmp_path, "--runtime=tf2.21", "-k", "hazard and cpu and hub.load", "-p", "no:xdist",
                       "-p", "modules_at_the_end", cases="cases")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout, result.stdout[-3000:]
    modules = json.loads((tmp_path / "modules.json").read_text())
    assert "conformance.runtime.supervisor" in modules
    imported = [m for m in modules
                if m.split(".")[0] in ("numpy", "tensorflow") or m.startswith("conformance.runtime.apis")]
    assert imported == [], "imported by pytest's process: %s" % imported[:10]


def test_ignore_leaves_out_a_case_file(tmp_path, zoo_dir):
    """``tox -e R -- --ignore=cases/test_train.py``: pytest's own --ignore is not overruled by the plugin's
    choice of the files of its mode."""
    def files(*extra):
        result = run_cases(tmp_path, "--runtime=tf2.21", "-k", "hazard and cpu and hub.load", "-p", "no:xdist",
                           "--collect-only", *extra, cases="cases")
        assert result.returncode == 0, result.stdout[-3000:]
        return {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}

    every = files()
    assert {"cases/test_load.py", "cases/test_semantics.py", "cases/test_train.py"} <= every
    assert files("--ignore=cases/test_train.py") == every - {"cases/test_train.py"}


def test_unwritable_reports_dir_is_one_line_and_exit_4(tmp_path, zoo_dir):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cases(tmp_path, "--runtime=tf2.21", "--reports", str(blocker / "reports"), "-p", "no:xdist",
                       "-k", "text_embed_url-tf2.21-cpu-hub.load")
    assert result.returncode == 4, result.stdout[-2000:]
    assert "cannot write observations under %s: Not a directory" % (blocker / "reports") in result.stdout
    assert "INTERNALERROR" not in result.stdout and "Traceback" not in result.stdout


def test_a_real_runs_results_validate_against_the_schema(tmp_path, zoo_dir):
    """What a run writes, not what a test typed: a real tf2.21 run of one model (load, semantics, train), its
    comparison and its report. The report validates results.json before writing it (a mismatch is exit 4),
    and every check the run made is one the schema knows (`variables` was not, in issue 33)."""
    import jsonschema

    from conformance.report import results

    ran = run_cases(tmp_path, "--runtime=tf2.21", "-k", "reusable_tf1_written and cpu", "-p", "no:xdist",
                    "--ignore", "cases/test_cluster.py", cases="cases")
    assert ran.returncode == 0, ran.stdout[-3000:]
    env = dict(os.environ)
    env.pop("CONFORMANCE_RUN_ID", None)
    run = str(tmp_path / "reports" / "runs" / "r1")
    compared = subprocess.run([sys.executable, "-m", "pytest", "cases/test_compare.py", "-p", "no:cacheprovider",
                               "-q", "-p", "no:xdist", "--compare", run, "--reports", str(tmp_path / "reports")],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=600)
    assert compared.returncode == 0, compared.stdout[-3000:]
    reported = subprocess.run([sys.executable, "-m", "conformance", "report", "--reports", str(tmp_path / "reports"),
                               "--run-id", "r1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    assert reported.returncode == 0, reported.stdout[-3000:]
    with open(str(tmp_path / "reports" / "r1" / "results.json")) as stream:
        document = json.load(stream)
    with open(str(tmp_path / "reports" / "r1" / "results.schema.json")) as stream:
        written = json.load(stream)
    assert written == results.schema(), "the report publishes the schema it validated against"
    jsonschema.Draft7Validator(written).validate(document)
    checks = {r["check"] for r in document["results"]}
    assert {"load", "semantics", "train", "inputs", "signature", "numeric", "variables", "gradient"} <= checks, checks


def test_models_runs_only_their_cases_and_an_unknown_one_is_one_line(tmp_path, zoo_dir):
    """``--models a,b``: the slice of the zoo CI runs on the nightly runtime (.ci/run)."""
    result = run_cases(tmp_path, "--runtime=tf2.21", "--models", "hazard,text_embed", "-p", "no:xdist",
                       "--collect-only", cases="cases")
    assert result.returncode == 0, result.stdout[-3000:]
    ids = [line for line in result.stdout.splitlines() if "::" in line and "[NOTSET]" not in line]
    assert ids and all("[hazard-" in line or "[text_embed-" in line for line in ids), ids[:20]
    assert any("[text_embed-" in line for line in ids) and not any("[text_embed_url-" in line for line in ids)
    result = run_cases(tmp_path, "--runtime=tf2.21", "--models", "hazard,nosuch", "-p", "no:xdist", cases="cases")
    assert result.returncode == 4, result.stdout[-3000:]
    assert "--models hazard,nosuch: no model nosuch in" in result.stdout


@pytest.mark.parametrize("rule, problem", [
    ('{match: {case: "*"}, status: fail, intermittent: [pass, skip], reason: hides everything}',
     "matches every load case of the matrix"),
    ("{match: {check: laod, model: hazard}, status: fail, reason: a typo}", "match.check 'laod' matches no check"),
])
def test_expectations_that_check_refuses_stop_a_runtime_env_with_exit_2(tmp_path, zoo_dir, write, rule, problem):
    """Under xdist too: the controller refuses them before any worker starts."""
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        matrix = stream.read().replace("expectations: expectations.yaml",
                                       "expectations: [%s, bad.yaml]" % os.path.join(ROOT, "expectations.yaml"))
    write("bad.yaml", "- %s\n" % rule)
    path = write("matrix.yaml", matrix)
    result = run_cases(tmp_path, "--runtime=tf2.21", "--matrix", path, "--zoo", zoo_dir, "-n", "2")
    assert result.returncode == 2, result.stdout[-3000:]
    assert problem in result.stdout and "bad.yaml:1: expectation {" in result.stdout, result.stdout[-3000:]
    assert not os.path.isdir(str(tmp_path / "reports" / "runs")), "nothing ran"
    warned = run_cases(tmp_path, "--runtime=tf2.21", "--matrix", path, "--zoo", zoo_dir, "-p", "no:xdist",
                       "--collect-only", env={"CONFORMANCE_EXPECTATIONS": "warn"})
    assert warned.returncode == 0 and "warning: " in warned.stdout, warned.stdout[-3000:]


def test_archives_in_a_real_run_unpack_or_are_the_models_fault(tmp_path, zoo_dir, write):
    """Through the executor: a URL archive without directory entries loads; a decompression bomb, served on
    127.0.0.1 or local, fails its load with unsafe-archive (the model's fault), never error."""
    import io
    import tarfile

    from conformance.serve import LoopbackServer

    served = tmp_path / "served"
    served.mkdir()
    source = os.path.join(zoo_dir, "text_embed")
    with tarfile.open(str(served / "nodirs.tar.gz"), "w:gz") as archive:
        for folder, _, files in os.walk(source):
            for name in sorted(files):
                full = os.path.join(folder, name)
                archive.add(full, os.path.relpath(full, source), recursive=False)
    for name in ("bomb.tar.gz", "local_bomb.tar.gz"):
        with tarfile.open(str(served / name), "w:gz", compresslevel=9) as archive:
            for index in range(3):
                info = tarfile.TarInfo("variables/part-%d" % index)
                info.size = 2 << 20
                archive.addfile(info, io.BytesIO(b"\0" * info.size))
    with LoopbackServer(str(served)) as server:
        path = write("matrix.yaml", """\
            runtimes:
              - id: tf2.21
                python: "3.11"
                tensorflow: tensorflow-cpu==2.21.0
                tensorflow_hub: tensorflow-hub==0.16.1
                mode: eager
                env: {TF_USE_LEGACY_KERAS: "1"}
            devices: [cpu]
            apis: [hub.load]
            models:
              - {id: nodirs, handle: "%s/nodirs.tar.gz", format: hub_tf1, tags: []}
              - {id: url_bomb, handle: "%s/bomb.tar.gz", format: saved_model_v2}
              - {id: local_bomb, handle: "%s", format: saved_model_v2}
            """ % (server.url, server.url, served / "local_bomb.tar.gz"))
        result = run_cases(tmp_path, "--runtime=tf2.21", "--matrix", path, "--zoo", zoo_dir, "-p", "no:xdist",
                           env={"CONFORMANCE_MAX_ARCHIVE_BYTES": str(3 << 20)})
    _, cases = observations(tmp_path, "tf2.21")
    assert cases["load[nodirs-tf2.21-cpu-hub.load]"]["status"] == "pass", result.stdout[-3000:]
    for model in ("url_bomb", "local_bomb"):
        case = cases["load[%s-tf2.21-cpu-hub.load]" % model]
        assert case["status"] == "fail" and case["error"]["cause"] == "unsafe-archive", (model, case)
        assert "3145728 allowed" in case["error"]["diagnosis"].replace(" bytes allowed", " allowed"), case["error"]
    assert result.returncode == 1, result.stdout[-3000:]


def _tmpfs(path, options):
    """A real small filesystem at ``path`` (tmpfs), or a skip where this machine cannot mount one."""
    os.makedirs(str(path), exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): %s" % mounted.stdout.strip())
    return str(path)


def _lines_about_writing(text):
    return [line for line in text.splitlines() if "cannot write observations under" in line]


def test_a_full_disk_under_reports_is_one_line_and_exit_4(tmp_path, zoo_dir):
    """A real full filesystem: a 300 kB tmpfs as the reports folder fills during the run, under xdist."""
    reports = _tmpfs(tmp_path / "full", "size=300k")
    try:
        command = [sys.executable, "-m", "pytest", "cases", "-p", "no:cacheprovider", "-q", "--runtime=tf2.21",
                   "--reports", reports, "--run-id", "r1", "--zoo", zoo_dir, "-n", "2", "--dist", "loadgroup",
                   "--max-worker-restart=0", "--models", "text_embed,hazard,side_effect"]
        result = subprocess.run(command, cwd=ROOT, env=dict(os.environ, TFHUB_CACHE_DIR=str(tmp_path / "cache")),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                timeout=600)
    finally:
        subprocess.run(["umount", reports])
    assert result.returncode == 4, result.stdout[-3000:]
    assert "INTERNALERROR" not in result.stdout and "Traceback" not in result.stdout, result.stdout[-3000:]
    lines = _lines_about_writing(result.stdout)
    assert lines and lines[0] == "error: cannot write observations under %s: No space left on device" % os.path.join(
        reports, "runs", "r1", "tf2.21"), result.stdout[-3000:]


def test_a_read_only_reports_runs_is_one_line_and_exit_4(tmp_path, zoo_dir):
    (tmp_path / "reports" / "runs").mkdir(parents=True)
    runs = _tmpfs(tmp_path / "reports" / "runs", "size=64k,ro")
    try:
        result = run_cases(tmp_path, "--runtime=tf2.21", "--zoo", zoo_dir, "-n", "2", "-k", "text_embed")
        alone = run_cases(tmp_path, "--runtime=tf2.21", "--zoo", zoo_dir, "-p", "no:xdist", "-k", "text_embed")
    finally:
        subprocess.run(["umount", runs])
    for run in (result, alone):
        assert run.returncode == 4, run.stdout[-3000:]
        assert "Read-only file system" in _lines_about_writing(run.stdout)[0], run.stdout[-3000:]
        assert "INTERNALERROR" not in run.stdout and "no active workers" not in run.stdout
