"""The nightly workflow stays valid and in step with matrix.yaml (no GitHub runner needed to check that):
generated from it, every model of every runtime in exactly one shard job, clean under actionlint and zizmor."""
import os
import re
import shutil
import subprocess

import pytest
import yaml

from conformance.cases import in_shard, parse_shard
from conformance.commands.workflow import render
from conformance.matrix import load_matrix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW = os.path.join(ROOT, ".github", "workflows", "nightly.yml")


def workflow():
    with open(WORKFLOW) as stream:
        document = yaml.safe_load(stream)
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def test_triggers_are_a_schedule_and_manual_dispatch():
    triggers = workflow()["on"]
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    cron = triggers["schedule"][0]["cron"].split()
    assert len(cron) == 5 and all(re.match(r"^[\d*/,-]+$", field) for field in cron)


def test_the_workflow_is_generated_from_the_matrix():
    with open(WORKFLOW) as stream:
        assert stream.read() == render(load_matrix(os.path.join(ROOT, "matrix.yaml"))), \
            "regenerate it: python -m conformance workflow"


def shard_jobs(document):
    return [(job["runtime"], job["shard"]) for job in document["jobs"]["runtime"]["strategy"]["matrix"]["include"]]


def assert_every_model_runs_once_per_runtime(matrix, jobs):
    for runtime in matrix.runtimes:
        shards = [parse_shard(shard) for runtime_id, shard in jobs if runtime_id == runtime.id]
        assert shards and sorted(k for k, _ in shards) == list(range(1, shards[0][1] + 1)), runtime.id
        assert {n for _, n in shards} == {len(shards)}, runtime.id
        for model in matrix.models:
            if not model.runtimes or runtime.id in model.runtimes:
                assert sum(in_shard(model.id, shard) for shard in shards) == 1, (runtime.id, model.id)


def test_one_job_per_runtime_shard_including_nightly_then_a_report_job():
    document = workflow()
    matrix = load_matrix(os.path.join(ROOT, "matrix.yaml"))
    jobs = shard_jobs(document)
    assert sorted({runtime for runtime, _ in jobs}) == sorted(r.id for r in matrix.runtimes)
    assert "tf-nightly" in {runtime for runtime, _ in jobs}
    assert_every_model_runs_once_per_runtime(matrix, jobs)
    assert document["jobs"]["runtime"]["strategy"]["fail-fast"] is False
    assert document["jobs"]["report"]["needs"] == "runtime" and document["jobs"]["report"]["if"] == "always()"


def test_a_large_matrix_is_split_into_shards_that_cover_every_model_once(tmp_path):
    models = "".join("  - {id: model_%03d, handle: /m/%d}\n" % (i, i) for i in range(250))
    path = tmp_path / "matrix.yaml"
    path.write_text('models_per_job: 100\nruntimes:\n  - {id: a, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, '
                    'tensorflow_hub: tensorflow-hub==0.16.1, mode: eager}\n'
                    '  - {id: b, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, '
                    'tensorflow_hub: tensorflow-hub==0.16.1, mode: eager}\nmodels:\n' + models
                    + "  - {id: only_b, handle: /m/b, runtimes: [b]}\n")
    matrix = load_matrix(str(path))
    document = yaml.safe_load(render(matrix))
    jobs = shard_jobs(document)
    assert [shard for runtime, shard in jobs if runtime == "a"] == ["1/3", "2/3", "3/3"]
    assert [shard for runtime, shard in jobs if runtime == "b"] == ["1/3", "2/3", "3/3"]
    assert_every_model_runs_once_per_runtime(matrix, jobs)


def test_steps_are_well_formed_actions_pinned_to_commits_and_checkouts_keep_no_credentials():
    with open(WORKFLOW) as stream:
        text = stream.read()
    for line in text.splitlines():
        if "uses:" in line:
            assert re.search(r"uses: [\w-]+/[\w-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line), line
    for name, job in workflow()["jobs"].items():
        assert job["runs-on"] and job["timeout-minutes"] > 0, name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), "step needs exactly one of uses/run: %r" % step
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


@pytest.mark.parametrize("linter", [["actionlint"], ["zizmor", "--offline"]])
def test_the_workflow_passes_the_linters_of_its_ecosystem(linter):
    if shutil.which(linter[0]) is None:
        pytest.skip("%s is installed in the tests env (tox -e tests), not here" % linter[0])
    done = subprocess.run(linter + [WORKFLOW], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)
    assert done.returncode == 0, done.stdout


def test_artifacts_flow_from_runtimes_to_the_report():
    jobs = workflow()["jobs"]
    uploaded = [s for s in jobs["runtime"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    downloaded = [s for s in jobs["report"]["steps"] if s.get("uses", "").startswith("actions/download-artifact")]
    assert uploaded[0]["with"]["name"] == "observations-${{ matrix.runtime }}-${{ matrix.part }}"
    assert uploaded[0]["if"] == "always()", "observations of a failing runtime are kept"
    assert downloaded[0]["with"]["pattern"] == "observations-*" and downloaded[0]["with"]["merge-multiple"] is True
    published = {s["with"]["name"]: s for s in jobs["report"]["steps"]
                 if s.get("uses", "").startswith("actions/upload-artifact")}
    assert published["report"]["with"]["path"] == "reports/nightly-${{ github.run_id }}/"
    commands = " ".join(s.get("run", "") for s in jobs["report"]["steps"])
    assert "tox -e compare" in commands and "--baseline baseline/results.json" in commands


def test_the_history_store_goes_from_one_nightly_to_the_next_and_the_job_page_gets_a_summary():
    steps = workflow()["jobs"]["report"]["steps"]
    names = [s.get("name", "") for s in steps]
    fetch = next(s for s in steps if "history store" in s.get("name", "") and "run" in s)
    assert "gh run download \"$run\" --name history --dir reports" in fetch["run"]
    stored = next(s for s in steps if s.get("with", {}).get("name") == "history")
    assert stored["with"]["path"] == "reports/history.sqlite" and stored["if"] == "always()"
    report = next(i for i, s in enumerate(steps) if "tox -e report" in s.get("run", ""))
    assert names.index(fetch["name"]) < report < names.index(stored["name"]), "fetched before, kept after the report"
    summary = next(s for s in steps if "summary --markdown" in s.get("run", ""))
    assert summary["if"] == "always()" and names.index(summary["name"]) > report


def test_ci_runs_every_runtime_outside_the_default_run_on_a_slice_of_existing_models():
    """.ci/run (what CI runs on every change) runs tf-nightly, which `tox -p` does not, on a few models, so
    a change that breaks the nightly runtime fails before it lands; the slice names models of the matrix."""
    with open(os.path.join(ROOT, ".ci", "run")) as stream:
        script = stream.read()
    matrix = load_matrix(os.path.join(ROOT, "matrix.yaml"))
    sliced = dict(re.findall(r"^tox -e (\S+) -- --models (\S+)$", script, re.M))
    outside = [runtime.id for runtime in matrix.runtimes if not runtime.is_default]
    assert outside and set(sliced) == set(outside), sliced
    known = {model.id for model in matrix.models}
    for runtime_id, models in sliced.items():
        names = models.split(",")
        assert set(names) <= known, set(names) - known
        assert 1 <= len(names) <= 6, "CI's slice of %s must stay small (90-minute limit)" % runtime_id
