"""The nightly workflow stays valid and in step with matrix.yaml (no GitHub runner needed to check that)."""
import os
import re

import yaml

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


def test_one_job_per_runtime_including_nightly_then_a_report_job():
    jobs = workflow()["jobs"]
    runtimes = jobs["runtime"]["strategy"]["matrix"]["runtime"]
    assert runtimes == [r.id for r in load_matrix(os.path.join(ROOT, "matrix.yaml")).runtimes]
    assert "tf-nightly" in runtimes and jobs["runtime"]["strategy"]["fail-fast"] is False
    assert jobs["report"]["needs"] == "runtime" and jobs["report"]["if"] == "always()"


def test_steps_are_well_formed_and_actions_pinned():
    for name, job in workflow()["jobs"].items():
        assert job["runs-on"] and job["timeout-minutes"] > 0, name
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), "step needs exactly one of uses/run: %r" % step
            if "uses" in step:
                assert re.match(r"^[\w-]+/[\w-]+@v\d+$", step["uses"]), step["uses"]


def test_artifacts_flow_from_runtimes_to_the_report():
    jobs = workflow()["jobs"]
    uploaded = [s for s in jobs["runtime"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    downloaded = [s for s in jobs["report"]["steps"] if s.get("uses", "").startswith("actions/download-artifact")]
    assert uploaded[0]["with"]["name"] == "observations-${{ matrix.runtime }}"
    assert uploaded[0]["if"] == "always()", "observations of a failing runtime are kept"
    assert downloaded[0]["with"]["pattern"] == "observations-*" and downloaded[0]["with"]["merge-multiple"] is True
    published = [s for s in jobs["report"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert published[0]["with"]["path"] == "reports/nightly-${{ github.run_id }}/"
    commands = " ".join(s.get("run", "") for s in jobs["report"]["steps"])
    assert "tox -e compare" in commands and "--baseline baseline/results.json" in commands
