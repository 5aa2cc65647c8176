"""The report: results.json against its schema, shard merge, conflicts, the run diff, JUnit, escaping."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import jsonschema
import pytest

from conformance.observations import Recorder
from conformance.report import results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INFO = {"runtime": "tf2.21", "mode": "eager", "python": "3.11.7", "tensorflow": "2.21.0",
        "tensorflow_hub": "0.16.1", "numpy": "2.4.6", "devices": {"cpu": {"available": True, "how": "x"}}}


def record(base, run, model, status="pass", worker="gw0", runtime="tf2.21", info=INFO, message=""):
    recorder = Recorder(str(base), run, runtime, worker, dict(info, runtime=runtime))
    case = "load[%s-%s-cpu-hub.load]" % (model, runtime)
    recorder.begin(case, {"check": "load", "model": model, "runtime": runtime, "device": "cpu", "api": "hub.load",
                          "signature": None, "expected": "pass"})
    recorder.update(case, status=status, message=message, duration=0.5, loaded=status == "pass")
    recorder.close()
    return os.path.join(str(base), "runs", run)


def schema():
    with open(results.SCHEMA_PATH) as stream:
        return json.load(stream)


def test_results_validate_against_the_documented_schema(tmp_path):
    run = record(tmp_path, "r1", "m1")
    record(tmp_path, "r1", "m2", status="fail", worker="gw1", message="Failed: load[m2...]: api-absent: gone")
    document = results.collect([run])
    jsonschema.validate(document, schema())
    by_test = {r["test"]: r for r in document["results"]}
    assert by_test["load[m2-tf2.21-cpu-hub.load]"]["status"] == "fail"
    assert results.unexpected(by_test["load[m2-tf2.21-cpu-hub.load]"])
    assert document["run_info"]["tf2.21"]["tensorflow"] == "2.21.0"


def test_merge_of_two_shards_equals_the_unsharded_run(tmp_path):
    whole = record(tmp_path / "whole", "r1", "m1")
    record(tmp_path / "whole", "r1", "m2", worker="gw1")
    shard_a = record(tmp_path / "a", "r1", "m1")
    shard_b = record(tmp_path / "b", "r1", "m2", worker="gw1")

    def strip(document):
        return [dict(r, source=None, duration=None) for r in document["results"]]

    assert strip(results.collect([shard_a, shard_b])) == strip(results.collect([whole]))


def test_same_case_twice_or_conflicting_run_info_names_both_sources(tmp_path):
    a = record(tmp_path / "a", "r1", "m1")
    b = record(tmp_path / "b", "r1", "m1", worker="gw3")
    with pytest.raises(results.MergeError, match=r"case load\[m1-tf2.21-cpu-hub.load\] is recorded twice: in "
                                                 r".*a/runs/r1/tf2.21/gw0.json and in .*b/runs/r1/tf2.21/gw3.json"):
        results.collect([a, b])
    c = record(tmp_path / "c", "r1", "m2", info=dict(INFO, tensorflow="2.20.0"))
    with pytest.raises(results.MergeError, match=r"runtime tf2.21 has conflicting run info: tensorflow 2.21.0 in "
                                                 r".*gw0.json, 2.20.0 in .*gw0.json"):
        results.collect([a, c])


def run_report(reports, *args):
    env = dict(os.environ)
    env.pop("CONFORMANCE_RUN_ID", None)
    return subprocess.run([sys.executable, "-m", "conformance", "--matrix", os.path.join(ROOT, "matrix.yaml"),
                           "report", "--reports", str(reports)] + list(args), cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)


def test_second_run_shows_the_regression_first_and_exits_non_zero(tmp_path):
    reports = tmp_path / "reports"
    record(reports, "20260101T000000Z-0001", "text_embed")
    record(reports, "20260101T000000Z-0001", "hazard", worker="gw1")
    first = run_report(reports, "--run-id", "20260101T000000Z-0001")
    assert first.returncode == 0, first.stdout
    assert os.readlink(str(reports / "latest")) == "20260101T000000Z-0001"
    record(reports, "20260102T000000Z-0002", "text_embed", status="fail", message="Failed: planted")
    record(reports, "20260102T000000Z-0002", "hazard", worker="gw1")
    second = run_report(reports, "--run-id", "20260102T000000Z-0002")
    assert second.returncode == 1
    lines = second.stdout.splitlines()
    assert lines[0].startswith("vs 20260101T000000Z-0001: 1 regressions, 0 fixed")
    assert lines[1] == "  REGRESSION load[text_embed-tf2.21-cpu-hub.load]: pass -> fail"
    assert os.readlink(str(reports / "latest")) == "20260102T000000Z-0002"
    document = json.loads((reports / "latest" / "results.json").read_text())
    jsonschema.validate(document, schema())
    regressed = [r for r in document["results"] if r["status"] == "regression"]
    assert [r["test"] for r in regressed] == ["load[text_embed-tf2.21-cpu-hub.load]"]
    page = (reports / "latest" / "index.html").read_text()
    assert page.index("REGRESSION") < page.index('id="grid"'), "regressions are at the top of the page"
    suites = ElementTree.parse(str(reports / "latest" / "junit.xml")).getroot()
    assert [s.get("failures") for s in suites] == ["1"] and suites[0].get("tests") == "2"


def test_model_supplied_strings_are_escaped(tmp_path):
    reports = tmp_path / "reports"
    record(reports, "r1", "<em>evil", status="fail", message="<script>alert(1)</script>")
    run_report(reports, "--run-id", "r1")
    page = (reports / "r1" / "index.html").read_text()
    assert "&lt;em&gt;evil" in page and "<em>evil" not in page
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page and "<script>alert" not in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page, "no network"


def test_a_results_document_that_fails_its_schema_is_exit_4_with_the_path_and_nothing_written(tmp_path):
    """report validates before it writes: a result of a check no module declares is a hub-conformance bug
    (README: exit 4, output that cannot be written), never a results.json that breaks its own schema."""
    reports = tmp_path / "reports"
    recorder = Recorder(str(reports), "r1", "tf2.21", "gw0", INFO)
    recorder.begin("nocheck[m-tf2.21-cpu-hub.load]", {"check": "nocheck", "model": "m", "runtime": "tf2.21",
                                                      "device": "cpu", "api": "hub.load", "expected": "pass"})
    recorder.update("nocheck[m-tf2.21-cpu-hub.load]", status="pass", message="", duration=0.1)
    recorder.close()
    result = run_report(reports, "--run-id", "r1")
    assert result.returncode == 4, result.stdout
    path = os.path.join(str(reports), "r1", "results.json")
    line = result.stdout.strip()
    assert "\n" not in line and line.startswith(
        "report: %s does not validate against its schema (1 errors; a hub-conformance bug): results/0/check: "
        "'nocheck' is not one of ['cluster', " % path), line
    assert os.listdir(str(reports / "r1")) == [] and not os.path.exists(str(reports / "latest"))


def test_the_page_counts_what_each_expectation_rule_decided(tmp_path):
    """Every rule of the matrix's expectations is listed with the cases it decided and their statuses; the
    rules that decided nothing are counted too, so a rule that hides nothing or too much is seen."""
    reports = tmp_path / "reports"
    recorder = Recorder(str(reports), "20260101T000000Z-0001", "tf2.21", "gw0", INFO)
    for model in ("text_embed", "hazard"):
        case = "load[%s-tf2.21-cpu-hub.Module]" % model
        recorder.begin(case, {"check": "load", "model": model, "runtime": "tf2.21", "device": "cpu",
                              "api": "hub.Module", "signature": None, "expected": "fail",
                              "expectation_source": "expectations.yaml:12", "expected_cause": "api-absent"})
        recorder.update(case, status="xfail", message="api-absent: hub.Module is absent", duration=0.1)
    recorder.close()
    done = run_report(reports, "--run-id", "20260101T000000Z-0001")
    assert done.returncode == 0, done.stdout
    document = json.loads((reports / "latest" / "results.json").read_text())
    decided = {rule["source"]: rule for rule in document["expectations"]}
    assert decided["expectations.yaml:12"]["cases"] == 2 and decided["expectations.yaml:12"]["statuses"] == {
        "xfail": 2}
    page = (reports / "latest" / "index.html").read_text()
    table = page[page.index('id="expectation-coverage"'):]
    row = table[table.index("<code>expectations.yaml:12</code>"):]
    assert row.index("<td>2</td>") < row.index("</tr>") and "xfail 2" in row[:row.index("</tr>")]
    used = sum(1 for rule in document["expectations"] if rule["cases"])
    assert "%d of %d rules decided 2 cases" % (used, len(document["expectations"])) in page
