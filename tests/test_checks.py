"""The registry of checks (conformance/checks/): every list of checks and causes derives from it, so a check
cannot be missing from the schema, the causes, the case files, the junit suites or the docs."""
import ast
import glob
import json
import os
import re
import xml.etree.ElementTree as ElementTree

import jsonschema
import pytest

from conformance import schema
from conformance.checks import registry
from conformance.report import junit, results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _result(check, runtime="tf2.21", status="pass"):
    return {"test": "%s[m-%s-cpu-hub.load]" % (check, runtime), "check": check, "model": "m", "runtime": runtime,
            "device": "cpu", "api": "hub.load", "signature": None, "status": status, "expected": "pass",
            "message": "", "duration": 0.1, "details": {}}


def _document(*results_):
    return {"schema": 1, "run_ids": ["r1"], "created": "2026-12-07T00:00:00Z", "run_info": {},
            "results": list(results_)}


@pytest.fixture
def toy():
    """A compare check registered for one test, then taken out again."""
    check = registry.register(registry.Check(name="toy_check", side="compare", scope="signature", run=lambda: None,
                                             doc="a toy", causes=("toy-cause",), suite="compare"))
    yield check
    registry._CHECKS.pop("toy_check")
    schema.__dict__.pop("CAUSES", None)  # computed again from the registry on next use


def test_every_registered_check_is_in_the_schema_and_nothing_else_is():
    enum = results.schema()["properties"]["results"]["items"]["properties"]["check"]["enum"]
    assert enum == registry.names()
    assert {"load", "variables", "numeric", "repeat", "compared"} <= set(enum)
    with pytest.raises(jsonschema.ValidationError, match="'bogus' is not one of"):
        jsonschema.validate(_document(_result("bogus")), results.schema())


def test_a_new_check_is_in_the_schema_causes_and_junit_without_another_edit(toy, tmp_path):
    """What issue 33 found: `variables` was added without the schema's enum (66 errors on the default run).
    A check registered anywhere is valid in results.json, its causes may be expected, and it goes to the
    junit suite it declares."""
    document = _document(_result("toy_check"), _result("load"))
    results.validate(document, "results.json")
    schema.__dict__.pop("CAUSES", None)
    assert "toy-cause" in schema.CAUSES
    path = str(tmp_path / "junit.xml")
    junit.write(document, path)
    suites = [suite.get("name") for suite in ElementTree.parse(path).getroot()]
    assert suites == ["compare", "tf2.21"]


def test_the_published_schema_file_lists_no_checks_of_its_own():
    """The enum lives in the registry only: a list in the file would drift again."""
    with open(results.SCHEMA_PATH) as stream:
        check = json.load(stream)["properties"]["results"]["items"]["properties"]["check"]
    assert "enum" not in check


def test_a_document_that_fails_its_schema_names_the_path_and_the_first_errors():
    with pytest.raises(results.SchemaError) as raised:
        results.validate(_document(_result("bogus"), dict(_result("load"), status="weird")), "out/results.json")
    message = str(raised.value)
    assert message.startswith("out/results.json does not validate against its schema (2 errors; a "
                              "hub-conformance bug): results/0/check: 'bogus' is not one of"), message
    assert "results/1/status: 'weird' is not one of" in message


@pytest.mark.parametrize("declaration, message", [
    (dict(side="client"), "conformance/checks: check 'bad': side 'client' (allowed: runtime, compare)"),
    (dict(scope="run"), "conformance/checks: check 'bad': scope 'run' (allowed: model, cell, signature)"),
    (dict(section="footer"), "conformance/checks: check 'bad': suite 'runtime' / section 'footer'"),
])
def test_a_wrong_declaration_is_one_line_naming_the_check(declaration, message):
    fields = dict(dict(name="bad", side="runtime", scope="cell", run=lambda: None, doc=""), **declaration)
    with pytest.raises(registry.RegistryError) as raised:
        registry.register(registry.Check(**fields))
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
    assert "bad" not in registry.names()


def test_a_name_taken_twice_is_refused():
    load = registry.get("load")
    with pytest.raises(registry.RegistryError, match="check 'load' is declared twice"):
        registry.register(registry.Check(name="load", side="runtime", scope="cell", run=lambda: None, doc=""))
    assert registry.get("load") is load


def test_each_case_file_collects_exactly_its_registered_checks():
    """cases/test_*.py hold no case function of their own: each collects the registered checks that name it,
    and the plugin's choice of files per mode (--runtime / --compare) comes from the same declarations."""
    files = registry.case_files()
    on_disk = {os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "cases", "test_*.py"))}
    assert set(files) == on_disk
    for name in on_disk:
        with open(os.path.join(ROOT, "cases", name)) as stream:
            tree = ast.parse(stream.read())
        assert not [n for n in tree.body if isinstance(n, ast.FunctionDef)], "%s defines its own case" % name
        functions = registry.case_functions(name[:-3])
        assert sorted(functions) == sorted("test_%s" % c.name for c in registry.all_checks()
                                           if c.file + ".py" == name)
        assert {registry.check_of(f).side for f in functions.values()} <= {files[name]}


def test_every_cause_a_check_names_is_declared_by_it():
    """A check module that names a cause it does not declare (so expectations could not name it) fails here."""
    for check in registry.all_checks():
        path = os.path.join(ROOT, "conformance", "checks", "%s.py" % check.name)
        if not os.path.isfile(path):
            continue
        with open(path) as stream:
            named = set(re.findall(r'\bCause\("([a-z-]+)"', stream.read()))
        assert named <= set(check.causes) | set(registry.HARNESS_CAUSES), (check.name, named - set(check.causes))
        assert set(check.causes) <= set(schema.CAUSES)


def test_every_check_is_documented():
    """A line of docs per check: docs/checks.md names it as `name[...]`."""
    with open(os.path.join(ROOT, "docs", "checks.md")) as stream:
        text = stream.read()
    missing = [c.name for c in registry.all_checks() if "`%s[" % c.name not in text]
    assert missing == [], "checks with no line in docs/checks.md: %s" % missing


def test_repeat_failures_are_nondeterministic_by_its_declaration():
    assert registry.failure_status("repeat") == "nondeterministic"
    assert results._status({"check": "repeat", "status": "xfail"}) == "nondeterministic"
    assert results._status({"check": "numeric", "status": "fail"}) == "fail"
    assert registry.with_section("heatmap") == ["numeric"]
