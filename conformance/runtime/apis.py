"""Loading a model through one TF Hub api and calling its signatures, in graph or eager mode.

Every api gives the same small surface (:class:`Loaded`): the signature names it sees, a description of a
signature (input / output names, dtypes, shapes) and a call that returns numpy arrays. ``__call__`` stands
for the ``__call__`` of a TF2 Reusable SavedModel (first positional input ``x``, ``training=False``).
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from conformance.runtime.devices import Device, compiled, placement, session_config

CALL = "__call__"
_EAGER_MODULE_NAMES = itertools.count()
HIDDEN_SIGNATURES = ("__saved_model_init_op",)


class NotApplicable(Exception):
    """This api cannot exercise this device in this runtime: the case is skipped with the reason."""


class SignatureNotFound(KeyError):
    def __str__(self):
        return str(self.args[0])


def _spec(dtype: Any, shape: Any, kind: str = "dense") -> Dict[str, Any]:
    """Canonical description of one tensor: dtype name, shape (None for unknown dims or rank), kind."""
    dims = None
    if shape is not None and getattr(shape, "dims", None) is not None:
        dims = [None if d is None else int(d) for d in shape.as_list()]
    return {"dtype": dtype.name, "shape": dims, "kind": kind}


def _kind(spec: Any) -> str:
    """dense, sparse or ragged, from a TensorSpec-like object or a hub tensor info."""
    name = type(spec).__name__
    if "Sparse" in name or getattr(spec, "is_sparse", False):
        return "sparse"
    if "Ragged" in name:
        return "ragged"
    return "dense" if "Tensor" in name or hasattr(spec, "dtype") else "composite"


def _missing(signature: str, names: Sequence[str], api: str) -> SignatureNotFound:
    return SignatureNotFound("signature '%s' is not found under %s (it sees: %s)"
                             % (signature, api, ", ".join(sorted(names)) or "none"))


def _to_numpy(value: Any) -> np.ndarray:
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    return np.asarray(array)


def _as_dict(outputs: Any) -> Dict[str, Any]:
    return dict(outputs) if isinstance(outputs, Mapping) else {"default": outputs}


class Loaded(object):
    """A model loaded through one api; its calls are placed per device."""

    def signature_names(self) -> List[str]:
        raise NotImplementedError

    def describe(self, signature: str) -> Dict[str, Any]:
        raise NotImplementedError

    def call(self, signature: str, inputs: Mapping[str, np.ndarray], device: Device,
             fetch: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
        """Outputs of ``signature`` on ``inputs``, placed or compiled for ``device``.

        ``fetch`` names the outputs a graph-mode caller runs (TF1 ``session.run`` semantics); eager calls
        compute every output whatever is asked.
        """
        raise NotImplementedError

    def call_alone(self, signature: str, inputs: Mapping[str, np.ndarray], device: Device, output: str) -> np.ndarray:
        """One output computed alone: fetched alone in graph mode, a pruned function in eager mode."""
        raise NotApplicable("%s cannot compute one output alone in this mode" % type(self).__name__)

    def prune_names(self, signature: str, output: str) -> Optional[Dict[str, Any]]:
        """Tensor names a user passes to ``obj.prune`` for this output, where pruning exists."""
        return None

    def op_counts(self, signature: str, device: Device) -> Dict[str, int]:
        """Ops that run for all outputs (``"*"``) and for each output alone: a deterministic cost."""
        raise NotApplicable("%s cannot compute one output alone in this mode" % type(self).__name__)

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ TF2 objects (hub.load, saved_model)
def _function_spec(function: Any) -> Dict[str, Any]:
    """Inputs and outputs of a concrete function (a signature of a loaded SavedModel)."""
    if function.structured_input_signature is None:  # TF 1.15: signatures of TF1 models carry no specs
        names = list(getattr(function, "_arg_keywords", None) or [])
        placeholders = [t for t in function.inputs if t.dtype.name != "resource"][:len(names)]
        inputs = {name: _spec(t.dtype, t.shape) for name, t in zip(names, placeholders)}
    else:
        args, kwargs = function.structured_input_signature
        inputs = {name: _spec(spec.dtype, spec.shape, _kind(spec)) for name, spec in sorted(kwargs.items())}
        for index, spec in enumerate(args):
            inputs[getattr(spec, "name", None) or "arg_%d" % index] = _spec(spec.dtype, spec.shape, _kind(spec))
    outputs = {name: _spec(spec.dtype, spec.shape, _kind(spec))
               for name, spec in sorted(_as_dict(function.structured_outputs).items())}
    return {"inputs": inputs, "outputs": outputs}


def _training_kind(function: Any) -> str:
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


def _call_function(obj: Any) -> Any:
    """The concrete function behind ``__call__`` that runs with training=False: a Reusable SavedModel's
    (``x``, bool tensor ``training``), a Keras export's (inputs, ``False``, mask), or one without training."""
    call = getattr(obj, "__call__", None)
    concrete = getattr(call, "concrete_functions", None) or []
    if not concrete and hasattr(call, "_list_all_concrete_functions_for_serialization"):
        concrete = call._list_all_concrete_functions_for_serialization()
    usable = [f for f in concrete if f.structured_input_signature and f.structured_input_signature[0]]
    for kind in ("python", "tensor", "none"):
        for function in usable:
            if _training_kind(function) == kind:
                return function
    raise _missing(CALL, [], "this object (no traced __call__ that runs with training=False)")


