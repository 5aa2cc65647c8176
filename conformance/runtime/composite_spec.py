"""The composite (sparse, ragged) inputs behind a TF2 signature's dense ones, read from ``saved_model.pb``.

``tf.saved_model.save`` flattens a signature's SparseTensor and RaggedTensor inputs into dense components:
``w`` (indices), ``w_1`` (values), ``w_2`` (dense_shape) for a sparse ``w``; ``ids`` (flat values) and
``ids_1`` (row splits) for a ragged ``ids``; a TF2 load of a TF1 signature's coo_sparse input splits it
into ``<name>_indices``, ``<name>_values`` and ``<name>_dense_shape``. That is all a SignatureDef or a loaded signature shows, and
random values for such components are not a valid input. The saved object graph still holds the function
the signature wraps, with its input signature: read here, so the probe describes one sparse or ragged input
and feeds it valid components.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from conformance.runtime.op_scan import meta_graphs, read_saved_model

_CALL_OPS = ("StatefulPartitionedCall", "PartitionedCall")
_KINDS = {"SparseTensorSpec": "sparse", "RaggedTensorSpec": "ragged"}


def _leaves(value: Any) -> Iterable[Any]:
    """The leaves of a StructuredValue in ``tf.nest`` order (dict keys sorted), composites not expanded."""
    which = value.WhichOneof("kind")
    if which in ("tuple_value", "list_value"):
        for item in getattr(value, which).values:
            for leaf in _leaves(item):
                yield leaf
    elif which == "dict_value":
        for key in sorted(value.dict_value.fields):
            for leaf in _leaves(value.dict_value.fields[key]):
                yield leaf
    elif which == "named_tuple_value":
        for pair in value.named_tuple_value.values:
            for leaf in _leaves(pair.value):
                yield leaf
    elif which in ("tensor_spec_value", "bounded_tensor_spec_value", "type_spec_value"):
        yield value


def _composite(leaf: Any) -> Optional[Tuple[str, Dict[str, Any], int]]:
    """``(kind, {dtype, shape, ragged_rank}, components)`` of a sparse or ragged spec; None for a tensor."""
    if leaf.WhichOneof("kind") != "type_spec_value":
        return None
    spec = leaf.type_spec_value
    kind = _KINDS.get(spec.type_spec_class_name) or {1: "sparse", 3: "ragged"}.get(spec.type_spec_class)
    state = [item for item in spec.type_state.tuple_value.values]
    if kind is None or len(state) < 2:
        return None
    shape = state[0].tensor_shape_value
    dims = None if shape.unknown_rank else [None if d.size < 0 else int(d.size) for d in shape.dim]
    info = {"shape": dims, "dtype_enum": state[1].tensor_dtype_value}  # type: Dict[str, Any]
    components = 3
    if kind == "ragged":
        info["ragged_rank"] = int(state[2].int64_value) if len(state) > 2 else 1
        components = 1 + info["ragged_rank"]
    return kind, info, int(getattr(spec, "num_flat_components", 0) or components)


def _wrapped_function(graph: Any, signature: str) -> Optional[Tuple[List[str], str]]:
    """The signature wrapper's call: ``(argument names passed in order, wrapped function name)``."""
    objects = graph.object_graph_def
    if not objects.nodes:
        return None
    found = [child.node_id for child in objects.nodes[0].children if child.local_name == "signatures"]
    if not found:
        return None
    names = {child.local_name: child.node_id for child in objects.nodes[found[0]].children}
    if signature not in names:
        return None
    node = objects.nodes[names[signature]]
    kind = node.WhichOneof("kind")
    if kind == "bare_concrete_function":
        wrapper = node.bare_concrete_function.concrete_function_name
    elif kind == "function" and node.function.concrete_functions:
        wrapper = node.function.concrete_functions[0]
    else:
        return None
    library = {function.signature.name: function for function in graph.graph_def.library.function}
    calls = [n for n in library[wrapper].node_def if n.op in _CALL_OPS] if wrapper in library else []
    if len(calls) != 1:
        return None
    return [name.split(":")[0] for name in calls[0].input if not name.startswith("^")], calls[0].attr["f"].func.name


def _coo_sparse_inputs(signature: Any) -> Dict[str, Dict[str, Any]]:
    """A TF1 signature's coo_sparse inputs: the TF1 loader feeds them as one SparseTensor, a TF2 load
    (``load_v1_in_v2``) as ``<name>_indices``, ``<name>_values`` and ``<name>_dense_shape``."""
    inputs = {}
    for name, info in signature.inputs.items():
        if info.WhichOneof("encoding") == "coo_sparse":
            shape = info.tensor_shape
            dims = None if shape.unknown_rank or not info.HasField("tensor_shape") else [
                None if d.size < 0 else int(d.size) for d in shape.dim]
            inputs[name] = {"kind": "sparse", "dtype_enum": info.dtype, "shape": dims,
                            "components": [name + "_indices", name + "_values", name + "_dense_shape"]}
    return inputs


