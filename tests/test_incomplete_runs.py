"""A run that did not finish cannot look green: generated but unrecorded cases are `missing` everywhere,
summary and report exit 3, and reports/latest stays on the last complete run."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import jsonschema

from conformance.observations import Recorder
from conformance.report import results
from conformance.report.completeness import expected_cases, write_expected

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INFO = {"runtime": "tf2.21", "mode": "eager", "python": "3.11.7", "tensorflow": "2.21.0",
        "tensorflow_hub": "0.16.1", "numpy": "2.4.6", "devices": {"cpu": {"available": True, "how": "x"}}}


def _case(model):
    return {"test": "load[%s-tf2.21-cpu-hub.load]" % model, "check": "load", "model": model, "runtime": "tf2.21",
            "device": "cpu", "api": "hub.load", "signature": None, "expected": "pass"}


def _run(base, run_id, generated, recorded):
    """A run of tf2.21 that generated ``generated`` models' cases and recorded only ``recorded``."""
    folder = os.path.join(str(base), "runs", run_id, "tf2.21")
    write_expected(folder, [_case(m) for m in generated])
    recorder = Recorder(str(base), run_id, "tf2.21", "gw0", INFO)
    for model in recorded:
        case = _case(model)
        recorder.begin(case["test"], case)
        recorder.update(case["test"], status="pass", message="", duration=0.1)
    recorder.close()
    return os.path.dirname(folder)


def _command(*args):
    return subprocess.run([sys.executable, "-m", "conformance", "--matrix", os.path.join(ROOT, "matrix.yaml")]
                          + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=120)


def test_missing_cases_are_in_results_and_junit(tmp_path):
    run = _run(tmp_path, "r1", ["m1", "m2", "m3"], ["m1"])
    document = results.collect([run])
    with open(results.SCHEMA_PATH) as stream:
        jsonschema.validate(document, json.load(stream))
    statuses = {r["test"]: r["status"] for r in document["results"]}
    assert statuses == {"load[m1-tf2.21-cpu-hub.load]": "pass", "load[m2-tf2.21-cpu-hub.load]": "missing",
                        "load[m3-tf2.21-cpu-hub.load]": "missing"}
    assert all(results.unexpected(r) for r in document["results"] if r["status"] == "missing")
    assert results.incomplete(document) == "incomplete: 1 of 3 cases recorded (2 missing)"


def test_summary_and_report_exit_3_and_latest_stays(tmp_path):
    reports = tmp_path / "reports"
    _run(reports, "20260101T000000Z-1", ["m1"], ["m1"])
    complete = _command("report", "--reports", str(reports), "--run-id", "20260101T000000Z-1")
    assert complete.returncode == 0, complete.stdout
    assert os.readlink(str(reports / "latest")) == "20260101T000000Z-1"

    _run(reports, "20260102T000000Z-2", ["m1", "m2", "m3"], ["m1"])
    summary = _command("summary", "--reports", str(reports), "--run-id", "20260102T000000Z-2")
    assert summary.returncode == 3, summary.stdout
    assert "incomplete: 1 of 3 cases recorded (2 missing)" in summary.stdout
    assert "MISSING load[m2-tf2.21-cpu-hub.load]" in summary.stdout

    report = _command("report", "--reports", str(reports), "--run-id", "20260102T000000Z-2")
    assert report.returncode == 3, report.stdout
    assert "incomplete: 1 of 3 cases recorded (2 missing); reports/latest not moved" in report.stdout
    assert os.readlink(str(reports / "latest")) == "20260101T000000Z-1", "latest stays on the complete run"
    output = reports / "20260102T000000Z-2"
    with open(str(output / "index.html")) as stream:
        assert "incomplete: 1 of 3 cases recorded (2 missing)" in stream.read()
    failures = ElementTree.parse(str(output / "junit.xml")).getroot().iter("failure")
    assert sorted(f.get("type") for f in failures) == ["missing", "missing"]

    forced = _command("report", "--reports", str(reports), "--run-id", "20260102T000000Z-2", "--force-latest")
    assert forced.returncode == 3 and os.readlink(str(reports / "latest")) == "20260102T000000Z-2"


def test_output_that_cannot_be_written_is_one_line_and_exit_4(tmp_path):
    reports = tmp_path / "reports"
    _run(reports, "r1", ["m1"], ["m1"])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = _command("report", "--reports", str(reports), "--run-id", "r1", "--output", str(blocker / "out"))
    assert result.returncode == 4, result.stdout
    assert result.stdout.strip().splitlines() == ["report: cannot write %s: Not a directory" % (blocker / "out")]


