"""``hub.load`` (and ``tf.saved_model.load``, the same object): eager calls, pruning of TF1 models, and the
graph-mode build where the loaded object's functions are called inside a graph."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from conformance.runtime.apis import objects
from conformance.runtime.apis.graph import GraphModel
from conformance.runtime.apis.loaded import CALL, Loaded, NotApplicable, as_dict, tags_kwargs
from conformance.runtime.apis.tensors import kind_of, to_numpy, to_tensor, to_tensors
from conformance.runtime.devices import Device, compiled, placement


class EagerObject(Loaded):
    """A loaded TF2 object in an eager runtime."""

    def __init__(self, tf: Any, obj: Any, api: str):
        self.tf, self.obj, self.api = tf, obj, api
        self._calls = {}  # type: dict  # (signature, device[, output]) -> the call, compiled once for xla

    def signature_names(self):
        return objects.signature_names(self.obj)

    def describe(self, signature):
        return objects.describe(self.obj, signature, self.api)

    def call(self, signature, inputs, device, fetch=None):
        described = self.describe(signature)["inputs"]  # raises SignatureNotFound with the names this api sees
        tf = self.tf
        tensors = to_tensors(tf, inputs, described)

        key = (signature, device.name)
        if key not in self._calls:
            def run(named):  # one dict, not **kwargs: input names such as `x.0` are no Python identifiers
                return objects.invoke(self.obj, signature, named, tf)

            self._calls[key] = compiled(tf, device, run)
        with placement(tf, device)():
            outputs = self._calls[key](tensors)
        return {name: to_numpy(tf, value) for name, value in outputs.items()}

    def _pruning(self, signature: str) -> "Pruning":
        cache = self.__dict__.setdefault("_prunings", {})
        if signature not in cache:
            cache[signature] = Pruning(self.obj, signature)
        return cache[signature]

    def call_alone(self, signature, inputs, device, output):
        described = self.describe(signature)["inputs"]
        pruning = self._pruning(signature)
        function = pruning.function(output)
        arguments = [to_tensor(self.tf, inputs[name], described.get(name, {})) for name in pruning.keywords]
        key = (signature, device.name, output)
        if key not in self._calls:
            self._calls[key] = compiled(self.tf, device, lambda *args: function(*args))
        with placement(self.tf, device)():
            return to_numpy(self.tf, self._calls[key](*arguments))

    def op_counts(self, signature, device):
        pruning = self._pruning(signature)
        counts = {"*": function_ops(self.obj.signatures[signature])}
        for output in pruning.fetches:
            counts[output] = function_ops(pruning.function(output))
        return counts

    def prune_names(self, signature, output):
        pruning = self._pruning(signature)
        return {"feeds": pruning.feeds, "fetches": pruning.fetches[output], "arguments": pruning.keywords}


class Pruning(object):
    """``obj.prune(feeds, fetches)`` of a TF1 model loaded by ``hub.load`` / ``tf.saved_model.load``."""

    def __init__(self, obj: Any, signature: str):
        if signature == CALL or not hasattr(obj, "prune"):
            raise NotApplicable("a TF2 SavedModel's functions cannot be pruned: only TF1 models loaded by "
                                "hub.load / tf.saved_model.load have obj.prune")
        function = obj.signatures[signature]
        self.keywords = list(getattr(function, "_arg_keywords", None) or [])
        placeholders = [t for t in function.inputs if t.dtype.name != "resource"][:len(self.keywords)]
        specs = (function.structured_input_signature or ((), {}))[1]
        outputs = as_dict(function.structured_outputs)
        composite = sorted([name for name, value in specs.items() if kind_of(value) != "dense"]
                           + [name for name, tensor in outputs.items() if not hasattr(tensor, "name")])
        if composite:
            raise NotApplicable("obj.prune feeds and fetches tensors by name; %s of this signature %s composite"
                                % (", ".join(composite), "is" if len(composite) == 1 else "are"))
        self.feeds = [t.name for t in placeholders]
        self.fetches = {name: tensor.name for name, tensor in outputs.items()}
        self.obj, self.pruned = obj, {}  # type: Any, Dict[str, Any]

    def function(self, output: str):
        if output not in self.pruned:
            self.pruned[output] = self.obj.prune(feeds=self.feeds, fetches=self.fetches[output])
        return self.pruned[output]


def function_ops(function: Any) -> int:
    """Ops in a (pruned or whole) function's graph, placeholders and no-ops left out."""
    return sum(1 for op in function.graph.get_operations() if op.type not in ("Placeholder", "NoOp"))


def build_in_graph(tf: Any, load: Callable[[], Any], api: str) -> Callable[[GraphModel], None]:
    def build(model: GraphModel):
        obj = load()
        for name in objects.signature_names(obj):
            description = objects.describe(obj, name, api)

            model.add(name, description, lambda feeds, name=name: objects.invoke(obj, name, feeds, tf))
    return build


def open_hub_load(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]], device: Optional[Device]) -> Loaded:
    kwargs = tags_kwargs(tags)
    if tf.executing_eagerly():
        return EagerObject(tf, hub.load(handle, **kwargs), "hub.load")
    return GraphModel(tf, "hub.load", build_in_graph(tf, lambda: hub.load(handle, **kwargs), "hub.load"), device)