def _spec_leaves(structure: Any, prefix: str = "x") -> List[Any]:
    """``(name, spec)`` of every tensor in a (possibly nested) input structure: a lone tensor is ``x``, a dict
    input is named by its keys (as Keras names them), lists by position."""
    if isinstance(structure, Mapping):
        leaves = []
        for key in sorted(structure):
            name = str(key) if prefix == "x" else "%s.%s" % (prefix, key)
            leaves.extend(_spec_leaves(structure[key], name))
        return leaves
    if isinstance(structure, (list, tuple)):
        return [leaf for index, item in enumerate(structure) for leaf in _spec_leaves(item, "%s.%d" % (prefix, index))]
    return [(prefix, structure)]


def _pack(structure: Any, tensors: Mapping[str, Any], prefix: str = "x") -> Any:
    """The inverse of :func:`_spec_leaves`: the call's first argument rebuilt from named tensors."""
    if isinstance(structure, Mapping):
        return {key: _pack(structure[key], tensors, str(key) if prefix == "x" else "%s.%s" % (prefix, key))
                for key in structure}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_pack(item, tensors, "%s.%d" % (prefix, index)) for index, item in enumerate(structure))
    return tensors[prefix]


def _call_spec(obj: Any) -> Dict[str, Any]:
    function = _call_function(obj)
    first = function.structured_input_signature[0][0]
    outputs = function.structured_outputs
    return {"inputs": {name: _spec(spec.dtype, spec.shape, _kind(spec)) for name, spec in _spec_leaves(first)},
            "outputs": {name: _spec(spec.dtype, spec.shape, _kind(spec)) for name, spec in _as_dict(outputs).items()}}


def _invoke_call(obj: Any, tensors: Mapping[str, Any], tf: Any) -> Dict[str, Any]:
    """``obj(inputs, training=False, ...)`` with the arguments its traced ``__call__`` was saved with."""
    function = _call_function(obj)
    args = function.structured_input_signature[0]
    rest = []  # type: List[Any]
    kind = _training_kind(function)
    if kind == "tensor":
        rest = [tf.constant(False)] + list(args[2:])
    elif kind == "python":
        rest = [False] + list(args[2:])
    return _as_dict(obj(_pack(args[0], tensors), *rest))


def _object_signatures(obj: Any) -> List[str]:
    names = [n for n in getattr(obj, "signatures", {}) if n not in HIDDEN_SIGNATURES]
    if callable(getattr(obj, "__call__", None)) and getattr(getattr(obj, "__call__"), "concrete_functions", None):
        names.append(CALL)
    return sorted(names)


def _object_describe(obj: Any, signature: str, api: str) -> Dict[str, Any]:
    if signature == CALL:
        return _call_spec(obj)
    signatures = getattr(obj, "signatures", {})
    if signature not in signatures:
        raise _missing(signature, _object_signatures(obj), api)
    return _function_spec(signatures[signature])


