"""``hub.Module``: the TF1 Hub format's api, graph mode only (tensorflow-hub < 0.16)."""
from __future__ import annotations

import itertools
from typing import Any, Optional, Sequence

from conformance.runtime.apis.graph import GraphModel
from conformance.runtime.apis.loaded import Loaded
from conformance.runtime.apis.tensors import describe_spec
from conformance.runtime.devices import Device

_EAGER_MODULE_NAMES = itertools.count()


def build_in_graph(hub: Any, handle: str, tags: Optional[Sequence[str]]):
    def build(model: GraphModel):
        module = hub.Module(handle, tags=None if tags is None else set(tags))
        for name in module.get_signature_names():
            description = {
                "inputs": {k: describe_spec(v) for k, v in module.get_input_info_dict(name).items()},
                "outputs": {k: describe_spec(v) for k, v in module.get_output_info_dict(name).items()}}

            model.add(name, description, lambda feeds, name=name: module(feeds, signature=name, as_dict=True))
    return build


def open_hub_module(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]], device: Optional[Device]) -> Loaded:
    module_class = hub.Module  # AttributeError in tensorflow-hub >= 0.16: diagnosed as api-absent
    if tf.executing_eagerly():
        # A fresh name each time: a failed eager attempt leaves its name scope taken, and the next
        # attempt would report that instead of the real error.
        module_class(handle, name="module_%d" % next(_EAGER_MODULE_NAMES),
                     **({} if tags is None else {"tags": set(tags)}))
        raise RuntimeError("hub.Module constructed in eager mode")  # TF raises before this line
    return GraphModel(tf, "hub.Module", build_in_graph(hub, handle, tags), device)
