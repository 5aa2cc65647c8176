"""The tf.Example parse spec of a serving signature, read from the model's graph.

Estimator and TF Serving exports take serialized tf.Example strings and parse them with ParseExample
(TF 1.x), ParseExampleV2 (TF 2.x) or ParseSingleExample. The keys, types and shapes the model expects sit
in those ops (attributes, and Const nodes for the keys), so valid records can be built for any such model
without the user writing them down. Reached like the untrusted-op scan: from the signature's outputs,
through the graph and every function it calls.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

from conformance.runtime.op_scan import meta_graphs, read_saved_model, reachable

PARSE_OPS = ("ParseExample", "ParseExampleV2", "ParseSingleExample")
UNKNOWN_DIM = 3  # values given to a variable-length (sparse, ragged, -1) feature


def _strings_of(scope: Mapping[str, Any], tensor: str) -> List[str]:
    """The string values of the Const node behind ``tensor`` (``name``, ``name:0`` or ``name:output:0``)."""
    node = scope.get(tensor.lstrip("^").split(":")[0])
    if node is None or node.op != "Const":
        raise LookupError("parse keys come from %s, not a constant" % tensor)
    return [value.decode("utf-8") for value in node.attr["value"].tensor.string_val]


def _dims(shape: Any) -> List[int]:
    if shape.unknown_rank:
        return [UNKNOWN_DIM]
    return [UNKNOWN_DIM if d.size < 0 else int(d.size) for d in shape.dim]


def _features(node: Any, scope: Mapping[str, Any], dtype_name) -> Dict[str, Dict[str, Any]]:
    attr = node.attr
    dense_types = [dtype_name(t) for t in attr["Tdense"].list.type]
    dense_shapes = [_dims(s) for s in attr["dense_shapes"].list.shape]
    sparse_types = [dtype_name(t) for t in attr["sparse_types"].list.type]
    ragged_keys, ragged_types = [], []  # type: List[str], List[str]
    inputs = [i for i in node.input if not i.startswith("^")]
    if node.op == "ParseExample":
        sparse_count, dense_count = attr["Nsparse"].i, attr["Ndense"].i
        sparse_keys = [k for t in inputs[2:2 + sparse_count] for k in _strings_of(scope, t)]
        dense_keys = [k for t in inputs[2 + sparse_count:2 + sparse_count + dense_count]
                      for k in _strings_of(scope, t)]
    elif node.op == "ParseExampleV2":
        sparse_keys, dense_keys = _strings_of(scope, inputs[2]), _strings_of(scope, inputs[3])
        ragged_keys = _strings_of(scope, inputs[4])
        ragged_types = [dtype_name(t) for t in attr["ragged_value_types"].list.type]
    else:  # ParseSingleExample: keys are attributes
        sparse_keys = [k.decode("utf-8") for k in attr["sparse_keys"].list.s]
        dense_keys = [k.decode("utf-8") for k in attr["dense_keys"].list.s]
    features = {}  # type: Dict[str, Dict[str, Any]]
    for key, dtype, shape in zip(dense_keys, dense_types, dense_shapes):
        features[key] = {"dtype": dtype, "shape": shape or [1], "kind": "dense"}
    for key, dtype in zip(sparse_keys, sparse_types):
        features[key] = {"dtype": dtype, "shape": [UNKNOWN_DIM], "kind": "sparse"}
    for key, dtype in zip(ragged_keys, ragged_types):
        features[key] = {"dtype": dtype, "shape": [UNKNOWN_DIM], "kind": "ragged"}
    return features


def parse_specs(saved_model_pb: str, tags: Iterable[str] = ()) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{signature: {feature: {dtype, shape, kind}}}`` for every signature that parses tf.Examples."""
    import tensorflow as tf

    def dtype_name(enum: int) -> str:
        return tf.as_dtype(enum).name

    specs = {}  # type: Dict[str, Dict[str, Dict[str, Any]]]
    for graph in meta_graphs(read_saved_model(saved_model_pb), tags):
        for signature in graph.signature_def:
            features = {}  # type: Dict[str, Dict[str, Any]]
            for reached in reachable(graph, [signature], object_functions=False):
                if reached.node.op in PARSE_OPS:
                    features.update(_features(reached.node, reached.scope, dtype_name))
            if features:
                specs[signature] = features
    return specs
