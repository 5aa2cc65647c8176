"""The untrusted-op scan: before a model runs, every op that loading or calling it can run is read from its
graph file (``saved_model.pb``, else ``saved_model.pbtxt``) and checked against the allow list
``conformance/data/allowed_ops.yaml``: ops reviewed to compute only. Anything else is an :class:`UntrustedOp`
naming the op and where it is reachable: an op reviewed as reaching outside (files, network, processes,
Python), an op nobody reviewed (a newer TensorFlow's, an op library's), an op reading a path that is not the
model's own (an asset, its variables), or an op whose attribute names a place (``PrintV2`` to a file).

What can run: in every meta graph (not only the one the tags choose: hub.Module reads them all), every node
but those only the saver's *save* op reaches (the save op never runs on load), every function those nodes
call (by op name, ``f``/``body``/``then_branch`` attributes, lists of functions) and every saved object's
function, recursively. Signatures, ``main_op``, ``legacy_init_op``, ``__saved_model_init_op``, table
initializers, variable initializers and the saver's restore op are all among them. A graph file that cannot be
read or parsed is itself a finding: it is not run unless trusted.
"""
from __future__ import annotations

import collections
import functools
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

import yaml

ALLOWED_OPS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                                "allowed_ops.yaml")
GRAPH_FILES = ("saved_model.pb", "saved_model.pbtxt")  # TensorFlow's own order
UNREADABLE = "the model's graph file"  # where a finding is when the graph file itself cannot be read


@dataclass(frozen=True)
class UntrustedOp:
    op: str
    touches: str
    where: str  # "graph" or the function's name
    reached_from: str  # what runs it: a signature, an init op, the restore op, a saved object's function

    def line(self) -> str:
        return "op %s (%s) in %s, reachable from %s" % (self.op, self.touches, self.where, self.reached_from)


class AllowList(object):
    """``allowed_ops.yaml``: the reviewed ops and what each may do."""

    def __init__(self, data: Mapping[str, Any]):
        self.compute = frozenset(data.get("compute") or ())
        self.path_inputs = dict(data.get("path_inputs") or {})  # op -> indices of its path inputs
        self.allowed_when = dict(data.get("allowed_when") or {})  # op -> {attr:, values:}
        self.outside = dict(data.get("outside") or {})  # op -> what it touches
        self.reviewed_for = dict(data.get("reviewed_for") or {})

    def reviewed(self, op: str) -> bool:
        return op in self.compute or op in self.path_inputs or op in self.allowed_when or op in self.outside

    def verdict(self, node: Any) -> Optional[str]:
        """Why ``node`` may not run (None: it computes only; path inputs are checked apart)."""
        op = node.op
        if op in self.compute or op in self.path_inputs:
            return None
        if op in self.allowed_when:
            rule = self.allowed_when[op]
            value = node.attr[rule["attr"]].s.decode("utf-8", "replace") if rule["attr"] in node.attr else ""
            if value in rule["values"]:
                return None
            return "its %s %r is not one of %s" % (rule["attr"], value, ", ".join(map(repr, rule["values"])))
        if op in self.outside:
            return self.outside[op]
        return "not in the allow list reviewed for TensorFlow %s" % ", ".join(
            str(v) for v in self.reviewed_for.get("tensorflow", []))


def allow_list() -> AllowList:
    return _read_allow_list()


@functools.lru_cache(maxsize=None)
def _read_allow_list() -> AllowList:
    """Read once per process (the fork server reads it before forking its executors)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(ALLOWED_OPS_FILE) as stream:
        return AllowList(yaml.load(stream, Loader=loader))


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


def graph_file(directory: str) -> Optional[str]:
    """The model's graph file, as TensorFlow picks it: ``saved_model.pb``, else ``saved_model.pbtxt``."""
    for name in GRAPH_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    return None


def read_saved_model(saved_model_pb: str) -> Any:
    """The parsed SavedModel, binary or text (not to be changed: the last two files read are kept, since the
    scan, the parse specs, the composite inputs, the state writes and the op libraries each read the current
    model's)."""
    stat = os.stat(saved_model_pb)
    return _parsed(os.path.abspath(saved_model_pb), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2)
def _parsed(saved_model_pb: str, mtime_ns: int, size: int) -> Any:
    from tensorflow.core.protobuf import saved_model_pb2  # the executor's TensorFlow reads its own protos

    model = saved_model_pb2.SavedModel()
    with open(saved_model_pb, "rb") as stream:
        data = stream.read()
    if saved_model_pb.endswith(".pbtxt"):
        from google.protobuf import text_format
        text_format.Merge(data.decode("utf-8"), model)
    else:
        model.ParseFromString(data)
    return model


def meta_graphs(model: Any, tags: Optional[Iterable[str]] = ()) -> List[Any]:
    """The meta graphs whose tags are ``tags``, else (no such graph, or no tags given) all of them."""
    if tags is None:
        return list(model.meta_graphs)
    wanted = set(tags)
    return [g for g in model.meta_graphs if set(g.meta_info_def.tags) == wanted] or list(model.meta_graphs)


