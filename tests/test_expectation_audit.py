"""Expectations cannot hide a run: `check` (and every runtime env) refuses a rule that covers every case of a
model, a runtime or the matrix without `broad:`, and a rule whose check, case or signature matches nothing;
`--warn-only` prints them instead; the report counts what each rule decided."""
import os

import pytest

from conformance.__main__ import main
from conformance.expectation_audit import coverage, coverage_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MATRIX = """\
expectations: bad.yaml
runtimes:
  - id: tf1
    python: "3.7"
    tensorflow: tensorflow==1.15.5
    tensorflow_hub: tensorflow-hub==0.12.0
    mode: graph
  - id: tf2.21
    python: "3.11"
    tensorflow: tensorflow-cpu==2.21.0
    tensorflow_hub: tensorflow-hub==0.16.1
    mode: eager
models:
  - id: m
    handle: "{zoo}/m"
    signatures: [default]
  - id: other
    handle: "{zoo}/other"
    signatures: [default]
"""


def check(write, capsys, rules, *flags):
    write("bad.yaml", rules)
    code = main(["--matrix", write("matrix.yaml", MATRIX), "check"] + list(flags))
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("rule, covered", [
    ('{match: {case: "*"}, status: fail, intermittent: [pass, skip], reason: r}', "every load case of the matrix"),
    ('{match: {model: "*"}, status: skip, reason: r}', "every load case of the matrix"),
    ("{match: {model: m}, status: fail, reason: r}", "every load case of model m"),
    ("{match: {runtime: tf2.21}, status: fail, cause: api-absent, reason: r}", "every load case of runtime tf2.21"),
    ('{match: {runtime: "tf*", model: "*", check: "*"}, status: pass, intermittent: [fail], reason: r}',
     "every load case of the matrix"),
])
def test_a_rule_that_covers_everything_is_refused(write, capsys, rule, covered):
    code, lines = check(write, capsys, "- %s\n" % rule)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("error: ") and "bad.yaml:1: expectation {" in lines[0], lines
    assert "matches %s" % covered in lines[0] and "broad: <reason>" in lines[0], lines


def test_broad_says_why_a_rule_may_cover_everything(write, capsys):
    code, lines = check(write, capsys, "- {match: {model: m}, status: fail, reason: r, broad: m is a broken file}\n")
    assert code == 0, lines


def test_narrow_rules_and_pass_rules_are_fine(write, capsys):
    code, lines = check(write, capsys, """\
        - {match: {check: load, model: m, api: hub.Module}, status: fail, reason: r}
        - {match: {model: "*"}, status: pass, reason: every model is fine}
        - {match: {check: load, signature: default, model: m, runtime: tf1}, status: fail, reason: r}
        - {match: {case: "load[m-tf1-cpu-*]"}, status: fail, reason: r}
        - {match: {case: "signature[m-*]"}, status: fail, reason: a compare case}
        """)
    assert code == 0, lines


@pytest.mark.parametrize("match, problem", [
    ("{check: laod, model: m}", "match.check 'laod' matches no check (known: "),
    ("{check: load, signature: defualt}", "match.signature 'defualt' matches no signature of the matrix's models"),
    ('{case: "load[n-*]"}', "match.case 'load[n-*]' matches no case of the matrix"),
    ('{case: "signatur[m-*]"}', "match.case 'signatur[m-*]' matches no case of the matrix"),
])
def test_a_rule_that_matches_nothing_is_refused(write, capsys, match, problem):
    code, lines = check(write, capsys, "- {match: %s, status: fail, reason: r}\n" % match)
    assert code == 2 and len(lines) == 1 and problem in lines[0], lines
    assert "bad.yaml:1: expectation {" in lines[0]


def test_warn_only_prints_every_refusal_and_goes_on(write, capsys):
    code, lines = check(write, capsys, """\
        - {match: {case: "*"}, status: fail, intermittent: [pass, skip], reason: r}
        - {match: {check: laod}, status: fail, reason: r}
        """, "--warn-only")
    assert code == 0
    assert len(lines) == 2 and all(line.startswith("warning: ") for line in lines), lines
    assert "bad.yaml:1:" in lines[0] and "bad.yaml:2:" in lines[1]


def test_the_shipped_matrix_passes(capsys):
    assert main(["--matrix", os.path.join(ROOT, "matrix.yaml"), "check"]) == 0, capsys.readouterr().err


def test_the_report_counts_what_each_rule_decided():
    from conformance.expectations import Expectation

    rules = [Expectation(status="fail", reason="a", source="e.yaml:1"),
             Expectation(status="skip", reason="b", source="e.yaml:4")]
    results = [{"status": "xfail", "expected": "fail", "details": {"expectation_source": "e.yaml:1"}},
               {"status": "fail", "expected": "fail", "details": {"expectation_source": "e.yaml:1"}},
               {"status": "pass", "expected": "pass", "details": {"expectation_source": "(default)"}},
               {"status": "missing", "expected": "pass", "details": {}}]
    counted = coverage(results, rules)
    assert [(e["source"], e["cases"], e["statuses"]) for e in counted] == [
        ("e.yaml:1", 2, {"xfail": 1, "fail": 1}), ("e.yaml:4", 0, {})]
    assert coverage_line(counted) == "expectations: 1 of 2 rules decided 2 cases (most: e.yaml:1 2); 1 decided none"


def test_a_rule_on_every_load_case_of_a_model_is_refused_too(write, capsys):
    """Its model never loads: its other checks are not generated (a refusal) or can only fail."""
    code, lines = check(write, capsys, "- {match: {check: load, model: m}, status: fail, cause: api-absent, reason: r}\n")
    assert code == 2 and "matches every load case of model m (" in lines[0], lines


def test_the_shipped_generic_rules_pass_on_a_matrix_they_barely_touch(write, capsys):
    """expectations.yaml names harness labels (estimator-unshared, frozen, __call__) that a matrix of TF1 Hub
    modules never generates: they are not refused as matching nothing."""
    import shutil

    shutil.copy(os.path.join(ROOT, "expectations.yaml"), os.path.dirname(write("x", "")))
    write("bad.yaml", "[]\n")
    code = main(["--matrix", write("matrix.yaml", MATRIX.replace("expectations: bad.yaml",
                                                                  "expectations: [expectations.yaml, bad.yaml]")),
                 "check"])
    assert code == 0, capsys.readouterr().err
