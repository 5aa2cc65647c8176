"""``hub.KerasLayer``: one layer per signature (``signature=``, outputs as a dict), eager or in a graph."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from conformance.runtime.apis import objects
from conformance.runtime.apis.graph import GraphModel
from conformance.runtime.apis.loaded import CALL, Loaded, NotApplicable, as_dict, tags_kwargs
from conformance.runtime.apis.tensors import to_numpy, to_tensors
from conformance.runtime.devices import Device, compiled, placement


def layer_kwargs(signature: str, tags: Optional[Sequence[str]]) -> Dict[str, Any]:
    kwargs = tags_kwargs(tags)
    if signature != CALL:
        kwargs.update(signature=signature, signature_outputs_as_dict=True)
    return kwargs


def layer_argument(tensors: Dict[str, Any]) -> Any:
    """A layer takes its one input alone, several as a dict."""
    return next(iter(tensors.values())) if len(tensors) == 1 else tensors


def layer_input(layer: Any, signature: str, tensors: Dict[str, Any]) -> Any:
    """What a layer is called with: for ``__call__``, the structure it was saved with (a tensor, a list of
    several inputs, a dict), rebuilt from the named tensors; for a signature, :func:`layer_argument`."""
    if signature == CALL:
        return objects.pack(objects.call_function(layer.resolved_object).structured_input_signature[0][0], tensors)
    return layer_argument(tensors)


def first_layer(hub: Any, handle: str, tags: Optional[Sequence[str]], signatures: Optional[Sequence[str]],
                listed: Callable[[], Sequence[str]]):
    """``(name, layer, resolved)``: the layer made for the first signature asked for, else the first the
    model's files name (``listed()``, read without TensorFlow), else ``__call__``, and its loaded object
    (``resolved_object``), which lists and describes the signatures: describing costs no load of its own.
    ``layer`` and ``resolved`` are None where it cannot be made (a guess that did not fit, or a broken model):
    then ``hub.load`` lists them, and the layers say what fails."""
    name = (list(signatures or ()) or list(listed()) or [CALL])[0]
    try:
        layer = hub.KerasLayer(handle, **layer_kwargs(name, tags))
        return name, layer, layer.resolved_object
    except Exception:  # noqa: BLE001 - the layers made for the signatures hub.load lists say what fails
        return name, None, None


def all_layers(hub: Any, handle: str, tags: Optional[Sequence[str]], wanted: Sequence[str], names: Sequence[str],
               first: Tuple[str, Any]) -> Dict[str, Any]:
    """A layer per wanted signature the model has (each loads the model, as a user's layer does), the first
    one already made."""
    layers = {first[0]: first[1]} if first[1] is not None and first[0] in names else {}  # type: Dict[str, Any]
    for name in wanted:
        if name not in names or name in layers:
            continue  # a missing signature is reported by the call
        layers[name] = hub.KerasLayer(handle, **layer_kwargs(name, tags))
    return layers


class EagerKerasLayer(Loaded):
    """A layer per signature; the first layer's loaded object lists and describes them (:func:`first_layer`)."""

    def __init__(self, tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]],
                 signatures: Optional[Sequence[str]], listed: Callable[[], Sequence[str]] = lambda: ()):
        self.tf = tf
        self._calls = {}  # type: Dict[Any, Any]  # (signature, device) -> the call, compiled once for xla
        first, layer, self.resolved = first_layer(hub, handle, tags, signatures, listed)
        if self.resolved is None:
            self.resolved = hub.load(handle, **tags_kwargs(tags))
        names = objects.signature_names(self.resolved)
        self.layers = all_layers(hub, handle, tags, signatures or names, names, (first, layer))

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
        argument = layer_input(layer, signature, to_tensors(tf, inputs, described))

        key = (signature, device.name)
        if key not in self._calls:
            def run(value):
                return as_dict(layer(value))

            self._calls[key] = compiled(tf, device, run)
        with placement(tf, device)():
            outputs = self._calls[key](argument)
        return {name: to_numpy(tf, value) for name, value in outputs.items()}


def build_in_graph(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]],
                   listed: Callable[[], Sequence[str]] = lambda: ()):
    def build(model: GraphModel):
        # The layers are made in the model's graph, outside the device scope, as a user makes them. Where the
        # first is not one of them (it could not be made, or its signature is not the model's), they go into a
        # new graph: a copy of the model the guess loaded, or one loaded to list the signatures, changed what
        # the layers do in the model's graph (a TF1 model's device-pinned variables then initialize, which a
        # user's lone KerasLayer cannot).
        first, layer, resolved = first_layer(hub, handle, tags, None, listed)
        if resolved is None:
            with tf.Graph().as_default():
                resolved = hub.load(handle, **tags_kwargs(tags))
        names = objects.signature_names(resolved)
        if layer is None or first not in names:
            model.new_graph()
            layer = None
        with model.graph.as_default():
            layers = all_layers(hub, handle, tags, names, names, (first, layer))
        for name, made in sorted(layers.items()):
            def call(feeds, layer=made, name=name):
                return as_dict(layer(layer_input(layer, name, feeds)))

            model.add(name, objects.describe(resolved, name, "hub.KerasLayer"), call)
    return build


def open_keras_layer(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]],
                     signatures: Optional[Sequence[str]], device: Optional[Device],
                     listed: Callable[[], Sequence[str]] = lambda: ()) -> Loaded:
    if tf.executing_eagerly():
        return EagerKerasLayer(tf, hub, handle, tags, signatures, listed)
    return GraphModel(tf, "hub.KerasLayer", build_in_graph(tf, hub, handle, tags, listed), device)