def _object_invoke(obj: Any, signature: str, tensors: Mapping[str, Any], tf: Any) -> Dict[str, Any]:
    if signature == CALL:
        return _invoke_call(obj, tensors, tf)
    return _as_dict(obj.signatures[signature](**tensors))


# ------------------------------------------------------------------ eager mode
class EagerObject(Loaded):
    """hub.load / tf.saved_model.load in an eager runtime."""

    def __init__(self, tf: Any, obj: Any, api: str):
        self.tf, self.obj, self.api = tf, obj, api

    def signature_names(self):
        return _object_signatures(self.obj)

    def describe(self, signature):
        return _object_describe(self.obj, signature, self.api)

    def call(self, signature, inputs, device, fetch=None):
        self.describe(signature)  # raises SignatureNotFound with the names this api sees
        tf = self.tf
        tensors = {name: tf.constant(value) for name, value in inputs.items()}

        def run(**kwargs):
            return _object_invoke(self.obj, signature, kwargs, tf)

        with placement(tf, device)():
            outputs = compiled(tf, device, run)(**tensors)
        return {name: _to_numpy(value) for name, value in outputs.items()}

    def _pruning(self, signature: str) -> "_Pruning":
        cache = self.__dict__.setdefault("_prunings", {})
        if signature not in cache:
            cache[signature] = _Pruning(self.obj, signature)
        return cache[signature]

    def call_alone(self, signature, inputs, device, output):
        self.describe(signature)
        pruning = self._pruning(signature)
        function = pruning.function(output)
        arguments = [self.tf.constant(inputs[name]) for name in pruning.keywords]
        with placement(self.tf, device)():
            return _to_numpy(compiled(self.tf, device, lambda *args: function(*args))(*arguments))

    def op_counts(self, signature, device):
        pruning = self._pruning(signature)
        counts = {"*": _function_ops(self.obj.signatures[signature])}
        for output in pruning.fetches:
            counts[output] = _function_ops(pruning.function(output))
        return counts

    def prune_names(self, signature, output):
        pruning = self._pruning(signature)
        return {"feeds": pruning.feeds, "fetches": pruning.fetches[output], "arguments": pruning.keywords}


class _Pruning(object):
    """``obj.prune(feeds, fetches)`` of a TF1 model loaded by ``hub.load`` / ``tf.saved_model.load``."""

    def __init__(self, obj: Any, signature: str):
        if signature == CALL or not hasattr(obj, "prune"):
            raise NotApplicable("a TF2 SavedModel's functions cannot be pruned: only TF1 models loaded by "
                                "hub.load / tf.saved_model.load have obj.prune")
        function = obj.signatures[signature]
        self.keywords = list(getattr(function, "_arg_keywords", None) or [])
        placeholders = [t for t in function.inputs if t.dtype.name != "resource"][:len(self.keywords)]
        self.feeds = [t.name for t in placeholders]
        self.fetches = {name: tensor.name for name, tensor in _as_dict(function.structured_outputs).items()}
        self.obj, self.pruned = obj, {}  # type: Any, Dict[str, Any]

    def function(self, output: str):
        if output not in self.pruned:
            self.pruned[output] = self.obj.prune(feeds=self.feeds, fetches=self.fetches[output])
        return self.pruned[output]


class EagerKerasLayer(Loaded):
    """hub.KerasLayer in an eager runtime: one layer per signature (``signature=``, outputs as dict)."""

    def __init__(self, tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]],
                 signatures: Optional[Sequence[str]]):
        self.tf = tf
        self.resolved = hub.load(handle, **({} if tags is None else {"tags": list(tags)}))
        self.layers = {}  # type: Dict[str, Any]
        for name in signatures or _object_signatures(self.resolved):
            if name not in _object_signatures(self.resolved):
                continue  # call() reports it as a missing signature
            self.layers[name] = hub.KerasLayer(handle, **_keras_kwargs(name, tags))

    def signature_names(self):
        return _object_signatures(self.resolved)

    def describe(self, signature):
        return _object_describe(self.resolved, signature, "hub.KerasLayer")

    def call_alone(self, signature, inputs, device, output):
        raise NotApplicable("hub.KerasLayer computes every output of its signature (output_key only selects one)")

    def op_counts(self, signature, device):
        raise NotApplicable("hub.KerasLayer computes every output of its signature: no op count per output")

    def call(self, signature, inputs, device, fetch=None):
        self.describe(signature)
        layer, tf = self.layers[signature], self.tf
        tensors = {name: tf.constant(value) for name, value in inputs.items()}
        argument = next(iter(tensors.values())) if len(tensors) == 1 else tensors

        def run(value):
            return _as_dict(layer(value))

        with placement(tf, device)():
            outputs = compiled(tf, device, run)(argument)
        return {name: _to_numpy(value) for name, value in outputs.items()}