def reachable(graph: Any, signatures: Iterable[str] = None, object_functions: bool = True) -> Iterable[Reached]:
    """Every node reachable from ``signatures`` (default: all) of one meta graph, each once, signatures first."""
    names = list(graph.signature_def) if signatures is None else [s for s in signatures if s in graph.signature_def]
    roots = [("signature " + name, [_node_name(t) for info in graph.signature_def[name].outputs.values()
                                     for t in _tensor_names(info)]) for name in names]
    return _walk(graph, roots, object_functions)


def _walk(graph: Any, roots: List[Tuple[str, List[str]]], object_functions: bool) -> Iterable[Reached]:
    """Every node reachable from the named root nodes of one meta graph (then from its saved objects'
    functions), each once, labelled with the first root that reaches it."""
    library = {function.signature.name: function for function in graph.graph_def.library.function}
    nodes = {node.name: node for node in graph.graph_def.node}
    called = collections.OrderedDict()  # type: Dict[str, str]  function name -> what reaches it
    seen = set()  # type: Set[str]
    for label, names in roots:
        pending = list(reversed(names))
        while pending:
            node = nodes.get(pending.pop())
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            yield Reached(node, "graph", label, nodes)
            pending.extend(_node_name(i) for i in node.input)
            for function in _called_functions(node, library):
                called.setdefault(function, label)
    pending_functions = collections.deque(called.items())
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


def _save_only(graph: Any, nodes: Mapping[str, Any]) -> Set[str]:
    """The nodes only the saver's save op reaches (it runs when a model is saved, never on load)."""
    save = _node_name(graph.saver_def.save_tensor_name) if graph.HasField("saver_def") else ""
    if save not in nodes:
        return set()
    found, pending = set(), [save]  # type: Set[str], List[str]
    while pending:
        name = pending.pop()
        if name in found or name not in nodes:
            continue
        found.add(name)
        pending.extend(_node_name(i) for i in nodes[name].input)
    filename = _node_name(graph.saver_def.filename_tensor_name)
    return found - {filename}


def _variable_initializers(graph: Any) -> List[str]:
    """The initializer nodes of the variables the graph's collections list (``global_variables_initializer``
    runs them)."""
    from tensorflow.core.framework import variable_pb2

    names = []
    for key, collection in graph.collection_def.items():
        if not key.endswith("variables") or not collection.HasField("bytes_list"):
            continue
        for value in collection.bytes_list.value:
            variable = variable_pb2.VariableDef()
            try:
                variable.ParseFromString(value)
            except Exception:  # noqa: BLE001 - not a VariableDef: nothing to root at
                continue
            names.extend(_node_name(n) for n in (variable.initializer_name, variable.snapshot_name) if n)
    return names


def _roots(graph: Any, skip: Set[str]) -> List[Tuple[str, List[str]]]:
    """What loading and calling a meta graph can run, most telling label first."""
    roots = [("signature " + name, [_node_name(t) for info in signature.outputs.values() for t in _tensor_names(info)])
             for name, signature in graph.signature_def.items()]
    for key, collection in sorted(graph.collection_def.items()):
        if collection.HasField("node_list"):
            roots.append(("collection %s" % key, [_node_name(n) for n in collection.node_list.value]))
    roots.append(("a variable's initializer", _variable_initializers(graph)))
    if graph.HasField("saver_def"):
        roots.append(("the saver's restore op", [_node_name(graph.saver_def.restore_op_name)]))
    roots.append(("the graph (any node can be fetched)", [n.name for n in graph.graph_def.node if n.name not in skip]))
    return roots


