"""``tf.saved_model``: ``tf.saved_model.load`` in eager runtimes, the TF1 loader (``loader.load`` into a
session) in graph runtimes."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from conformance.runtime.apis.graph import GraphModel
from conformance.runtime.apis.hub_load import EagerObject
from conformance.runtime.apis.loaded import HIDDEN_SIGNATURES, Loaded, NotApplicable, tags_kwargs
from conformance.runtime.devices import Device, placement, session_config


class SignatureNotCallable(Exception):
    """A signature that was described but cannot be called through this api (e.g. a composite TensorInfo)."""


def describe_tensor_info(tf: Any, graph: Any, tensor_info: Any) -> Dict[str, Any]:
    """dtype, shape and kind of a TensorInfo; one without ``tensor_shape`` (or of unknown rank) is not a
    scalar: the graph's tensor says what it knows."""
    encoding = tensor_info.WhichOneof("encoding")
    kind = {"name": "dense", "coo_sparse": "sparse"}.get(encoding, "composite")
    shape = tensor_info.tensor_shape
    dims = None if shape.unknown_rank else [None if d.size < 0 else int(d.size) for d in shape.dim]
    if encoding == "name" and (not tensor_info.HasField("tensor_shape") or shape.unknown_rank):
        static = graph.get_tensor_by_name(tensor_info.name).shape
        dims = None if static.dims is None else [None if d is None else int(d) for d in static.as_list()]
    return {"dtype": tf.as_dtype(tensor_info.dtype).name, "shape": dims, "kind": kind}


def graph_tensor(tf: Any, graph: Any, tensor_info: Any) -> Any:
    """The tensor a TensorInfo names: a dense tensor, or a SparseTensor of its coo_sparse components."""
    encoding = tensor_info.WhichOneof("encoding")
    if encoding == "name":
        return graph.get_tensor_by_name(tensor_info.name)
    if encoding == "coo_sparse":
        parts = tensor_info.coo_sparse
        return tf.SparseTensor(graph.get_tensor_by_name(parts.indices_tensor_name),
                               graph.get_tensor_by_name(parts.values_tensor_name),
                               graph.get_tensor_by_name(parts.dense_shape_tensor_name))
    raise SignatureNotCallable("a %s TensorInfo is not fed or fetched by name through the TF1 loader" % encoding)


def raiser(error: BaseException) -> Callable[[Dict[str, Any]], Any]:
    def call(feeds):
        raise error
    return call


def build_v1_loader(tf: Any, path: str, tags: Optional[Sequence[str]], device: Device, clear_devices: bool = False):
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
        for name, signature in meta_graph.signature_def.items():
            if name in HIDDEN_SIGNATURES:
                continue
            try:
                description = {
                    "inputs": {k: describe_tensor_info(tf, model.graph, v) for k, v in signature.inputs.items()},
                    "outputs": {k: describe_tensor_info(tf, model.graph, v) for k, v in signature.outputs.items()}}
            except (KeyError, ValueError, TypeError) as error:
                model.add_broken(name, error)
                continue
            try:
                feeds = {k: graph_tensor(tf, model.graph, v) for k, v in signature.inputs.items()}
                outputs = {k: graph_tensor(tf, model.graph, v) for k, v in signature.outputs.items()}
                with model.graph.as_default():
                    outputs = {k: tf.sparse.to_dense(v) if isinstance(v, tf.SparseTensor) else v
                               for k, v in outputs.items()}
            except (KeyError, ValueError, TypeError, SignatureNotCallable) as error:
                model.add(name, description, raiser(error))
                continue
            model.add(name, description, None, (feeds, outputs))
    return build


def open_saved_model(tf: Any, path: str, tags: Optional[Sequence[str]], device: Optional[Device],
                     clear_devices: bool = False) -> Loaded:
    if tf.executing_eagerly():
        return EagerObject(tf, tf.compat.v2.saved_model.load(path, **tags_kwargs(tags)), "saved_model")
    return GraphModel(tf, "saved_model", build_v1_loader(tf, path, tags, device, clear_devices), device)
