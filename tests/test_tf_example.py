"""tf.Example records from the project's canonical encoder: the same bytes in every runtime, and what
TensorFlow itself parses; parse specs read from real serving exports (the zoo's estimator_tf1, written by
TF 1.15 with ParseExample, and serving_tf2, written by TF 2.15 with ParseExampleV2)."""
import os

import numpy as np
import pytest

from conformance.inputs import make_inputs
from conformance.tf_example import encode

FEATURES = {"x": np.array([1.5, -2.0], np.float32), "id": np.array([7, -3], np.int64),
            "tags": np.array([b"a"], dtype=object)}


def test_bytes_do_not_depend_on_feature_order():
    reordered = {name: FEATURES[name] for name in reversed(sorted(FEATURES))}
    assert encode(FEATURES) == encode(reordered)


def test_wire_format_by_hand():
    # Example{features{feature{key: "id" value{int64_list{value: [7, -3]}}}}}: -3 is a ten-byte varint.
    record = encode({"id": np.array([7, -3], np.int64)})
    int64_list = b"\x0a\x0b\x07" + b"\xfd" + b"\xff" * 8 + b"\x01"
    feature = b"\x1a" + bytes([len(int64_list)]) + int64_list
    entry = b"\x0a\x02id" + b"\x12" + bytes([len(feature)]) + feature
    features = b"\x0a" + bytes([len(entry)]) + entry
    assert record == b"\x0a" + bytes([len(features)]) + features


def test_generated_examples_follow_the_spec():
    spec = {"x": {"dtype": "float32", "shape": [4]}, "tags": {"dtype": "string", "shape": [3]}}
    inputs = make_inputs("m", "serving_default", {"examples": {"dtype": "string", "shape": [None]}},
                         {"examples": {"tf_example": spec}}, 2, encode)
    again = make_inputs("m", "serving_default", {"examples": {"dtype": "string", "shape": [None]}},
                        {"examples": {"tf_example": spec}}, 2, encode)
    assert inputs["examples"].shape == (2,)
    assert [bytes(v) for v in inputs["examples"]] == [bytes(v) for v in again["examples"]]


@pytest.mark.tensorflow
def test_tensorflow_parses_what_the_encoder_writes():
    import tensorflow as tf

    parsed = tf.train.Example()
    parsed.ParseFromString(encode(FEATURES))
    assert list(parsed.features.feature["x"].float_list.value) == [1.5, -2.0]
    assert list(parsed.features.feature["id"].int64_list.value) == [7, -3]
    assert list(parsed.features.feature["tags"].bytes_list.value) == [b"a"]


@pytest.mark.tensorflow
def test_parse_specs_are_read_from_serving_exports(zoo_dir):
    from conformance.runtime.example_spec import parse_specs

    tf1 = parse_specs(os.path.join(zoo_dir, "estimator_tf1", "saved_model.pb"), ["serve"])
    assert sorted(tf1) == ["predict", "serving_default", "tensorflow/serving/regress"]
    assert tf1["serving_default"] == {
        "x": {"dtype": "float32", "shape": [4], "kind": "dense"},
        "age": {"dtype": "int64", "shape": [1], "kind": "dense"},
        "tags": {"dtype": "string", "shape": [3], "kind": "sparse"}}
    tf2 = parse_specs(os.path.join(zoo_dir, "serving_tf2", "saved_model.pb"), ["serve"])
    assert sorted(tf2) == ["serving_default", "tensorflow/serving/regress"]
    assert tf2["serving_default"]["words"] == {"dtype": "string", "shape": [3], "kind": "ragged"}
    assert tf2["serving_default"]["tags"]["kind"] == "sparse" and tf2["serving_default"]["x"]["shape"] == [4]
