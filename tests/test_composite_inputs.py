"""Composite inputs: sparse and ragged inputs are described as such and fed valid values in every api, and an
input the harness cannot make is `inputs-unknown`, never the model's failure."""
import os

import numpy as np
import pytest

from conformance.causes import classify_exception
from conformance.inputs import InputsUnknown, make_input, make_inputs, seed_of
from conformance.runtime.apis.tensors import component_feeds, ragged_parts, sparse_parts


def test_a_generated_sparse_input_has_absent_entries_and_its_parts_rebuild_it():
    dense = make_input("m", "s", "w", "float32", [None, 4], kind="sparse")
    assert dense.shape == (2, 4) and 0 < np.count_nonzero(dense) < dense.size
    indices, values, shape = sparse_parts(dense)
    rebuilt = np.zeros(tuple(shape), dtype=values.dtype)
    rebuilt[tuple(indices.T)] = values
    np.testing.assert_array_equal(rebuilt, dense)


@pytest.mark.parametrize("dtype", ["int64", "string"])
def test_a_generated_ragged_input_has_rows_of_different_lengths(dtype):
    dense = make_input("m", "s", "ids", dtype, [None, None], batch=4, kind="ragged")
    values, splits = ragged_parts(dense)
    lengths = np.diff(splits)
    assert len(set(lengths.tolist())) > 1 and all(length >= 1 for length in lengths)
    assert list(values) == [item for row, length in zip(dense, lengths) for item in row[:length]]


def test_a_dense_input_is_the_seeded_stream_untouched_by_composite_support():
    """Dense inputs are exactly RandomState(seed)'s values (goldens blessed before composite inputs still hold);
    only sparse and ragged inputs get absent entries."""
    stream = np.random.RandomState(seed_of("m", "s", "x")).uniform(-1.0, 1.0, size=[2, 4]).astype(np.float32)
    np.testing.assert_array_equal(make_input("m", "s", "x", "float32", [None, 4]), stream)
    assert not np.array_equal(make_input("m", "s", "x", "float32", [None, 4], kind="sparse"), stream)


def test_component_feeds_split_a_composite_input_into_its_named_components():
    described = {"w": {"dtype": "float32", "shape": [None, 3], "kind": "sparse",
                       "components": ["w", "w_1", "w_2"]},
                 "x": {"dtype": "float32", "shape": [None], "kind": "dense"}}
    inputs = {"w": np.array([[0, 2, 0], [3, 0, 0]], np.float32), "x": np.ones(2, np.float32)}
    feeds = component_feeds(inputs, described)
    assert sorted(feeds) == ["w", "w_1", "w_2", "x"]
    assert feeds["w"].tolist() == [[0, 1], [1, 0]] and feeds["w_1"].tolist() == [2, 3]
    assert feeds["w_2"].tolist() == [2, 3]


def test_an_input_of_unknown_rank_is_inputs_unknown_naming_what_is_missing():
    with pytest.raises(InputsUnknown) as raised:
        make_inputs("unknown_rank", "serving_default", {"x": {"dtype": "float32", "shape": None}})
    cause = classify_exception(raised.value)
    assert cause.id == "inputs-unknown"
    assert "'unknown_rank'" in cause.diagnosis and "'x'" in cause.diagnosis and "shape" in cause.diagnosis
    assert "not the model's failure" in cause.diagnosis


def test_an_input_of_unknown_rank_with_a_declared_shape_is_made():
    made = make_inputs("unknown_rank", "serving_default", {"x": {"dtype": "float32", "shape": None}},
                       {"x": {"shape": [2, 5]}})
    assert made["x"].shape == (2, 5)


# ---------------------------------------------------------------- real TensorFlow, the zoo's composite models
@pytest.fixture(scope="module")
def runtime():
    from conformance.runtime import devices, tfmode

    tf = tfmode.activate("eager")
    return tf, tfmode.import_hub(), devices.probe(tf)["cpu"]


@pytest.mark.tensorflow
def test_the_composite_inputs_behind_flattened_signatures_are_read_from_the_graph(zoo_dir):
    from conformance.runtime.composite_spec import composite_inputs

    tf2 = composite_inputs(os.path.join(zoo_dir, "composite_tf2", "saved_model.pb"), ["serve"])
    assert tf2["sparse_weights"]["weights"]["components"] == ["weights", "weights_1", "weights_2"]
    assert (tf2["ragged_ids"]["ids"]["kind"], tf2["ragged_ids"]["ids"]["components"]) == ("ragged", ["ids", "ids_1"])
    assert "serving_default" not in tf2
    tf1 = composite_inputs(os.path.join(zoo_dir, "sparse_tf1", "saved_model.pb"), ["serve"])
    assert tf1["serving_default"]["ids"]["components"] == ["ids_indices", "ids_values", "ids_dense_shape"]


