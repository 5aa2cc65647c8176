"""Hostile and mistaken inputs to `python -m conformance check`: one line `file:line: key: what (allowed)`,
exit status 2, never a traceback; and every mistake that can be seen without a runtime is seen by `check`."""
import os
import re
import subprocess
import sys

import pytest
import yaml

from conformance.__main__ import main
from conformance.commands.tox_ini import render
from conformance.matrix import Runtime, load_matrix
from conformance import yaml_source
from conformance.yaml_source import MAX_DEPTH, SourceError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUNTIMES = """\
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
"""
MODELS = """\
models:
  - id: m
    handle: "{zoo}/m"
    reference: tf1
"""


def write_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def error_of(path, check_files=False):
    """The SourceError message of loading ``path``, with the directory taken out."""
    with pytest.raises(SourceError) as raised:
        load_matrix(path, check_files=check_files)
    message = str(raised.value)
    assert "\n" not in message and len(message) < 1000, message
    return message.replace(os.path.dirname(path) + os.sep, "")


def check_error(path, capsys):
    """`python -m conformance check`: exit 2 and one line on stderr."""
    status = main(["--matrix", path, "check"])
    captured = capsys.readouterr()
    assert status == 2, captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0].replace(os.path.dirname(path) + os.sep, "")


# ---------------------------------------------------------------- item 1: bytes that are not text
def test_non_utf8_bytes_name_file_line_and_column(tmp_path, capsys):
    path = write_bytes(tmp_path, "matrix.yaml", (RUNTIMES + MODELS).encode() + b"    tags: [caf\xe9]\n")
    assert check_error(path, capsys) == ("error: matrix.yaml:16: invalid YAML: byte 0xe9 at column 15 is not "
                                         "UTF-8 (allowed: UTF-8 text)")


def test_control_character_names_file_line_and_column(tmp_path, capsys):
    path = write_bytes(tmp_path, "matrix.yaml", (RUNTIMES + MODELS + "    tags: [a\x07b]\n").encode())
    assert check_error(path, capsys) == ("error: matrix.yaml:16: invalid YAML: control character U+0007 at "
                                         "column 13 (allowed: printable text, tabs and line breaks)")


def test_utf8_with_a_byte_order_mark_is_fine(tmp_path):
    path = write_bytes(tmp_path, "matrix.yaml", b"\xef\xbb\xbf" + (RUNTIMES + MODELS).encode())
    assert [m.id for m in load_matrix(path).models] == ["m"]


# ---------------------------------------------------------------- item 2: keys that are not names
@pytest.mark.parametrize("key, kind", [("[a, b]", "list"), ("{a: 1}", "mapping")])
def test_collection_as_mapping_key(write, capsys, key, kind):
    path = write("matrix.yaml", RUNTIMES + MODELS + "    %s: 1\n" % key)
    assert check_error(path, capsys) == ("error: matrix.yaml:16: (key): a %s cannot be a mapping key "
                                         "(allowed: a name, such as `id`)" % kind)


def test_scalar_keys_are_names(write):
    """`on:` is the env variable `on`, not the boolean True (YAML 1.1)."""
    matrix = load_matrix(write("matrix.yaml", RUNTIMES.replace("mode: eager", "mode: eager\n    env: {on: '1'}")
                               + MODELS))
    assert matrix.runtime("tf2.21").env == (("on", "1"),)


# ---------------------------------------------------------------- item 3: deep nesting
def test_deep_nesting_is_one_line(write, capsys):
    path = write("matrix.yaml", RUNTIMES + MODELS + "    tags: " + "[" * 5000 + "]" * 5000 + "\n")
    message = check_error(path, capsys)
    assert message == ("error: matrix.yaml:16: (nesting): more than %d levels of nested mappings and lists "
                       "(matrix files need fewer than 10)" % MAX_DEPTH)


def test_nesting_within_the_limit_reaches_the_schema(write):
    message = error_of(write("matrix.yaml", RUNTIMES + MODELS + "    tags: " + "[" * 40 + "]" * 40 + "\n"))
    assert message.startswith("matrix.yaml:16: matrix.models[0].tags[0]: expected string, got list [[[")