def _keras_kwargs(signature: str, tags: Optional[Sequence[str]]) -> Dict[str, Any]:
    kwargs = {} if tags is None else {"tags": list(tags)}  # type: Dict[str, Any]
    if signature != CALL:
        kwargs.update(signature=signature, signature_outputs_as_dict=True)
    return kwargs


# ------------------------------------------------------------------ graph mode
class GraphModel(Loaded):
    """Any api in a graph runtime: call ops are built per signature and device, then run in a session.

    ``build(model)`` loads the model into ``model.graph`` and registers its signatures with :meth:`add`; it
    may open ``model.session`` itself (the v1 SavedModel loader restores variables into its session).
    """

    def __init__(self, tf: Any, api: str, build: Callable[["GraphModel"], None], device: Optional[Device] = None):
        self.tf, self.api, self.device = tf, api, device
        self.graph = tf.Graph()
        self.names = []  # type: List[str]
        self.descriptions = {}  # type: Dict[str, Dict[str, Any]]
        self.builders = {}  # type: Dict[str, Callable[[], Any]]
        self.ops = {}  # type: Dict[Any, Any]
        self.session = None  # type: Any
        self._initialized = set()  # type: set
        with self.graph.as_default():
            build(self)
            if self.session is None:
                self.session = tf.compat.v1.Session(graph=self.graph, config=session_config(tf))
            else:
                self._initialized.update(op.name for op in self._initializers())  # the loader ran them
            self._initialize_new()

    def _initializers(self) -> List[Any]:
        tf1 = self.tf.compat.v1
        ops = _flatten([v.initializer for v in tf1.global_variables()])  # a list for restored TF2 variables
        for key in (tf1.GraphKeys.TABLE_INITIALIZERS, "saved_model_initializers"):
            ops.extend(_flatten(self.graph.get_collection(key)))
        return [op for op in ops if op is not None]

    def _initialize_new(self) -> None:
        """Run the initializers of variables and tables created since the last call (never twice)."""
        with self.graph.as_default():
            pending = [op for op in self._initializers() if op.name not in self._initialized]
            if pending:
                self.session.run(pending)
            self._initialized.update(op.name for op in pending)

    def add(self, signature: str, description: Dict[str, Any], call: Optional[Callable[[Dict[str, Any]], Any]],
            tensors: Optional[Any] = None) -> None:
        """Register a signature: ``call(feeds) -> outputs`` builds its ops, or ``tensors`` are already there."""
        self.names.append(signature)
        self.descriptions[signature] = description
        self.builders[signature] = (call, tensors)

    def signature_names(self):
        return sorted(self.names)

    def describe(self, signature):
        if signature not in self.descriptions:
            raise _missing(signature, self.names, self.api)
        return self.descriptions[signature]

    def _ops(self, signature, device):
        if self.device is not None and device.name != self.device.name:
            raise ValueError("graph built for %s, called for %s" % (self.device.name, device.name))
        call, tensors = self.builders[signature]
        if tensors is not None:
            return tensors
        key = (signature, device.name)
        if key not in self.ops:
            with self.graph.as_default(), placement(self.tf, device)():
                feeds = _placeholders(self.tf, self.descriptions[signature])
                outputs = compiled(self.tf, device, lambda **kwargs: call(kwargs))(**feeds)
                self.ops[key] = (feeds, outputs)
            self._initialize_new()
        return self.ops[key]

    def call_alone(self, signature, inputs, device, output):
        return self.call(signature, inputs, device, fetch=[output])[output]

    def op_counts(self, signature, device):
        _, outputs = self._ops(signature, device)
        counts = {"*": _closure_size(list(outputs.values()))}
        counts.update({name: _closure_size([tensor]) for name, tensor in outputs.items()})
        return counts

    def call(self, signature, inputs, device, fetch=None):
        self.describe(signature)
        feeds, outputs = self._ops(signature, device)
        wanted = {name: outputs[name] for name in (fetch or sorted(outputs))}
        feed_dict = {feeds[name]: value for name, value in inputs.items()}
        return {name: np.asarray(value) for name, value in self.session.run(wanted, feed_dict).items()}

    def close(self):
        if self.session is not None:
            self.session.close()


