"""``hub.KerasLayer``: one layer per signature (``signature=``, outputs as a dict), eager or in a graph."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

from conformance.runtime.apis import objects
from conformance.runtime.apis.graph import GraphModel
from conformance.runtime.apis.loaded import CALL, Loaded, NotApplicable, as_dict
from conformance.runtime.apis.tensors import to_numpy, to_tensors
from conformance.runtime.devices import Device, compiled, placement


def layer_kwargs(signature: str, tags: Optional[Sequence[str]]) -> Dict[str, Any]:
    kwargs = {} if tags is None else {"tags": list(tags)}  # type: Dict[str, Any]
    if signature != CALL:
        kwargs.update(signature=signature, signature_outputs_as_dict=True)
    return kwargs


def layer_argument(tensors: Dict[str, Any]) -> Any:
    """A layer takes its one input alone, several as a dict."""
    return next(iter(tensors.values())) if len(tensors) == 1 else tensors


class EagerKerasLayer(Loaded):
    """A layer per signature. The first layer's loaded object (``resolved_object``) lists and describes the
    signatures; it is made for the first signature asked for, else the first the model's files name
    (``listed()``, read without TensorFlow), else ``__call__``. Where that layer cannot be made, ``hub.load``
    lists them (and the layers then say what fails)."""

    def __init__(self, tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]],
                 signatures: Optional[Sequence[str]], listed: Callable[[], Sequence[str]] = lambda: ()):
        self.tf = tf
        self.layers = {}  # type: Dict[str, Any]
        self._calls = {}  # type: Dict[Any, Any]  # (signature, device) -> the call, compiled once for xla
        first = (list(signatures or ()) or list(listed()) or [CALL])[0]
        try:
            layer = hub.KerasLayer(handle, **layer_kwargs(first, tags))
            self.resolved = layer.resolved_object
        except Exception:  # noqa: BLE001 - a guess that did not fit (or a broken model): hub.load says which
            layer, self.resolved = None, hub.load(handle, **({} if tags is None else {"tags": list(tags)}))
        names = objects.signature_names(self.resolved)
        if layer is not None and first in names:
            self.layers[first] = layer
        for name in signatures or names:
            if name not in names or name in self.layers:
                continue  # call() reports a missing signature
            self.layers[name] = hub.KerasLayer(handle, **layer_kwargs(name, tags))

    def signature_names(self):
        return objects.signature_names(self.resolved)

    def describe(self, signature):
        return objects.describe(self.resolved, signature, "hub.KerasLayer")

    def call_alone(self, signature, inputs, device, output):
        raise NotApplicable("hub.KerasLayer computes every output of its signature (output_key only selects one)")

    def op_counts(self, signature, device):
        raise NotApplicable("hub.KerasLayer computes every output of its signature: no op count per output")

    def call(self, signature, inputs, device, fetch=None):
        described = self.describe(signature)["inputs"]
        layer, tf = self.layers[signature], self.tf
        argument = layer_argument(to_tensors(tf, inputs, described))

        key = (signature, device.name)
        if key not in self._calls:
            def run(value):
                return as_dict(layer(value))

            self._calls[key] = compiled(tf, device, run)
        with placement(tf, device)():
            outputs = self._calls[key](argument)
        return {name: to_numpy(tf, value) for name, value in outputs.items()}


def build_in_graph(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]]):
    def build(model: GraphModel):
        # Listed and described from a copy loaded in a graph of its own: loaded into the model's graph, it
        # changed what the layers do there (a TF1 model's device-pinned variables then initialize, which a
        # user's lone KerasLayer cannot).
        with tf.Graph().as_default():
            resolved = hub.load(handle, tags=None if tags is None else list(tags))
            described = {name: objects.describe(resolved, name, "hub.KerasLayer")
                         for name in objects.signature_names(resolved)}
        for name, description in described.items():
            layer = hub.KerasLayer(handle, **layer_kwargs(name, tags))  # variables outside the device scope

            def call(feeds, layer=layer):
                return as_dict(layer(layer_argument(feeds)))

            model.add(name, description, call)
    return build


def open_keras_layer(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]],
                     signatures: Optional[Sequence[str]], device: Optional[Device],
                     listed: Callable[[], Sequence[str]] = lambda: ()) -> Loaded:
    if tf.executing_eagerly():
        return EagerKerasLayer(tf, hub, handle, tags, signatures, listed)
    return GraphModel(tf, "hub.KerasLayer", build_in_graph(tf, hub, handle, tags), device)