class _PathOrigins(object):
    """Where a path input of an op comes from, followed back through identities, function arguments (to every
    call site, or to the saved object the argument captures) and the loader's feeds."""

    MAX_DEPTH = 32

    def __init__(self, graph: Any, model_dir: str):
        self.graph = graph
        self.model_dir = os.path.realpath(model_dir) + os.sep
        self.library = {f.signature.name: f for f in graph.graph_def.library.function}
        self.nodes = {node.name: node for node in graph.graph_def.node}
        self.bodies = {name: {node.name: node for node in f.node_def} for name, f in self.library.items()}
        self.assets = {_with_index(a.tensor_info.name): a.filename for a in _asset_file_defs(graph)}
        self.saver_filename = (_with_index(graph.saver_def.filename_tensor_name)
                               if graph.HasField("saver_def") else None)
        self.callers = collections.defaultdict(list)  # type: Dict[str, List[Tuple[str, Any]]]
        for node in graph.graph_def.node:
            for function in _called_functions(node, self.library):
                self.callers[function].append(("graph", node))
        for name, function in self.library.items():
            for node in function.node_def:
                for called in _called_functions(node, self.library):
                    self.callers[called].append((name, node))

    def problem(self, where: str, node: Any, index: int) -> Optional[str]:
        """None where input ``index`` of ``node`` is the model's own file, else why not."""
        data_inputs = [i for i in node.input if not i.startswith("^")]
        if index >= len(data_inputs):
            return "its path input is missing"
        return self._origin(where, data_inputs[index], 0)

    def _origin(self, where: str, tensor: str, depth: int) -> Optional[str]:
        if depth > self.MAX_DEPTH:
            return "its path could not be traced"
        name = _node_name(tensor)
        if where == "graph":
            full = _with_index(tensor)
            if full in self.assets or full == self.saver_filename:
                return None  # the loader feeds the model's own asset or variables path
            node = self.nodes.get(name)
        else:
            arguments = [a.name for a in self.library[where].signature.input_arg]
            if name in arguments and name not in self.bodies[where]:
                return self._argument(where, arguments.index(name), depth)
            node = self.bodies[where].get(name)
        if node is None:
            return "its path comes from %s, which is not in the graph" % tensor
        if node.op in ("Identity", "Snapshot", "StopGradient") and node.input:
            return self._origin(where, node.input[0], depth + 1)
        if node.op == "Const":
            value = b"".join(node.attr["value"].tensor.string_val).decode("utf-8", "replace")
            path = os.path.realpath(value) if os.path.isabs(value) else None
            if path is not None and path.startswith(self.model_dir):
                return None
            return "its path is the constant %r, outside the model's directory" % value
        return "its path is computed (by %s %s), not the model's own file" % (node.op, node.name)

    def _argument(self, function: str, index: int, depth: int) -> Optional[str]:
        """A function argument: a captured asset of the saved object graph, else what every caller passes."""
        concrete = self.graph.object_graph_def.concrete_functions
        if function in concrete and concrete[function].bound_inputs:
            bound = list(concrete[function].bound_inputs)
            first_bound = len(self.library[function].signature.input_arg) - len(bound)
            if index >= first_bound:
                kind = self.graph.object_graph_def.nodes[bound[index - first_bound]].WhichOneof("kind")
                return None if kind == "asset" else "its path is a captured %s, not an asset" % kind
        callers = self.callers.get(function, [])
        if not callers:
            return "its path is an argument of %s, passed by the caller" % function
        for where, node in callers:
            data_inputs = [i for i in node.input if not i.startswith("^")]
            if index >= len(data_inputs):
                return "its path is an argument of %s that a caller does not pass" % function
            problem = self._origin(where, data_inputs[index], depth + 1)
            if problem is not None:
                return problem
        return None


def _asset_file_defs(graph: Any) -> List[Any]:
    """The assets the loader feeds: ``asset_file_def``, else (older SavedModels) the ``saved_model_assets``
    collection, as TensorFlow's loader reads them."""
    if graph.asset_file_def:
        return list(graph.asset_file_def)
    from tensorflow.core.protobuf import meta_graph_pb2

    found = []
    collection = graph.collection_def["saved_model_assets"] if "saved_model_assets" in graph.collection_def else None
    for value in collection.any_list.value if collection is not None else ():
        asset = meta_graph_pb2.AssetFileDef()
        if value.Unpack(asset):
            found.append(asset)
    return found


def _with_index(tensor: str) -> str:
    return tensor if ":" in tensor else tensor + ":0"


def scan(saved_model_pb: str, allowed: AllowList = None) -> List[UntrustedOp]:
    """Every op outside the allow list that loading or calling the model can run, in every meta graph (not only
    the variant its tags choose: hub.Module reads them all); one finding per op (and reason)."""
    allowed = allow_list() if allowed is None else allowed
    try:
        model = read_saved_model(saved_model_pb)
    except Exception as error:  # noqa: BLE001 - a file TensorFlow would read but the scan cannot
        return [UntrustedOp(os.path.basename(saved_model_pb), "the scan cannot parse it: %s" % error,
                            UNREADABLE, "loading")]
    found = {}  # type: Dict[Tuple[str, str], UntrustedOp]
    model_dir = os.path.dirname(os.path.abspath(saved_model_pb))
    for graph in model.meta_graphs:
        nodes = {node.name: node for node in graph.graph_def.node}
        origins = None  # type: Optional[_PathOrigins]
        for reached in _walk(graph, _roots(graph, _save_only(graph, nodes)), True):
            node = reached.node
            why = allowed.verdict(node)
            if why is None and node.op in allowed.path_inputs:
                origins = origins or _PathOrigins(graph, model_dir)
                why = next((problem for problem in (origins.problem(reached.where, node, index)
                                                    for index in allowed.path_inputs[node.op]) if problem), None)
            if why is not None and (node.op, why) not in found:
                found[(node.op, why)] = UntrustedOp(node.op, why, reached.where, reached.reached_from)
    return sorted(found.values(), key=lambda finding: (finding.op, finding.touches))


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
