"""The signatures and ``__call__`` of a loaded TF2 object (hub.load, tf.saved_model.load, hub.KerasLayer).

``__call__`` stands for the ``__call__`` of a TF2 Reusable SavedModel or Keras export: it is called per the
input signature it was saved with (a lone tensor is input ``x``, nested structures are named by their keys
and positions), with ``training=False`` where it takes one.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from conformance.runtime.apis.loaded import CALL, HIDDEN_SIGNATURES, as_dict, missing
from conformance.runtime.apis.tensors import describe_spec, spec


def function_spec(function: Any) -> Dict[str, Any]:
    """Inputs and outputs of a concrete function (a signature of a loaded SavedModel)."""
    if function.structured_input_signature is None:  # TF 1.15: signatures of TF1 models carry no specs
        names = list(getattr(function, "_arg_keywords", None) or [])
        placeholders = [t for t in function.inputs if t.dtype.name != "resource"][:len(names)]
        inputs = {name: spec(t.dtype, t.shape) for name, t in zip(names, placeholders)}
    else:
        args, kwargs = function.structured_input_signature
        inputs = {name: describe_spec(value) for name, value in sorted(kwargs.items())}
        for index, value in enumerate(args):
            inputs[getattr(value, "name", None) or "arg_%d" % index] = describe_spec(value)
    outputs = {name: describe_spec(value) for name, value in sorted(as_dict(function.structured_outputs).items())}
    return {"inputs": inputs, "outputs": outputs}


def training_kind(function: Any) -> str:
    """How a ``__call__`` concrete function takes ``training``: ``python`` (a Keras export traces one function
    per Python bool), ``tensor`` (a Reusable SavedModel's bool input), ``none`` (it takes no training)."""
    args = function.structured_input_signature[0]
    if len(args) < 2:
        return "none"
    training = args[1]
    if isinstance(training, bool):
        return "python" if training is False else "python-true"
    if getattr(getattr(training, "dtype", None), "name", None) == "bool":
        return "tensor"
    return "other"


def call_function(obj: Any, training: bool = False) -> Any:
    """The concrete function behind ``__call__`` that runs with ``training``: a Reusable SavedModel's
    (``x``, bool tensor ``training``), a Keras export's (inputs, the Python bool, mask), or one without
    training."""
    call = getattr(obj, "__call__", None)
    concrete = getattr(call, "concrete_functions", None) or []
    if not concrete and hasattr(call, "_list_all_concrete_functions_for_serialization"):
        concrete = call._list_all_concrete_functions_for_serialization()
    usable = [f for f in concrete if f.structured_input_signature and f.structured_input_signature[0]]
    for kind in ("python-true" if training else "python", "tensor", "none"):
        for function in usable:
            if training_kind(function) == kind:
                return function
    raise missing(CALL, [], "this object (no traced __call__ that runs with training=%s)" % training)


def spec_leaves(structure: Any, prefix: str = "x") -> List[Any]:
    """``(name, spec)`` of every tensor in a (possibly nested) input structure: a lone tensor is ``x``, a dict
    input is named by its keys (as Keras names them), lists by position."""
    if isinstance(structure, Mapping):
        leaves = []
        for key in sorted(structure):
            name = str(key) if prefix == "x" else "%s.%s" % (prefix, key)
            leaves.extend(spec_leaves(structure[key], name))
        return leaves
    if isinstance(structure, (list, tuple)):
        return [leaf for index, item in enumerate(structure) for leaf in spec_leaves(item, "%s.%d" % (prefix, index))]
    return [(prefix, structure)]


def pack(structure: Any, tensors: Mapping[str, Any], prefix: str = "x") -> Any:
    """The inverse of :func:`spec_leaves`: the call's first argument rebuilt from named tensors."""
    if isinstance(structure, Mapping):
        return {key: pack(structure[key], tensors, str(key) if prefix == "x" else "%s.%s" % (prefix, key))
                for key in structure}
    if isinstance(structure, (list, tuple)):
        return type(structure)(pack(item, tensors, "%s.%d" % (prefix, index)) for index, item in enumerate(structure))
    return tensors[prefix]


def call_spec(obj: Any) -> Dict[str, Any]:
    function = call_function(obj)
    first = function.structured_input_signature[0][0]
    return {"inputs": {name: describe_spec(value) for name, value in spec_leaves(first)},
            "outputs": {name: describe_spec(value) for name, value in as_dict(function.structured_outputs).items()}}


def invoke_call(obj: Any, tensors: Mapping[str, Any], tf: Any, training: bool = False) -> Dict[str, Any]:
    """``obj(inputs, training, ...)`` with the arguments its traced ``__call__`` was saved with."""
    function = call_function(obj, training)
    args = function.structured_input_signature[0]
    rest = []  # type: List[Any]
    kind = training_kind(function)
    if kind == "tensor":
        rest = [tf.constant(training)] + list(args[2:])
    elif kind in ("python", "python-true"):
        rest = [training] + list(args[2:])
    return as_dict(obj(pack(args[0], tensors), *rest))


def signature_names(obj: Any) -> List[str]:
    names = [n for n in getattr(obj, "signatures", {}) if n not in HIDDEN_SIGNATURES]
    if callable(getattr(obj, "__call__", None)) and getattr(getattr(obj, "__call__"), "concrete_functions", None):
        names.append(CALL)
    return sorted(names)


def describe(obj: Any, signature: str, api: str) -> Dict[str, Any]:
    if signature == CALL:
        return call_spec(obj)
    signatures = getattr(obj, "signatures", {})
    if signature not in signatures:
        raise missing(signature, signature_names(obj), api)
    return function_spec(signatures[signature])


def invoke(obj: Any, signature: str, tensors: Mapping[str, Any], tf: Any) -> Dict[str, Any]:
    if signature == CALL:
        return invoke_call(obj, tensors, tf)
    return as_dict(obj.signatures[signature](**tensors))