@pytest.mark.tensorflow
@pytest.mark.parametrize("api", ["saved_model", "hub.load", "hub.KerasLayer"])
def test_composite_inputs_are_fed_valid_values_through_call_and_flattened_signatures(runtime, zoo_dir, api):
    """__call__ takes the RaggedTensor and SparseTensor; the signatures take their components. The same
    agreed values through both must give the same numbers: scores(__call__) = pooled(ids) + scores(weights)."""
    from conformance.runtime.apis import open_model
    from conformance.runtime.composite_spec import composite_inputs, regroup

    tf, hub, cpu = runtime
    path = os.path.join(zoo_dir, "composite_tf2")
    loaded = open_model(api, tf, hub, path, lambda: path, ["serve"])
    composites = composite_inputs(os.path.join(path, "saved_model.pb"), ["serve"])

    def described(signature):
        return regroup(loaded.describe(signature), composites.get(signature, {}), lambda e: tf.as_dtype(e).name)

    call = described("__call__")["inputs"]
    assert {name: info["kind"] for name, info in call.items()} == {"ids": "ragged", "weights": "sparse"}
    assert described("sparse_weights")["inputs"]["weights"]["kind"] == "sparse"
    assert described("ragged_ids")["inputs"]["ids"]["kind"] == "ragged"
    inputs = make_inputs("composite_tf2", "__call__", call, batch=3)
    together = loaded.call("__call__", inputs, cpu)
    pooled = loaded.call("ragged_ids", component_feeds({"ids": inputs["ids"]}, described("ragged_ids")["inputs"]), cpu)
    scores = loaded.call("sparse_weights", component_feeds({"weights": inputs["weights"]},
                                                           described("sparse_weights")["inputs"]), cpu)
    np.testing.assert_allclose(together["scores"], pooled["pooled"] + scores["scores"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(together["lengths"], np.diff(ragged_parts(inputs["ids"])[1]))


@pytest.mark.tensorflow
def test_a_tf1_coo_sparse_input_is_fed_as_one_sparse_tensor_of_valid_ids(runtime, zoo_dir):
    from conformance.runtime.apis import open_model
    from conformance.runtime.composite_spec import composite_inputs, regroup

    tf, hub, cpu = runtime
    path = os.path.join(zoo_dir, "sparse_tf1")
    loaded = open_model("hub.load", tf, hub, path, lambda: path, ["serve"])
    composites = composite_inputs(os.path.join(path, "saved_model.pb"), ["serve"])["serving_default"]
    described = regroup(loaded.describe("serving_default"), composites, lambda e: tf.as_dtype(e).name)
    assert described["inputs"]["ids"]["kind"] == "sparse" and list(described["inputs"]) == ["ids"]
    inputs = make_inputs("sparse_tf1", "serving_default", {"ids": dict(described["inputs"]["ids"],
                                                                        shape=[None, 5])})
    outputs = loaded.call("serving_default", component_feeds(inputs, described["inputs"]), cpu)
    embedding = (np.random.RandomState(101).uniform(-1.0, 1.0, size=[10, 2]) * 0.5).astype(np.float32)
    expected = np.stack([embedding[row[row != 0]].sum(axis=0) for row in inputs["ids"]])
    np.testing.assert_allclose(outputs["pooled"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(outputs["count"], (inputs["ids"] != 0).sum(axis=1))


@pytest.mark.tensorflow
def test_sparse_parts_flattened_without_metadata_are_one_sparse_input(zoo_dir):
    from conformance.runtime.composite_spec import composite_inputs

    found = composite_inputs(os.path.join(zoo_dir, "sparse_triplets", "saved_model.pb"), ["serve"])
    assert found["serving_default"] == {"ids": {"kind": "sparse", "dtype_enum": 9, "shape": [None, None],
                                                "components": ["ids_indices", "ids_values", "ids_dense_shape"]}}


@pytest.mark.tensorflow
def test_signatures_that_write_state_are_found_in_the_graph(zoo_dir):
    from conformance.runtime.op_scan import variable_writes

    def writes(name):
        return variable_writes(os.path.join(zoo_dir, name, "saved_model.pb"), None)

    assert list(writes("stateful_counter")) == ["increment"], "read only reads"
    assert writes("stateful_counter")["increment"][0].startswith("AssignAddVariableOp")
    assert list(writes("train_step_signature")) == ["train_step"]
    assert writes("side_effect") and writes("reference_output"), "TF1 ref variables: AssignAdd, Assign"
    assert writes("reusable_tf2_written") == {} and writes("hazard") == {}
