"""Agreed inputs: deterministic, shaped from the signature, overridable from matrix.yaml."""
import numpy as np
import pytest

from conformance.inputs import Candidate, candidates, fingerprint, make_inputs


def test_deterministic_and_seeded_per_input():
    described = {"x": {"dtype": "float32", "shape": [None, 4]}, "y": {"dtype": "float32", "shape": [None, 4]}}
    first = make_inputs("m", "default", described)
    again = make_inputs("m", "default", described)
    assert fingerprint(first) == fingerprint(again)
    assert first["x"].shape == (2, 4) and first["x"].dtype == np.float32
    assert not np.array_equal(first["x"], first["y"]), "each input has its own seed"
    assert fingerprint(make_inputs("other", "default", described)) != fingerprint(first)


def test_unknown_dims_and_dtypes():
    inputs = make_inputs("m", "s", {"ids": {"dtype": "int64", "shape": [None, None]},
                                    "flag": {"dtype": "bool", "shape": [3]},
                                    "text": {"dtype": "string", "shape": [None]},
                                    "scalar": {"dtype": "float64", "shape": []}}, batch=5)
    assert inputs["ids"].shape == (5, 3) and inputs["ids"].dtype == np.int64
    assert 0 <= inputs["ids"].min() and inputs["ids"].max() < 10
    assert inputs["flag"].dtype == np.bool_ and inputs["flag"].shape == (3,)
    assert inputs["text"].dtype == object and all(isinstance(v, bytes) and v for v in inputs["text"])
    assert inputs["scalar"].shape == ()


def test_declared_specs_override():
    described = {"images": {"dtype": "float32", "shape": [None, 8, 8, 3]},
                 "x": {"dtype": "float32", "shape": [None]},
                 "sentences": {"dtype": "string", "shape": [None]}}
    specs = {"images": {"shape": [1, 8, 8, 3], "range": [0, 1]},
             "x": {"values": [-1.0, 4.0]},
             "sentences": {"strings": ["a b", ""]}}
    inputs = make_inputs("m", "s", described, specs)
    assert inputs["images"].shape == (1, 8, 8, 3)
    assert inputs["images"].min() >= 0.0 and inputs["images"].max() <= 1.0
    assert inputs["x"].tolist() == [-1.0, 4.0] and inputs["x"].dtype == np.float32
    assert inputs["sentences"].tolist() == [b"a b", b""]


def test_tf_example_inputs_use_the_runtime_encoder():
    seen = []

    def encode(values):
        seen.append(values)
        return b"example-%d" % len(seen)

    spec = {"examples": {"shape": [3], "tf_example": {"x": {"dtype": "float32", "shape": [4]},
                                                      "w": {"dtype": "string"}}}}
    inputs = make_inputs("m", "serving_default", {"examples": {"dtype": "string", "shape": [None]}}, spec,
                         encode_example=encode)
    assert inputs["examples"].tolist() == [b"example-1", b"example-2", b"example-3"]
    assert sorted(seen[0]) == ["w", "x"] and seen[0]["x"].shape == (4,)


def test_tf_example_without_encoder_names_the_input():
    with pytest.raises(ValueError, match="model 'm' signature 's' input 'e': tf_example inputs need an encoder"):
        make_inputs("m", "s", {"e": {"dtype": "string", "shape": [None]}},
                    {"e": {"tf_example": {"x": {"dtype": "float32"}}}})


def test_an_input_of_unknown_rank_is_searched_in_the_documented_order_without_repeats():
    found = candidates({"x": {"dtype": "float32", "shape": None}}, {}, 2)
    assert [c.label() for c in found] == [
        "batch 2, x: [2]", "batch 2, x: []", "batch 2, x: [2, 1]", "batch 2, x: [1]", "batch 2, x: [2, 3]",
        "batch 1, x: [1, 1]", "batch 1, x: [1, 3]"], "the batch-1 forms of [batch] and [] are tried once"
    with_batched = candidates({"x": {"dtype": "float32", "shape": None}, "y": {"dtype": "float32", "shape": [None]}},
                              {}, 2)
    assert "batch 1, x: [1]" in [c.label() for c in with_batched], "the batch reaches y: not a repeat"


def test_a_known_shape_tries_batch_one_after_the_declared_batch_and_declared_inputs_are_not_searched():
    described = {"x": {"dtype": "float32", "shape": [None, 4]}}
    assert candidates(described, {}, 2) == [Candidate(2), Candidate(1)]
    assert candidates(described, {}, 1) == [Candidate(1)]
    assert candidates(described, {"x": {"shape": [5, 4]}}, 2) == [Candidate(2)], "the user's shape is final"
    unknown = {"x": {"dtype": "float32", "shape": None}}
    assert candidates(unknown, {"x": {"values": [1.0, 2.0]}}, 2) == [Candidate(2)]


def test_varlen_features_of_generated_examples_get_one_value_first():
    described = {"examples": {"dtype": "string", "shape": [None]}}
    parsed = {"examples": {"tf_example": {"age": {"dtype": "float32", "shape": [3], "kind": "sparse"},
                                          "x": {"dtype": "float32", "shape": [4], "kind": "dense"}}}}
    assert [(c.batch, c.varlen) for c in candidates(described, parsed, 2)] == [(2, 1), (2, 3), (1, 1), (1, 3)]


def test_a_candidate_shapes_the_inputs_it_names():
    candidate = candidates({"x": {"dtype": "float32", "shape": None}}, {}, 2)[1]
    made = make_inputs("m", "s", {"x": {"dtype": "float32", "shape": None}},
                       {name: {"shape": list(shape)} for name, shape in candidate.shapes}, candidate.batch)
    assert made["x"].shape == () and candidate.as_dict()["shapes"] == {"x": []}