# ---------------------------------------------------------------- item 4: alias bombs, huge values
def billion_laughs():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += ["a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9)) for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused(write, capsys):
    path = write("matrix.yaml", RUNTIMES + MODELS + billion_laughs() + "tags: *a9\n")
    assert check_error(path, capsys) == ("error: matrix.yaml:16: &a0: anchors and aliases are not supported "
                                         "(write the value out)")


def test_alias_is_refused_in_expectations(write):
    write("expectations.yaml", """
        - match: &rule {model: m}
          status: fail
          reason: x
        - match: *rule
          status: pass
          reason: y
    """)
    message = error_of(write("matrix.yaml", "expectations: expectations.yaml\n" + RUNTIMES + MODELS))
    assert message == "expectations.yaml:1: &rule: anchors and aliases are not supported (write the value out)"


def test_huge_values_are_cut_in_messages(write):
    huge = "x" * 100000
    message = error_of(write("matrix.yaml", RUNTIMES + MODELS + "    tags: %s\n" % huge))
    assert message == "matrix.yaml:16: matrix.models[0].tags: expected array, got str '%s..." % ("x" * 76)


def test_long_lists_of_names_are_cut_in_messages(write):
    models = "models:\n" + "".join("  - {id: m%03d, handle: '{zoo}/m'}\n" % i for i in range(300))
    write("expectations.yaml", "- {match: {model: nothing*}, status: fail, reason: x}\n")
    message = error_of(write("matrix.yaml", "expectations: expectations.yaml\n" + RUNTIMES + models))
    assert message.endswith("match.model 'nothing*' matches no model (declared: m000, m001, m002, m003, m004, "
                            "m005, m006, m007, m008, m009, m010, m011, ... (300 in all))")


@pytest.mark.parametrize("tail, expected", [
    ("    [a, b]: 1\n", "matrix.yaml:16: (key): a list cannot be a mapping key"),
    ("    tags: " + "[" * 60 + "]" * 60 + "\n", "matrix.yaml:16: (nesting): more than 50 levels"),
    ("x: &x [1]\ny: *x\n", "matrix.yaml:16: &x: anchors and aliases are not supported"),
    ("    tags: [\n", "matrix.yaml:17: invalid YAML: "),
    ("    tags: [serve]\n", None),
])
def test_yaml_errors_without_libyaml(write, monkeypatch, tail, expected):
    """PyYAML built without libyaml: the pure-Python parser gives the same errors."""
    monkeypatch.setattr(yaml_source, "_SafeLoader", yaml.SafeLoader)
    path = write("matrix.yaml", RUNTIMES + MODELS + tail)
    if expected is None:
        assert load_matrix(path).models[0].tags == ("serve",)
    else:
        assert error_of(path).startswith(expected)


# ---------------------------------------------------------------- item 5: requirements and tox.ini
def test_requirement_with_a_newline_cannot_reach_tox_ini(write, capsys):
    text = RUNTIMES.replace("tensorflow: tensorflow==1.15.5",
                            'tensorflow: "tensorflow==1.15.5\\ncommands_pre = touch /tmp/owned"')
    assert check_error(write("matrix.yaml", text + MODELS), capsys) == (
        "error: matrix.yaml:4: matrix.runtimes[0].tensorflow: 'tensorflow==1.15.5\\ncommands_pre = touch "
        "/tmp/owned': control character or line break U+000A at position 19")


@pytest.mark.parametrize("requirement, problem", [
    ("tensorflow >= 1.0 <", "not a PEP 508 requirement: "),
    ("-r requirements.txt", "not a PEP 508 requirement: "),
    ("tensorflow @ https://example.com/{env:HOME}.whl", "braces are not allowed (tox would substitute them)"),
    ("tensorflow==1.15.5 \\", "a trailing backslash continues the line in tox.ini"),
])
def test_requirements_are_pep_508(write, requirement, problem):
    text = RUNTIMES.replace("tensorflow: tensorflow==1.15.5", "tensorflow: %s" % json_string(requirement))
    message = error_of(write("matrix.yaml", text + MODELS))
    assert message.startswith("matrix.yaml:4: matrix.runtimes[0].tensorflow: %r: %s" % (requirement, problem))


def test_extras_entries_are_requirements(write):
    text = RUNTIMES.replace("mode: graph", 'mode: graph\n    extras: [protobuf<3.21, "x\\ry"]')
    message = error_of(write("matrix.yaml", text + MODELS))
    assert message == ("matrix.yaml:7: matrix.runtimes[0].extras[1]: 'x\\ry': control character or line break "
                       "U+000D at position 2")


def test_requirement_with_markers_is_fine(write):
    text = RUNTIMES.replace("mode: graph", "mode: graph\n    extras: [\"protobuf<3.21; python_version < '3.8'\"]")
    assert load_matrix(write("matrix.yaml", text + MODELS)).runtime("tf1").extras == (
        "protobuf<3.21; python_version < '3.8'",)


@pytest.mark.parametrize("env, expected", [
    ('{A: "1\\\\"}', "matrix.yaml:12: matrix.runtimes[1].env.A: '1\\\\': a trailing backslash continues the line "
                     "in tox.ini"),
    ('{A: "1\\n[testenv:x]"}', "matrix.yaml:12: matrix.runtimes[1].env.A: '1\\n[testenv:x]': control character "
                               "or line break U+000A at position 2"),
    ('{"A = B": "1"}', "matrix.yaml:12: matrix.runtimes[1].env.A = B: 'A = B' does not match "
                       "^[A-Za-z_][A-Za-z0-9_]*$ (allowed: an environment variable name: letters, digits and _)"),
])
def test_env_names_and_values_stay_on_their_line(write, env, expected):
    text = RUNTIMES.replace("mode: eager", "mode: eager\n    env: %s" % env)
    assert error_of(write("matrix.yaml", text + MODELS)) == expected


@pytest.mark.parametrize("runtime_id, expected", [
    ("tf 2", "matrix.runtimes[1].id: 'tf 2' does not match ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ (allowed: letters, "
             "digits, _ . - not starting with . or -, at most 200 characters)"),
    ("tf2]\n[testenv:evil", "matrix.runtimes[1].id: 'tf2]\\n[testenv:evil' does not match"),
    ("compare", "id: 'compare' is one of tox.ini's own envs (not allowed: zoo, compare, report, tests, "
                "tests-py37)"),
    ("tf-3.11", "id: 'tf-3.11' has the part '3.11', which tox reads as a Python version"),
    ("py37-tf", "id: 'py37-tf' has the part 'py37', which tox reads as a Python version"),
])
def test_runtime_ids_are_safe_tox_env_names(write, runtime_id, expected):
    text = RUNTIMES.replace("id: tf2.21", "id: %s" % json_string(runtime_id))
    assert error_of(write("matrix.yaml", text + MODELS)).startswith("matrix.yaml:7: " + expected)


def test_labels_are_tokens_and_not_tox_ini_labels(write):
    bad_token = error_of(write("matrix.yaml", RUNTIMES.replace("mode: eager", "mode: eager\n    labels: ['a b']")
                               + MODELS))
    assert bad_token.startswith("matrix.yaml:12: matrix.runtimes[1].labels[0]: 'a b' does not match")
    reserved = error_of(write("matrix.yaml", RUNTIMES.replace("mode: eager", "mode: eager\n    labels: [test]")
                              + MODELS))
    assert reserved == "matrix.yaml:12: labels[0]: 'test' is one of tox.ini's own labels (not allowed: runtimes, test)"


def test_tox_ini_template_refuses_a_value_that_would_leave_its_line():
    matrix = load_matrix(os.path.join(ROOT, "matrix.yaml"))
    runtime = matrix.runtimes[0]
    matrix.runtimes[0] = Runtime(id=runtime.id, python=runtime.python, tensorflow=runtime.tensorflow,
                                 tensorflow_hub=runtime.tensorflow_hub, mode=runtime.mode,
                                 extras=("six\ncommands_pre = touch /tmp/owned",))
    with pytest.raises(SourceError, match=r"^tox.ini: refusing to write 'six\\ncommands_pre"):
        render(matrix)


# ---------------------------------------------------------------- item 6: checked by `check`, not at run time
def test_missing_local_handle_is_found_by_check(write, capsys):
    path = write("matrix.yaml", RUNTIMES + MODELS.replace('"{zoo}/m"', "models/m"))
    assert load_matrix(path).models[0].handle == os.path.join(os.path.dirname(path), "models", "m"), \
        "relative to the matrix file; missing, the runtimes report it: only check looks"
    assert check_error(path, capsys) == (
        "error: matrix.yaml:14: handle: 'models/m' does not exist (allowed: a directory or a .tar.gz or .tgz file, "
        "relative to the matrix file's directory, or an http(s):// or gs:// URL)")


def test_existing_local_handles_pass_check(write, tmp_path, capsys):
    (tmp_path / "models" / "m").mkdir(parents=True)
    (tmp_path / "archive.tar.gz").write_bytes(b"")
    text = (RUNTIMES + MODELS.replace('"{zoo}/m"', "models/m")
            + "  - {id: a, handle: archive.tar.gz}\n  - {id: u, handle: 'https://tfhub.dev/google/x/1'}\n"
            + "  - {id: z, handle: '{zoo_url}/z.tar.gz'}\n  - {id: abs, handle: '%s'}\n" % (tmp_path / "models"))
    assert main(["--matrix", write("matrix.yaml", text), "check"]) == 0
    capsys.readouterr()


def test_local_handle_that_is_not_an_archive(write, tmp_path, capsys):
    (tmp_path / "model.pb").write_bytes(b"")
    path = write("matrix.yaml", RUNTIMES + MODELS.replace('"{zoo}/m"', "model.pb"))
    assert "handle: 'model.pb' is a file but not a .tar.gz or .tgz archive" in check_error(path, capsys)


def test_missing_npz_is_found_by_check(write, capsys):
    path = write("matrix.yaml", RUNTIMES + MODELS + "    inputs:\n      default: {x: {npz: inputs.npz}}\n")
    assert check_error(path, capsys).startswith("error: matrix.yaml:17: npz: 'inputs.npz' does not exist")


@pytest.mark.parametrize("handle, problem", [
    ("file:///models/m", "file:// URLs are not resolved the same way by every tensorflow_hub: use a plain path"),
    ("FILE:///models/m", "file:// URLs are not resolved"),
    ("s3://bucket/m", "unsupported scheme s3:// (allowed: http://, https://, gs://, a directory or a .tar.gz)"),
    ("{zoo_dir}/m", "unknown placeholder {zoo_dir} (allowed: {zoo}, {zoo_url})"),
    ("{zoo.__class__}/m", "unknown placeholder {zoo.__class__} (allowed: {zoo}, {zoo_url})"),
    ("{zoo!r}/m", "unknown placeholder {zoo!r}"),
    ("{}/m", "unknown placeholder {}"),
    ("{zoo/m", "expected '}' before end of string (write a literal brace as {{ or }})"),
])
def test_bad_handles(write, handle, problem):
    message = error_of(write("matrix.yaml", RUNTIMES + MODELS.replace('"{zoo}/m"', repr(handle))))
    assert message.startswith("matrix.yaml:14: matrix.models[0].handle: %r: %s" % (handle, problem)), message


@pytest.mark.parametrize("spec, problem", [
    ("{shape: [3], values: [1, 2, 3, 4]}", "values have shape [4] (4 numbers) but shape [3] needs 3"),
    ("{shape: [2, 2], values: [[1, 2], [3]]}", "values are ragged: items of shapes [2] and [1] in one list "
                                               "(allowed: a rectangular nested list)"),
    ("{values: [[1, 2], 3]}", "values are ragged: items of shapes [2] and [] in one list (allowed: a rectangular "
                              "nested list)"),
    ("{values: [1, two]}", "values hold 'two', a str (allowed: numbers and booleans; text goes in `strings`)"),
    ("{values: [1, null]}", "values hold None, a NoneType (allowed: numbers and booleans; text goes in `strings`)"),
    ("{dtype: string, values: [1]}", "values with dtype string: give text in `strings`"),
    ("{shape: [3], strings: [a, b]}", "2 strings but shape [3] needs 3"),
    ("{values: [1], strings: [a]}", "values and strings are alternatives: give one"),
    ("{range: [1, 0]}", "range [1, 0] is empty (allowed: [low, high] with low <= high)"),
    ("{shape: [100000, 100000]}", "shape [100000, 100000] has 10000000000 elements (allowed: at most 10000000)"),
])
def test_bad_input_specs(write, spec, problem):
    text = RUNTIMES + MODELS + "    inputs:\n      default:\n        x: %s\n" % spec
    assert error_of(write("matrix.yaml", text)) == "matrix.yaml:18: matrix.models[0].inputs.default.x: " + problem


def test_good_input_specs(write):
    text = RUNTIMES + MODELS + ("    inputs:\n      default:\n        x: {shape: [2, 2], values: [[1, 2.5], [3, 4]]}\n"
                                "        y: {shape: [4], values: [[1, 2], [3, 4]]}\n"
                                "        z: {values: [true, false]}\n        s: {shape: [1, 2], strings: [a, b]}\n")
    assert sorted(load_matrix(write("matrix.yaml", text)).models[0].inputs["default"]) == ["s", "x", "y", "z"]


def test_fetch_is_a_list_of_strings_per_signature(write):
    message = error_of(write("matrix.yaml", RUNTIMES + MODELS + "    fetch: {default: [y, 1]}\n"))
    assert message == "matrix.yaml:16: matrix.models[0].fetch.default[1]: expected string, got int 1"


@pytest.mark.parametrize("model_id, problem", [
    ("a/b", "'a/b' does not match"),
    ("..", "'..' does not match"),
    ("-k", "'-k' does not match"),
    ("modèle", "'modèle' does not match"),
    ("m" * 201, "'%s... is 201 characters long (allowed: letters, digits, _ . - not starting with . or -, at most "
                "200 characters)" % ("m" * 76)),
])
def test_model_ids_are_safe_tokens(write, model_id, problem):
    message = error_of(write("matrix.yaml", RUNTIMES + MODELS.replace("id: m", "id: %s" % json_string(model_id))))
    assert message.startswith("matrix.yaml:13: matrix.models[0].id: " + problem), message


def test_unknown_cause_lists_the_known_ones(write):
    write("expectations.yaml", "- {match: {model: m}, status: fail, cause: op-missing, reason: x}\n")
    message = error_of(write("matrix.yaml", "expectations: expectations.yaml\n" + RUNTIMES + MODELS))
    assert message.startswith("expectations.yaml:1: expectations[0].cause: 'op-missing' is not a known cause "
                              "(closest: ")
    assert "docs/expectations.md" in message


def test_every_cause_the_framework_names_may_be_expected():
    """Causes are named by causes.py's rules and by `Cause("id", ...)` / `GoldenError("id", ...)` elsewhere."""
    from conformance import schema

    named = set()
    for directory in ("conformance", "cases"):
        for folder, _, files in os.walk(os.path.join(ROOT, directory)):
            for name in files:
                if name.endswith(".py"):
                    with open(os.path.join(folder, name), encoding="utf-8") as stream:
                        named.update(re.findall(r'\b(?:Cause|GoldenError)\("([a-z-]+)"', stream.read()))
    assert named and named <= set(schema.CAUSES), named - set(schema.CAUSES)


@pytest.mark.parametrize("key, value", [("model", "n*"), ("runtime", "tf3"), ("device", "tpu")])
def test_expectation_pattern_that_matches_nothing(write, key, value):
    write("expectations.yaml", "- {match: {%s: '%s'}, status: fail, reason: x}\n" % (key, value))
    message = error_of(write("matrix.yaml", "expectations: expectations.yaml\n" + RUNTIMES + MODELS))
    assert message.startswith("expectations.yaml:1: match.%s %r matches no %s (declared: " % (key, value, key))


def test_not_a_matrix_at_all(write, capsys):
    assert check_error(write("matrix.yaml", "- just\n- a list\n"), capsys) == (
        "error: matrix.yaml:1: (top level): expected a mapping with `runtimes` and `models`, got list")


def test_python_tags_are_refused(write, capsys):
    path = write("matrix.yaml", RUNTIMES + MODELS + "    tags: !!python/object/apply:os.system [true]\n")
    assert check_error(path, capsys).startswith("error: matrix.yaml:16: invalid YAML: could not determine a "
                                                "constructor for the tag")


# ---------------------------------------------------------------- item 8: new keys
def test_case_timeout_and_per_model_timeout(write):
    text = "case_timeout: 120\n" + RUNTIMES + MODELS + "    timeout: 30.5\n  - {id: n, handle: '{zoo}/n'}\n"
    matrix = load_matrix(write("matrix.yaml", text))
    assert matrix.case_timeout == 120.0
    assert matrix.timeout_of(matrix.model("m")) == 30.5
    assert matrix.timeout_of(matrix.model("n")) == 120.0


def test_defaults_of_the_new_keys(write):
    matrix = load_matrix(write("matrix.yaml", RUNTIMES + MODELS))
    model = matrix.model("m")
    assert matrix.timeout_of(model) == 600.0 and isinstance(matrix.timeout_of(model), float)
    assert (model.trust, model.clear_devices) == (False, False)


def test_trust_and_clear_devices(write):
    matrix = load_matrix(write("matrix.yaml", RUNTIMES + MODELS + "    trust: true\n    clear_devices: true\n"))
    assert (matrix.model("m").trust, matrix.model("m").clear_devices) == (True, True)


@pytest.mark.parametrize("text, expected", [
    ("case_timeout: 0\n", "matrix.yaml:1: matrix.case_timeout: 0 is out of range (allowed: seconds, more than 0 "
                          "and at most 86400)"),
    ("case_timeout: .inf\n", "matrix.yaml:1: matrix.case_timeout: inf is out of range"),
    ("case_timeout: ten\n", "matrix.yaml:1: matrix.case_timeout: expected number, got str 'ten'"),
    ("case_timeout: true\n", "matrix.yaml:1: matrix.case_timeout: expected number, got bool True"),
])
def test_bad_case_timeout(write, text, expected):
    assert error_of(write("matrix.yaml", text + RUNTIMES + MODELS)).startswith(expected)


@pytest.mark.parametrize("line, expected", [
    ("timeout: -1", "matrix.models[0].timeout: -1 is out of range"),
    ("trust: yes please", "matrix.models[0].trust: expected boolean, got str 'yes please'"),
    ("clear_devices: 1", "matrix.models[0].clear_devices: expected boolean, got int 1"),
    ("requires: [tensorflow-txt]", "matrix.models[0].requires[0]: 'tensorflow-txt' is not allowed (expected one of: "
                                    "tensorflow-text, tensorflow-decision-forests)"),
])
def test_bad_model_keys(write, line, expected):
    assert error_of(write("matrix.yaml", RUNTIMES + MODELS + "    %s\n" % line)).startswith(
        "matrix.yaml:16: " + expected)


# ---------------------------------------------------------------- the pytest plugin says the same, in one line
def test_plugin_usage_error_is_one_line(tmp_path):
    path = write_bytes(tmp_path, "matrix.yaml", (RUNTIMES + MODELS + "    tags: [\x01]\n").encode())
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
                             os.path.join(ROOT, "cases"), "--rootdir", ROOT, "--runtime", "tf1", "--matrix", path],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr  # bad input, as from `check`
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == ("Exit: %s:16: invalid YAML: control character U+0001 at column 12 (allowed: "
                                     "printable text, tabs and line breaks)" % path)


def json_string(text):
    """A YAML double-quoted scalar for ``text``."""
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