_INT64 = 9  # DataType.DT_INT64
_SHAPE_SUFFIXES = ("_dense_shape", "_shape")


def _dims_of(info: Any) -> Optional[List[Optional[int]]]:
    shape = info.tensor_shape
    if shape.unknown_rank or not info.HasField("tensor_shape"):
        return None
    return [None if d.size < 0 else int(d.size) for d in shape.dim]


def _flattened_sparse_inputs(signature: Any) -> Dict[str, Dict[str, Any]]:
    """SparseTensor inputs flattened into dense ``<name>_indices`` (int64, rank 2), ``<name>_values`` (rank 1)
    and ``<name>_dense_shape`` or ``<name>_shape`` (int64, rank 1) inputs with no composite metadata (older
    exporters, hand-written serving functions): found by those names and types, so that the three are fed
    as one consistent SparseTensor."""
    inputs = {}  # type: Dict[str, Dict[str, Any]]
    given = signature.inputs
    for name in sorted(given):
        if not name.endswith("_indices"):
            continue
        base = name[:-len("_indices")]
        values = given.get(base + "_values")
        shape_name = next((base + suffix for suffix in _SHAPE_SUFFIXES if base + suffix in given), None)
        if values is None or shape_name is None:
            continue
        indices_dims, values_dims, shape_dims = _dims_of(given[name]), _dims_of(values), _dims_of(given[shape_name])
        if (given[name].dtype != _INT64 or given[shape_name].dtype != _INT64 or not indices_dims
                or len(indices_dims) != 2 or not values_dims or len(values_dims) != 1 or not shape_dims
                or len(shape_dims) != 1):
            continue
        rank = shape_dims[0] or indices_dims[1] or 2
        inputs[base] = {"kind": "sparse", "dtype_enum": values.dtype, "shape": [None] * rank,
                        "components": [name, base + "_values", shape_name]}
    return inputs


def composite_inputs(saved_model_pb: str, tags: Iterable[str] = ()) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """``{signature: {input: {kind, dtype_enum, shape[, ragged_rank], components: [names]}}}`` for the TF2
    signatures that take sparse or ragged inputs; the input is named after its first component."""
    found = {}  # type: Dict[str, Dict[str, Dict[str, Any]]]
    for graph in meta_graphs(read_saved_model(saved_model_pb), tags)[:1]:
        for signature in graph.signature_def:
            sparse = _coo_sparse_inputs(graph.signature_def[signature])
            if sparse:
                found[signature] = sparse
                continue
            flattened = _flattened_sparse_inputs(graph.signature_def[signature])
            if flattened:  # no composite metadata is kept for these
                found[signature] = flattened
            wrapped = _wrapped_function(graph, signature)
            if wrapped is None or wrapped[1] not in graph.object_graph_def.concrete_functions:
                continue
            arguments, function = wrapped
            structure = graph.object_graph_def.concrete_functions[function].canonicalized_input_signature
            position, inputs = 0, {}  # type: Tuple[int, Dict[str, Dict[str, Any]]]
            for leaf in _leaves(structure):
                composite = _composite(leaf)
                count = composite[2] if composite else 1
                names = arguments[position:position + count]
                position += count
                if composite and len(names) == count:
                    kind, info = composite[0], dict(composite[1])
                    info.update(kind=kind, components=names)
                    inputs[names[0]] = info
            if inputs and all(set(i["components"]) <= set(graph.signature_def[signature].inputs)
                              for i in inputs.values()):
                found[signature] = inputs
    return found


def regroup(description: Dict[str, Any], composites: Mapping[str, Mapping[str, Any]],
            dtype_name: Callable[[int], str]) -> Dict[str, Any]:
    """``description`` with the dense components of each composite input replaced by that input (kind
    sparse or ragged, its ``components`` listed); unchanged where the api shows no such components (the TF1
    loader feeds a coo_sparse input as one SparseTensor)."""
    present = [c for c in composites.values() if set(c["components"]) <= set(description["inputs"])]
    if not present:
        return description
    inputs = dict(description["inputs"])
    for name, composite in sorted(composites.items()):
        if composite not in present:
            continue
        for component in composite["components"]:
            inputs.pop(component)
        inputs[name] = {"dtype": dtype_name(composite["dtype_enum"]), "shape": composite["shape"],
                        "kind": composite["kind"], "components": list(composite["components"])}
        if "ragged_rank" in composite:
            inputs[name]["ragged_rank"] = composite["ragged_rank"]
    return dict(description, inputs=dict(sorted(inputs.items())))
