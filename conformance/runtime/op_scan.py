"""The untrusted-op scan: before a model runs, the ops its signatures can reach are read from its
``saved_model.pb`` and checked against ``conformance/data/untrusted_ops.yaml`` (file system, network,
processes, Python).

Reachable means: backwards from every signature output through node inputs (control inputs too) in the
graph, then every node of every function those nodes call (by op name, ``f``/``body``/``then_branch``
attributes, lists of functions), recursively; for TF2 SavedModels also the functions of the saved objects
(``__call__`` and the like). The TF1 saver's own ops hang off ``saver_def`` and are not reachable.
"""
from __future__ import annotations

import collections
import functools
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set

import yaml

UNTRUSTED_OPS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                                  "untrusted_ops.yaml")


@dataclass(frozen=True)
class UntrustedOp:
    op: str
    touches: str
    where: str  # "graph" or the function's name
    reached_from: str  # the signature (or saved object function) it is reachable from

    def line(self) -> str:
        return "op %s (%s) in %s, reachable from %s" % (self.op, self.touches, self.where, self.reached_from)


def untrusted_ops() -> Dict[str, str]:
    """The op -> what it touches list of ``untrusted_ops.yaml``."""
    return dict(_read_untrusted_ops())


@functools.lru_cache(maxsize=None)
def _read_untrusted_ops() -> Dict[str, str]:
    """Read once per process: parsed on every scan, it took 0.63 s of tf2.21's executor on the zoo's 23
    models, 96 % of the scan itself."""
    with open(UNTRUSTED_OPS_FILE) as stream:
        return dict(yaml.safe_load(stream))


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]


def _tensor_names(info: Any) -> List[str]:
    """The graph tensors of one signature TensorInfo (dense, coo_sparse or composite)."""
    kind = info.WhichOneof("encoding")
    if kind == "name":
        return [info.name]
    if kind == "coo_sparse":
        sparse = info.coo_sparse
        return [sparse.values_tensor_name, sparse.indices_tensor_name, sparse.dense_shape_tensor_name]
    if kind == "composite_tensor":
        return [name for component in info.composite_tensor.components for name in _tensor_names(component)]
    return []


def _called_functions(node: Any, library: Mapping[str, Any]) -> Iterable[str]:
    if node.op in library:
        yield node.op
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        for function in value.list.func:
            yield function.name


@dataclass(frozen=True)
class Reached:
    """A node reachable from a signature: where it is, and the other nodes of its graph or function body."""
    node: Any
    where: str  # "graph" or the function's name
    reached_from: str  # "signature NAME" or "a saved object's function"
    scope: Mapping[str, Any]  # node name -> node, in the same graph or function body


