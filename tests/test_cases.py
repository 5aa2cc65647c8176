"""Case generation from the matrix: one per model × runtime × device × api, stable ids, expectations."""
import dataclasses

from conformance.cases import load_cases, runtime_cases
from conformance.matrix import load_matrix

MATRIX = """
expectations: expectations.yaml
devices: [cpu, xla]
apis: [hub.Module, hub.load]
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
    devices: [cpu]
models:
  - id: text
    handle: /m/text
    format: hub_tf1
  - id: only_tf1
    handle: /m/only
    runtimes: [tf1]
    apis: [hub.Module]
"""
EXPECTATIONS = """
- match: {api: hub.Module, tensorflow_hub: ">=0.16"}
  status: fail
  cause: api-absent
  reason: removed in 0.16
- match: {case: "load[text-tf1-xla-*]"}
  status: fail
  reason: no xla for text
"""


def matrix_with(write):
    write("expectations.yaml", EXPECTATIONS)
    return load_matrix(write("matrix.yaml", MATRIX))


def test_ids_are_stable_and_ordered_by_model(write):
    matrix = matrix_with(write)
    ids = [case.id for case in load_cases(matrix, matrix.runtime("tf1"))]
    assert ids == [
        "load[text-tf1-cpu-hub.Module]", "load[text-tf1-cpu-hub.load]",
        "load[text-tf1-xla-hub.Module]", "load[text-tf1-xla-hub.load]",
        "load[only_tf1-tf1-cpu-hub.Module]", "load[only_tf1-tf1-xla-hub.Module]",
    ]


def test_model_and_runtime_restrictions(write):
    matrix = matrix_with(write)
    ids = [case.id for case in load_cases(matrix, matrix.runtime("tf2"))]
    # tf2 declares devices [cpu]; only_tf1 is restricted to tf1.
    assert ids == ["load[text-tf2-cpu-hub.Module]", "load[text-tf2-cpu-hub.load]"]


def test_expectations_resolve_per_case(write):
    matrix = matrix_with(write)
    tf1 = {case.id: case.expectation for case in load_cases(matrix, matrix.runtime("tf1"))}
    tf2 = {case.id: case.expectation for case in load_cases(matrix, matrix.runtime("tf2"))}
    assert tf1["load[text-tf1-cpu-hub.Module]"].status == "pass"
    assert tf1["load[text-tf1-xla-hub.load]"].reason == "no xla for text"
    assert tf1["load[text-tf1-xla-hub.load]"].source.endswith("expectations.yaml:5")
    assert tf2["load[text-tf2-cpu-hub.Module]"].cause == "api-absent"
    assert tf2["load[text-tf2-cpu-hub.load]"].status == "pass"


def test_unpinned_runtime_uses_installed_versions(write):
    text = MATRIX.replace("tensorflow_hub: tensorflow-hub==0.16.1", "tensorflow_hub: tensorflow-hub")
    write("expectations.yaml", EXPECTATIONS)
    matrix = load_matrix(write("matrix.yaml", text))
    runtime = matrix.runtime("tf2")
    unknown = load_cases(matrix, runtime)
    assert unknown[0].expectation.status == "pass"  # version unknown: a version rule cannot match
    known = load_cases(matrix, runtime, {"tensorflow_hub": "0.16.1"})
    assert known[0].expectation.cause == "api-absent"


def test_shipped_matrix_case_counts():
    matrix = load_matrix("matrix.yaml")
    for runtime in matrix.runtimes:
        expected = sum(len(matrix.devices_of(model, runtime)) * len(matrix.apis_of(model)) for model in matrix.models
                       if matrix.runs_on(model, runtime))
        assert len(load_cases(matrix, runtime)) == expected, "one load case per model x device x api"


def test_a_device_probed_absent_keeps_only_its_load_cases(write):
    matrix = matrix_with(write)
    tf1 = matrix.runtime("tf1")
    assert [c.id for c in runtime_cases(matrix, tf1, "load", absent_devices=["xla"])] == [
        "load[text-tf1-cpu-hub.Module]", "load[text-tf1-cpu-hub.load]", "load[text-tf1-xla]",
        "load[only_tf1-tf1-cpu-hub.Module]", "load[only_tf1-tf1-xla]"], "one load case per model says it is absent"
    trained = [c.id for c in runtime_cases(matrix, tf1, "train", absent_devices=["xla"])]
    assert trained and not [i for i in trained if "-xla-" in i]
    assert [i for i in (c.id for c in runtime_cases(matrix, tf1, "train")) if "-xla-" in i], "present: generated"


def test_a_load_expected_refused_keeps_only_its_load_case(write):
    """hub.Module in tensorflow-hub 0.16 is refused (api-absent): its load cases say so, once per model and
    device, and the checks made on a load are not generated for it; an expected failure that is not a refusal
    (no xla for text, no cause) keeps them."""
    matrix = matrix_with(write)
    matrix.models[0] = dataclasses.replace(matrix.models[0], signatures=("default",))
    tf1, tf2 = matrix.runtime("tf1"), matrix.runtime("tf2")
    assert "load[text-tf2-cpu-hub.Module]" in [c.id for c in load_cases(matrix, tf2)]
    for check in ("train", "semantics"):
        generated = [c.id for c in runtime_cases(matrix, tf2, check, {"tensorflow_hub": "0.16.1"})]
        assert generated and not [i for i in generated if "hub.Module" in i], check
    assert "train[text-tf1-xla-hub.load]" in [c.id for c in runtime_cases(matrix, tf1, "train")]


def test_only_a_certain_refusal_prunes(write):
    """A refusal that may pass (intermittent), or that may also be another failure, keeps the checks."""
    from conformance.cases import refused
    from conformance.expectations import Expectation

    def expectation(**fields):
        return Expectation(**dict(dict(status="fail", reason="r", source="s", cause="api-absent"), **fields))

    assert refused(expectation())
    assert refused(expectation(cause="api-absent | incompatible-format"))
    assert not refused(expectation(intermittent=("pass",)))
    assert not refused(expectation(cause="api-absent | op-not-registered"))
    assert not refused(expectation(cause=None))
    assert not refused(expectation(status="pass", cause=None))
