"""Any api in a graph runtime: call ops are built per signature and device, then run in a session."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from conformance.runtime.apis.loaded import Loaded, missing
from conformance.runtime.apis.tensors import densify, sparse_parts, to_tensors
from conformance.runtime.devices import Device, compiled, placement, session_config


class GraphModel(Loaded):
    """``build(model)`` loads the model into ``model.graph`` and registers its signatures with :meth:`add`; it
    may open ``model.session`` itself (the v1 SavedModel loader restores variables into its session).
    """

    def __init__(self, tf: Any, api: str, build: Callable[["GraphModel"], None], device: Optional[Device] = None):
        self.tf, self.api, self.device = tf, api, device
        self.graph = tf.Graph()
        self.names = []  # type: List[str]
        self.descriptions = {}  # type: Dict[str, Dict[str, Any]]
        self.builders = {}  # type: Dict[str, Any]
        self.broken = {}  # type: Dict[str, BaseException]
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

    def new_graph(self) -> Any:
        """For a ``build`` whose failed attempt left ops in the model's graph: the model starts again in an
        empty graph, which the rest of ``build`` makes the default itself."""
        self.graph = self.tf.Graph()
        return self.graph

    def _initializers(self) -> List[Any]:
        tf1 = self.tf.compat.v1
        ops = flatten([v.initializer for v in tf1.global_variables()])  # a list for restored TF2 variables
        for key in (tf1.GraphKeys.TABLE_INITIALIZERS, "saved_model_initializers"):
            ops.extend(flatten(self.graph.get_collection(key)))
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

    def add_broken(self, signature: str, error: BaseException) -> None:
        """A signature the model lists but that cannot be described: describing it raises ``error``."""
        self.names.append(signature)
        self.broken[signature] = error

    def signature_names(self):
        return sorted(self.names)

    def describe(self, signature):
        if signature in self.broken:
            raise self.broken[signature]
        if signature not in self.descriptions:
            raise missing(signature, self.names, self.api)
        return self.descriptions[signature]

    def _ops(self, signature, device):
        if self.device is not None and device.name != self.device.name:
            raise ValueError("graph built for %s, called for %s" % (self.device.name, device.name))
        call, tensors = self.builders[signature]
        if tensors is not None:
            return tensors
        key = (signature, device.name)
        if key not in self.ops:
            tf, described = self.tf, self.descriptions[signature]["inputs"]
            with self.graph.as_default(), placement(tf, device)():
                feeds = placeholders(tf, self.descriptions[signature])
                arguments = to_tensors(tf, feeds, described)  # composites rebuilt outside the compiled call
                outputs = compiled(tf, device, call)(arguments)  # one dict: names like `x.0` are no identifiers
                outputs = {name: densify(tf, value) for name, value in outputs.items()}
                self.ops[key] = (feeds, outputs)
            self._initialize_new()
        return self.ops[key]

    def call_alone(self, signature, inputs, device, output):
        return self.call(signature, inputs, device, fetch=[output])[output]

    def op_counts(self, signature, device):
        _, outputs = self._ops(signature, device)
        counts = {"*": closure_size(list(outputs.values()))}
        counts.update({name: closure_size([tensor]) for name, tensor in outputs.items()})
        return counts

    def call(self, signature, inputs, device, fetch=None):
        self.describe(signature)
        feeds, outputs = self._ops(signature, device)
        wanted = {name: outputs[name] for name in (fetch or sorted(outputs))}
        feed_dict = {}
        for name, value in inputs.items():
            feed = feeds[name]
            feed_dict[feed] = sparse_parts(value) if isinstance(feed, self.tf.SparseTensor) else value
        return {name: np.asarray(value) for name, value in self.session.run(wanted, feed_dict).items()}

    def close(self):
        if self.session is not None:
            self.session.close()


def closure_size(tensors: Sequence[Any]) -> int:
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


def flatten(items: Any) -> List[Any]:
    if isinstance(items, (list, tuple)):
        return [leaf for item in items for leaf in flatten(item)]
    return [items]


def placeholders(tf: Any, description: Dict[str, Any]) -> Dict[str, Any]:
    """One dense placeholder per input: composite inputs are fed dense and rebuilt in the graph."""
    return {name: tf.compat.v1.placeholder(tf.as_dtype(info["dtype"]), shape=info["shape"], name=name)
            for name, info in description["inputs"].items()}
