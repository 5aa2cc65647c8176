"""matrix.yaml validation: every bad input is one line with file:line, the key and what is allowed."""
import pytest

from conformance.matrix import load_matrix
from conformance.yaml_source import SourceError

RUNTIMES = """
runtimes:
  - id: tf1
    python: "3.7"
    tensorflow: tensorflow==1.15.5
    tensorflow_hub: tensorflow-hub==0.12.0
    mode: graph
  - id: tf2
    python: "3.11"
    tensorflow: tensorflow-cpu==2.21.0
    tensorflow_hub: tensorflow-hub==0.16.1
    mode: eager
"""
MODELS = """
models:
  - id: m
    handle: /models/m
    reference: tf1
"""


def error_of(write, text, name="matrix.yaml"):
    path = write(name, text)
    with pytest.raises(SourceError) as raised:
        load_matrix(path)
    message = str(raised.value)
    assert "\n" not in message
    return message.replace(path, name)


def test_the_shipped_matrix_is_valid():
    matrix = load_matrix("matrix.yaml")
    assert {"tf1.15-graph", "tf1.15-eager", "tf2.15-graph", "tf2.15-eager", "tf2.21"} <= {
        r.id for r in matrix.runtimes if r.is_default}
    assert [r.id for r in matrix.runtimes if not r.is_default] == ["tf-nightly"]
    assert matrix.expectations, "default expectations are loaded from expectations.yaml"


def test_valid_minimal_matrix(write):
    matrix = load_matrix(write("matrix.yaml", RUNTIMES + MODELS))
    assert [m.id for m in matrix.models] == ["m"]
    assert matrix.runtime("tf2").tensorflow_version == "2.21.0"
    assert matrix.devices == ["cpu", "xla", "gpu"]


def test_unknown_key_names_line_key_and_allowed(write):
    message = error_of(write, RUNTIMES + MODELS + "    tagz: [serve]\n")
    assert message.startswith("matrix.yaml:17: matrix.models[0].tagz: unknown key 'tagz' (allowed: ")
    assert "tags" in message and "handle" in message


def test_wrong_type(write):
    message = error_of(write, RUNTIMES + MODELS + "    tags: serve\n")
    assert message == "matrix.yaml:17: matrix.models[0].tags: expected array, got str 'serve'"


def test_bad_enum_lists_allowed_values(write):
    message = error_of(write, RUNTIMES.replace("mode: eager", "mode: lazy") + MODELS)
    assert message == "matrix.yaml:11: matrix.runtimes[1].mode: 'lazy' is not allowed (expected one of: graph, eager)"


def test_missing_key(write):
    message = error_of(write, RUNTIMES + "models:\n  - id: m\n")
    assert message == "matrix.yaml:13: matrix.models[0]: missing key 'handle'"


def test_duplicate_model_id(write):
    message = error_of(write, RUNTIMES + MODELS + "  - id: m\n    handle: /other\n")
    assert message == "matrix.yaml:17: model id 'm' is declared twice (first at line 14)"


def test_duplicate_yaml_key(write):
    message = error_of(write, RUNTIMES + MODELS + "    handle: /again\n")
    assert message == "matrix.yaml:17: duplicate key 'handle'"


def test_reference_to_unknown_runtime(write):
    message = error_of(write, RUNTIMES + MODELS.replace("reference: tf1", "reference: tf3"))
    assert message == "matrix.yaml:16: reference 'tf3' is not declared (declared runtimes: tf1, tf2)"


def test_runtime_no_model_can_use(write):
    message = error_of(write, RUNTIMES + MODELS + "    runtimes: [tf1]\n")
    assert message == "matrix.yaml:7: runtime 'tf2' is used by no model (each model's `runtimes` leaves it out)"


def test_device_no_model_can_use(write):
    message = error_of(write, "devices: [cpu, gpu]\n" + RUNTIMES + MODELS + "    devices: [cpu]\n")
    assert message == ("matrix.yaml:1: device 'gpu' is used by no model or no runtime "
                       "(their `devices` leave it out)")


def test_inputs_for_undeclared_signature(write):
    text = RUNTIMES + MODELS + "    signatures: [default]\n    inputs:\n      tokens: {x: {shape: [2]}}\n"
    message = error_of(write, text)
    assert message == ("matrix.yaml:19: inputs: signature 'tokens' of model 'm' is not in its "
                       "`signatures` (default)")


def test_empty_list(write):
    message = error_of(write, "runtimes: []\n" + MODELS)
    assert message == "matrix.yaml:1: matrix.runtimes: expected at least 1 item(s), got []"


def test_invalid_yaml(write):
    message = error_of(write, "runtimes: [\n")
    assert message.startswith("matrix.yaml:2: invalid YAML")


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match=r"nowhere\.yaml: file not found"):
        load_matrix(str(tmp_path / "nowhere.yaml"))


def test_expectation_file_errors_name_their_file(write):
    write("expectations.yaml", """
        - match: {runtime: tf9}
          status: fail
          reason: no such runtime
    """)
    message = error_of(write, "expectations: expectations.yaml\n" + RUNTIMES + MODELS)
    assert message.endswith("expectations.yaml:1: match.runtime 'tf9' matches no runtime (declared: tf1, tf2)")


def test_expectation_bad_status(write):
    write("expectations.yaml", """
        - match: {api: hub.load}
          status: broken
          reason: x
    """)
    message = error_of(write, "expectations: expectations.yaml\n" + RUNTIMES + MODELS)
    assert message.endswith("expectations.yaml:2: expectations[0].status: 'broken' is not allowed "
                            "(expected one of: pass, fail, skip)")


def test_expectation_bad_version_specifier(write):
    write("expectations.yaml", """
        - match: {tensorflow_hub: "newer than 0.16"}
          status: fail
          reason: x
    """)
    message = error_of(write, "expectations: expectations.yaml\n" + RUNTIMES + MODELS)
    assert "match.tensorflow_hub 'newer than 0.16' is not a version specifier" in message


def test_a_runtimes_keras_is_what_tf_keras_is_there(write):
    """TF < 2.16 has Keras 2; TF >= 2.16 has Keras 3 unless tf-keras is installed and TF_USE_LEGACY_KERAS=1."""
    matrix = load_matrix(write("matrix.yaml", """
        runtimes:
          - {id: old, python: "3.7", tensorflow: tensorflow==1.15.5, tensorflow_hub: tensorflow-hub==0.12.0,
             mode: graph}
          - {id: legacy, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
             mode: eager, extras: [tf-keras==2.21.0], env: {TF_USE_LEGACY_KERAS: "1"}}
          - {id: keras3, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
             mode: eager}
          - {id: unflagged, python: "3.11", tensorflow: tensorflow-cpu==2.21.0,
             tensorflow_hub: tensorflow-hub==0.16.1, mode: eager, extras: [tf-keras==2.21.0]}
          - {id: nightly, python: "3.11", tensorflow: tf-nightly-cpu, tensorflow_hub: tensorflow-hub==0.16.1,
             mode: eager, extras: [tf-keras-nightly], env: {TF_USE_LEGACY_KERAS: "1"}}
        models:
          - {id: m, handle: /m}
        """))
    assert {r.id: r.keras for r in matrix.runtimes} == {"old": "2", "legacy": "2", "keras3": "3", "unflagged": "3",
                                                        "nightly": "2"}