def _closure_size(tensors: Sequence[Any]) -> int:
    """Ops ``session.run`` needs for ``tensors``: their transitive inputs and control inputs."""
    seen, stack = set(), [t.op for t in tensors]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return len(seen)


def _function_ops(function: Any) -> int:
    """Ops in a (pruned or whole) function's graph, placeholders and no-ops left out."""
    return sum(1 for op in function.graph.get_operations() if op.type not in ("Placeholder", "NoOp"))


def _flatten(items: Any) -> List[Any]:
    if isinstance(items, (list, tuple)):
        return [leaf for item in items for leaf in _flatten(item)]
    return [items]


def _placeholders(tf: Any, description: Dict[str, Any]) -> Dict[str, Any]:
    return {name: tf.compat.v1.placeholder(tf.as_dtype(info["dtype"]), shape=info["shape"], name=name)
            for name, info in description["inputs"].items()}


def _build_hub_module(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]]):
    def build(model: GraphModel):
        module = hub.Module(handle, tags=None if tags is None else set(tags))
        for name in module.get_signature_names():
            description = {
                "inputs": {k: _spec(v.dtype, v.get_shape(), _kind(v)) for k, v in
                           module.get_input_info_dict(name).items()},
                "outputs": {k: _spec(v.dtype, v.get_shape(), _kind(v)) for k, v in
                            module.get_output_info_dict(name).items()}}

            model.add(name, description, lambda feeds, name=name: module(feeds, signature=name, as_dict=True))
    return build


def _build_object(tf: Any, load: Callable[[], Any], api: str):
    def build(model: GraphModel):
        obj = load()
        for name in _object_signatures(obj):
            description = _object_describe(obj, name, api)

            model.add(name, description, lambda feeds, name=name: _object_invoke(obj, name, feeds, tf))
    return build


def _build_keras(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]]):
    def build(model: GraphModel):
        resolved = hub.load(handle, tags=None if tags is None else list(tags))
        for name in _object_signatures(resolved):
            description = _object_describe(resolved, name, "hub.KerasLayer")

            layer = hub.KerasLayer(handle, **_keras_kwargs(name, tags))  # variables outside the device scope

            def call(feeds, layer=layer):
                return _as_dict(layer(next(iter(feeds.values())) if len(feeds) == 1 else feeds))

            model.add(name, description, call)
    return build