def read_saved_model(saved_model_pb: str) -> Any:
    """The parsed SavedModel (not to be changed: the last two files read are kept, since the scan, the parse
    specs, the composite inputs, the state writes and the op libraries each read the current model's)."""
    stat = os.stat(saved_model_pb)
    return _parsed(os.path.abspath(saved_model_pb), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _parsed(saved_model_pb: str, mtime_ns: int, size: int) -> Any:
    from tensorflow.core.protobuf import saved_model_pb2  # the executor's TensorFlow reads its own protos

    model = saved_model_pb2.SavedModel()
    with open(saved_model_pb, "rb") as stream:
        model.ParseFromString(stream.read())
    return model


def meta_graphs(model: Any, tags: Optional[Iterable[str]] = ()) -> List[Any]:
    """The meta graphs whose tags are ``tags``, else (no such graph, or no tags given) all of them."""
    if tags is None:
        return list(model.meta_graphs)
    wanted = set(tags)
    return [g for g in model.meta_graphs if set(g.meta_info_def.tags) == wanted] or list(model.meta_graphs)


def reachable(graph: Any, signatures: Iterable[str] = None, object_functions: bool = True) -> Iterable[Reached]:
    """Every node reachable from ``signatures`` (default: all) of one meta graph, each once, signatures first."""
    library = {function.signature.name: function for function in graph.graph_def.library.function}
    nodes = {node.name: node for node in graph.graph_def.node}
    roots = collections.OrderedDict()  # type: Dict[str, str]  function name -> what reaches it
    names = list(graph.signature_def) if signatures is None else [s for s in signatures if s in graph.signature_def]
    seen = set()  # type: Set[str]
    for name in names:
        signature = graph.signature_def[name]
        pending = [_node_name(t) for info in signature.outputs.values() for t in _tensor_names(info)]
        while pending:
            node = nodes.get(pending.pop())
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            yield Reached(node, "graph", "signature " + name, nodes)
            pending.extend(_node_name(i) for i in node.input)
            for function in _called_functions(node, library):
                roots.setdefault(function, "signature " + name)
    pending_functions = collections.deque(roots.items())
    if object_functions:
        pending_functions.extend((function, "a saved object's function")
                                 for function in graph.object_graph_def.concrete_functions)
    visited = set()  # type: Set[str]
    while pending_functions:
        function_name, origin = pending_functions.popleft()
        function = library.get(function_name)
        if function is None or function_name in visited:
            continue
        visited.add(function_name)
        body = {node.name: node for node in function.node_def}
        for node in function.node_def:
            yield Reached(node, function_name, origin, body)
            pending_functions.extendleft((called, origin) for called in _called_functions(node, library))


def scan(saved_model_pb: str, tags: Optional[Iterable[str]] = (), untrusted: Mapping[str, str] = None) -> List[UntrustedOp]:
    """Untrusted ops reachable in the meta graphs of ``saved_model_pb`` (those matching ``tags``, else all)."""
    untrusted = untrusted_ops() if untrusted is None else untrusted
    found = {}  # type: Dict[str, UntrustedOp]
    for graph in meta_graphs(read_saved_model(saved_model_pb), tags):
        for reached in reachable(graph):
            op = reached.node.op
            if op in untrusted and op not in found:
                found[op] = UntrustedOp(op, untrusted[op], reached.where, reached.reached_from)
    return sorted(found.values(), key=lambda finding: finding.op)


# Ops that write a variable's (or a table's) state: a signature that can reach one is stateful, and its outputs
# may depend on how often and in which order it was called.
STATE_WRITING_OPS = frozenset([
    "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
    "LookupTableInsert", "LookupTableInsertV2", "LookupTableRemoveV2", "LookupTableImport", "LookupTableImportV2"])
STATE_WRITING_PREFIXES = ("Scatter", "ResourceScatter", "Apply", "ResourceApply", "ResourceSparseApply",
                          "SparseApply")


def _writes_state(op: str) -> bool:
    return op in STATE_WRITING_OPS or op.startswith(STATE_WRITING_PREFIXES)


def variable_writes(saved_model_pb: str, tags: Optional[Iterable[str]] = ()) -> Dict[str, List[str]]:
    """``{signature: ["OpType node", ...]}`` for the signatures of the graph variant ``tags`` choose that can
    reach an op writing state (a variable, a table), read before the model runs."""
    found = {}  # type: Dict[str, List[str]]
    for graph in meta_graphs(read_saved_model(saved_model_pb), tags)[:1]:
        for signature in graph.signature_def:
            writes = sorted({"%s %s" % (r.node.op, r.node.name) for r in reachable(graph, [signature], False)
                             if _writes_state(r.node.op)})
            if writes:
                found[signature] = writes
    return found


def op_types(saved_model_pb: str, tags: Optional[Iterable[str]] = ()) -> List[str]:
    """Every op type in the graph variant ``tags`` choose: its nodes and its function library's."""
    found = set()  # type: Set[str]
    for graph in meta_graphs(read_saved_model(saved_model_pb), tags)[:1]:
        found.update(node.op for node in graph.graph_def.node)
        for function in graph.graph_def.library.function:
            found.update(node.op for node in function.node_def)
    return sorted(found)