def test_a_shard_merge_that_lacks_a_shard_says_which(tmp_path):
    for k, models in ((1, ["m1"]), (2, ["m2"])):
        folder = os.path.join(str(tmp_path / ("shard%d" % k)), "runs", "r1", "tf2.21")
        write_expected(folder, [dict(_case(m), shard="%d/2" % k) for m in models])
        recorder = Recorder(str(tmp_path / ("shard%d" % k)), "r1", "tf2.21", "gw0", INFO)
        for model in models:
            recorder.begin(_case(model)["test"], _case(model))
            recorder.update(_case(model)["test"], status="pass", message="", duration=0.1)
        recorder.close()
    both = results.collect([str(tmp_path / "shard1" / "runs" / "r1"), str(tmp_path / "shard2" / "runs" / "r1")])
    assert results.incomplete(both) is None
    one = results.collect([str(tmp_path / "shard1" / "runs" / "r1")])
    with open(results.SCHEMA_PATH) as stream:
        jsonschema.validate(one, json.load(stream))
    assert results.incomplete(one) == ("incomplete: 1 of 1 cases recorded (0 missing); not in this merge: "
                                       "tf2.21 shard 2/2")


def test_shards_merged_into_one_folder_keep_each_others_lists(tmp_path):
    """The nightly workflow downloads every shard's artifact into one reports/runs/ (merge-multiple): each
    shard's case list and observation files have names of their own, so none overwrites another."""
    folder = os.path.join(str(tmp_path), "runs", "r1", "tf2.21")
    for k, models in ((1, ["m1", "m3"]), (2, ["m2"])):
        write_expected(folder, [dict(_case(m), shard="%d/2" % k) for m in models], shard=(k, 2))
        recorder = Recorder(str(tmp_path), "r1", "tf2.21", "gw0.shard-%d-of-2" % k, INFO)
        for model in models:
            recorder.begin(_case(model)["test"], _case(model))
            recorder.update(_case(model)["test"], status="pass", message="", duration=0.1)
        recorder.close()
    assert sorted(case["model"] for case in expected_cases(folder)) == ["m1", "m2", "m3"]
    merged = results.collect([os.path.join(str(tmp_path), "runs", "r1")])
    assert results.incomplete(merged) is None
    assert sorted(c["model"] for c in merged["results"]) == ["m1", "m2", "m3"]


def test_the_diff_baseline_is_the_last_complete_run(tmp_path):
    """An interrupted run is never the baseline: its missing cases would come back as "added", and a real
    regression among them would hide there."""
    reports = tmp_path / "reports"
    _run(reports, "20260101T000000Z-1", ["m1", "m2"], ["m1", "m2"])
    assert _command("report", "--reports", str(reports), "--run-id", "20260101T000000Z-1").returncode == 0
    _run(reports, "20260102T000000Z-2", ["m1", "m2"], ["m1"])
    interrupted = _command("report", "--reports", str(reports), "--run-id", "20260102T000000Z-2")
    assert interrupted.returncode == 3, interrupted.stdout
    assert "vs 20260101T000000Z-1:" in interrupted.stdout
    _run(reports, "20260103T000000Z-3", ["m1", "m2"], ["m1", "m2"])
    report = _command("report", "--reports", str(reports), "--run-id", "20260103T000000Z-3")
    assert report.returncode == 0, report.stdout
    assert ("vs 20260101T000000Z-1: 0 regressions, 0 fixed, 0 other changes, 0 added, 0 deleted, 2 unchanged"
            in report.stdout), report.stdout


def _mounted_tmpfs(path, options):
    """A real small filesystem (tmpfs) at ``path``, or a skip where this machine cannot mount one."""
    import pytest

    os.makedirs(str(path), exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): %s" % mounted.stdout.strip())
    return str(path)


def test_a_full_disk_under_the_report_is_one_line_and_exit_4(tmp_path):
    """A real full filesystem (a 64 kB tmpfs), not a simulated error."""
    reports = tmp_path / "reports"
    _run(reports, "r1", ["m%d" % i for i in range(300)], ["m%d" % i for i in range(300)])
    output = _mounted_tmpfs(tmp_path / "full", "size=64k")
    try:
        result = _command("report", "--reports", str(reports), "--run-id", "r1", "--output", output)
    finally:
        subprocess.run(["umount", output])
    assert result.returncode == 4, result.stdout
    lines = [line for line in result.stdout.strip().splitlines() if line.startswith("report: ")]
    assert lines and lines[-1].startswith("report: cannot write %s" % output), result.stdout
    assert lines[-1].endswith("No space left on device"), result.stdout
    assert "Traceback" not in result.stdout and "INTERNALERROR" not in result.stdout