def _build_v1_saved_model(tf: Any, path: str, tags: Optional[Sequence[str]], device: Device,
                          clear_devices: bool = False):
    """The TF1 loader imports the whole graph at load time, so the device applies to the import.

    ``clear_devices`` drops the device pins the graph was saved with (a graph exported on a GPU machine).
    One signature whose tensors cannot be found is that signature's failure, not the load's.
    """
    def build(model: GraphModel):
        tf1 = tf.compat.v1
        model.session = tf1.Session(graph=model.graph, config=session_config(tf))
        if device.name == "xla" and device.how != "XLA_CPU device":
            raise NotApplicable("the TF1 SavedModel loader imports the graph as it is; without an XLA_CPU "
                                "device (%s) there is no call to compile" % device.how)
        with placement(tf, device)():
            meta_graph = tf1.saved_model.loader.load(model.session, list(tags or []), path,
                                                     **({"clear_devices": True} if clear_devices else {}))

        def info(tensor_info):
            if not tensor_info.HasField("tensor_shape") and tensor_info.WhichOneof("encoding") == "name":
                # no shape recorded is not a scalar: the graph's tensor knows what it is
                static = model.graph.get_tensor_by_name(tensor_info.name).shape
                dims = None if static.dims is None else [None if d is None else int(d) for d in static.as_list()]
                kind = "dense"
                return {"dtype": tf.as_dtype(tensor_info.dtype).name, "shape": dims, "kind": kind}
            dims = None if tensor_info.tensor_shape.unknown_rank else [
                None if d.size < 0 else int(d.size) for d in tensor_info.tensor_shape.dim]
            kind = {"name": "dense", "coo_sparse": "sparse"}.get(tensor_info.WhichOneof("encoding"), "composite")
            return {"dtype": tf.as_dtype(tensor_info.dtype).name, "shape": dims, "kind": kind}

        for name, signature in meta_graph.signature_def.items():
            if name in HIDDEN_SIGNATURES:
                continue
            description = {"inputs": {k: info(v) for k, v in signature.inputs.items()},
                           "outputs": {k: info(v) for k, v in signature.outputs.items()}}

            try:
                feeds = {k: _graph_tensor(model.graph, v) for k, v in signature.inputs.items()}
                outputs = {k: _graph_tensor(model.graph, v) for k, v in signature.outputs.items()}
            except (KeyError, ValueError, TypeError) as error:
                model.add(name, description, _raiser(error))
                continue
            model.add(name, description, None, (feeds, outputs))
    return build


class SignatureNotCallable(Exception):
    """A signature that was described but cannot be called through this api (e.g. a composite TensorInfo)."""


def _graph_tensor(graph: Any, tensor_info: Any) -> Any:
    if tensor_info.WhichOneof("encoding") != "name":
        raise SignatureNotCallable("a %s TensorInfo is not fed or fetched by name through the TF1 loader"
                                   % tensor_info.WhichOneof("encoding"))
    return graph.get_tensor_by_name(tensor_info.name)


def _raiser(error: BaseException) -> Callable[[Dict[str, Any]], Any]:
    def call(feeds):
        raise error
    return call


def loads_per_device(api: str, tf: Any) -> bool:
    """True in graph mode: a session places every op of its graph, so ops built for one device (say
    XLA_CPU) would break later runs for another; each device gets its own graph."""
    return not tf.executing_eagerly()


def open_model(api: str, tf: Any, hub: Any, handle: str, resolved_path: Callable[[], str],
               tags: Optional[Sequence[str]], signatures: Optional[Sequence[str]] = None,
               device: Optional[Device] = None, clear_devices: bool = False) -> Loaded:
    """Load ``handle`` through ``api``; raises what TensorFlow raises.

    ``device`` matters where :func:`loads_per_device` says so (graph mode); eager calls are placed per call.
    """
    eager = tf.executing_eagerly()
    load_kwargs = {} if tags is None else {"tags": list(tags)}
    if api == "hub.Module":
        module_class = hub.Module  # AttributeError in tensorflow-hub >= 0.16: diagnosed as api-absent
        if eager:
            # A fresh name each time: a failed eager attempt leaves its name scope taken, and the next
            # attempt would report that instead of the real error.
            module_class(handle, name="module_%d" % next(_EAGER_MODULE_NAMES),
                         **({} if tags is None else {"tags": set(tags)}))
            raise RuntimeError("hub.Module constructed in eager mode")  # TF raises before this line
        return GraphModel(tf, api, _build_hub_module(tf, hub, handle, tags), device)
    if api == "hub.load":
        if eager:
            return EagerObject(tf, hub.load(handle, **load_kwargs), api)
        return GraphModel(tf, api, _build_object(tf, lambda: hub.load(handle, **load_kwargs), api), device)
    if api == "hub.KerasLayer":
        if eager:
            return EagerKerasLayer(tf, hub, handle, tags, signatures)
        return GraphModel(tf, api, _build_keras(tf, hub, handle, tags), device)
    if api == "saved_model":
        path = resolved_path()
        if eager:
            return EagerObject(tf, tf.compat.v2.saved_model.load(path, **load_kwargs), api)
        return GraphModel(tf, api, _build_v1_saved_model(tf, path, tags, device, clear_devices), device)
    raise ValueError("unknown api %r" % api)
