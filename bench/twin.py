"""The bare twin of one runtime's load and semantics cases: the same TensorFlow work, nothing else.

    <runtime env>/bin/python bench/twin.py reports/runs/<run-id>/<runtime> [--json]

Reads the observation files a finished run left (``<worker>.json`` and the ``.inputs.npz`` beside them) and
replays, in this one plain process, exactly the TensorFlow work its load and semantics cases record:

- each model loaded once per api (and per device where the framework builds a graph per device), a load the
  framework saw fail tried too (``hub.KerasLayer``: the plain layer);
- each signature that produced outputs called twice (the call and the repeat) on the recorded inputs, on its
  device (``cpu``, or ``xla`` compiled the way the framework compiles it);
- each semantics measurement: the all-outputs call and every output computed alone (a fetch in graph mode,
  ``obj.prune`` in eager mode), each once to warm up and three times timed, or once where it failed.

It imports nothing of hub-conformance, so its wall time is the floor for that work. Prints the figures
(``--json``: one JSON object) for ``bench/overhead.py``.

In graph mode, signatures fed composite (sparse, ragged) inputs and ``__call__`` with more than one input
are not replayed; they are counted as ``not_replayed``. Nor are the ``proof`` cases (on a model with a
``counter``: the counter read, two calls of a signature, the counter read again), the ``cost`` cases' op
counts (the framework's own reading of graphs it already has); nor the train and cluster cases, which
``bench/twin_train.py`` replays.
"""
import argparse
import collections
import glob
import importlib
import json
import os
import sys
import time

STARTED = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_hub as hub  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)  # as the framework's executor does

IMPORT_SECONDS = time.perf_counter() - STARTED
CALL = "__call__"
TIMED = 3  # a semantics measurement's timed calls after its warm-up, where the run did not record them


class Call(collections.namedtuple("Call", "signature seen fetch alone times fails")):
    """One replayed call, ``times`` times: ``fetch`` the outputs a graph session runs (None: all), ``alone`` the
    output an eager pruned function computes; ``fails`` where the framework saw it fail."""


def load_calls(entry):
    """The call and its repeat of every signature a load case ran; once where it failed."""
    for name, seen in sorted((entry.get("signatures") or {}).items()):
        fetch = seen.get("fetched")
        fetch = fetch if isinstance(fetch, list) else None
        if seen.get("outputs_file"):  # a repeat that failed is recorded as the signature's error
            yield Call(name, seen, fetch, None, 2, "error" in seen)
        elif seen.get("inputs_file") and "error" in seen:
            yield Call(name, seen, fetch, None, 1, True)


def semantics_calls(record, seen):
    """A semantics case's measurements: the all-outputs call, then each output alone."""
    def times(measured):
        if not measured.get("measured"):
            return 0
        return 1 if "error" in measured else 1 + measured.get("repeats", TIMED)

    name = record["signature"]
    yield Call(name, seen, None, None, times(record.get("all") or {}), "error" in (record.get("all") or {}))
    for output, measured in sorted((record.get("alone") or {}).items()):
        yield Call(name, seen, [output], output, times(measured), "error" in measured)


def read_cases(runtime_dir):
    """The load cases that loaded and the semantics cases that measured, in the order they started, with
    their worker's run info."""
    cells, info = [], {}
    for path in sorted(glob.glob(os.path.join(runtime_dir, "*.json"))):
        with open(path) as stream:
            document = json.load(stream)
        info = document.get("run_info") or info
        for entry in (document.get("cases") or {}).values():
            if entry.get("check") == "load" and entry.get("handle") and (
                    entry.get("loaded") or (entry.get("error") or {}).get("stage") == "load"):
                cells.append(entry)  # a load that failed is tried too: the framework tried it
            elif entry.get("check") == "semantics" and "all" in (entry.get("semantics") or {}):
                cells.append(entry)
    cells.sort(key=lambda entry: entry.get("started", 0.0))
    return cells, info


def replayable(name, seen, mode):
    """Eager: every input, as the framework feeds it (composite ones too); graph: dense inputs only. A
    ``__call__`` with several inputs when they are named as a dict's keys (its one argument), not a list's
    positions (``0``, ``x.0``)."""
    inputs = (seen.get("description") or {}).get("inputs") or {}
    if name == CALL and len(inputs) > 1 and (mode == "graph" or any(key.split(".")[-1].isdigit() for key in inputs)):
        return False
    return mode == "eager" or all(info.get("kind", "dense") == "dense" for info in inputs.values())


def padding(array):
    return b"" if array.dtype == object or array.dtype.kind in "SU" else array.dtype.type(0)


def sparse_parts(array):
    """(indices, values, dense_shape) of the entries that are not padding."""
    present = array != padding(array)
    return (np.argwhere(present).astype(np.int64).reshape(-1, array.ndim), array[present],
            np.asarray(array.shape, dtype=np.int64))


def ragged_parts(array):
    """(flat_values, row_splits) of a ragged_rank 1 input carried dense: each row ends at its trailing padding."""
    present = (array != padding(array)).reshape(array.shape[0], array.shape[1], -1).any(axis=2)
    lengths = [int(np.nonzero(row)[0][-1]) + 1 if row.any() else 0 for row in present]
    values = [array[row, :length] for row, length in enumerate(lengths)]
    flat = np.concatenate(values) if values else array[:0, 0]
    return flat, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def eager_feeds(values, seen):
    """The recorded inputs as the framework feeds them in eager mode: a sparse or ragged input that TF2
    flattened as its components, one a signature takes whole made from its dense form."""
    feeds = {}
    for name, value in values.items():
        info = seen["description"]["inputs"].get(name, {})
        kind, components = info.get("kind", "dense"), info.get("components")
        if components:
            parts = sparse_parts(value) if kind == "sparse" else ragged_parts(value)
            feeds.update((component, tf.constant(part)) for component, part in zip(components, parts))
        elif kind == "sparse":
            feeds[name] = tf.sparse.from_dense(tf.constant(value))
        elif kind == "ragged":
            feeds[name] = tf.RaggedTensor.from_tensor(tf.constant(value), padding=padding(value),
                                                      ragged_rank=info.get("ragged_rank", 1))
        else:
            feeds[name] = tf.constant(value)
    return feeds


def recorded_inputs(runtime_dir, seen):
    with np.load(os.path.join(runtime_dir, seen["inputs_file"]), allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def compile_argument():
    import inspect

    try:
        return "jit_compile" if "jit_compile" in inspect.signature(tf.function).parameters else "experimental_compile"
    except (TypeError, ValueError):
        return "jit_compile"


def xla_cpu_listed():
    from tensorflow.python.client import device_lib

    return any(d.name.endswith("XLA_CPU:0") for d in device_lib.list_local_devices())


# ---------------------------------------------------------------------------------------------- eager
def keras_layers(handle, tags, signatures, failed=False):
    """A KerasLayer for each signature the load case listed (each loads the model), as the framework opens
    the api, and the call of each on a dict of tensors (a layer takes a lone input alone)."""
    kwargs = {} if tags is None else {"tags": list(tags)}
    calls = {}
    for name in signatures or ([CALL] if failed else []):  # a failed load listed none: a user tries the plain one
        options = dict(kwargs)
        if name != CALL:
            options.update(signature=name, signature_outputs_as_dict=True)
        layer = hub.KerasLayer(handle, **options)
        calls[name] = lambda feeds, layer=layer: layer(next(iter(feeds.values())) if len(feeds) == 1 else feeds)
    return calls


def object_call(obj, name):
    """A signature (or ``__call__``) of a loaded object on a dict of tensors, looked up when called: a
    signature the framework could not find fails its own call, not the model's."""
    if name == CALL:  # one input alone, several as the dict they were saved as
        return lambda feeds: obj(next(iter(feeds.values())) if len(feeds) == 1 else feeds, *call_arguments(obj)())
    return lambda feeds: obj.signatures[name](**feeds)


def pruned(obj, signature, output):
    """``obj.prune`` of a TF1 model for one output, and the signature's argument names in order."""
    function = obj.signatures[signature]
    keywords = list(getattr(function, "_arg_keywords", None) or [])
    feeds = [t.name for t in function.inputs if t.dtype.name != "resource"][:len(keywords)]
    return obj.prune(feeds=feeds, fetches=function.structured_outputs[output].name), keywords


def call_arguments(obj):
    """What follows ``x`` in the saved ``__call__``: ``training=False`` (a Python bool or a bool tensor),
    made where it is called (a constant captured from outside a compiled function would reach XLA as a
    placeholder, and a Reusable model's ``training`` cond as a Switch it cannot compile)."""
    functions = list(getattr(obj.__call__, "concrete_functions", None) or [])
    args = functions[0].structured_input_signature[0] if functions else ()
    if len(args) < 2:
        return lambda: []
    training = args[1]
    return (lambda: [False]) if isinstance(training, bool) else (lambda: [tf.constant(False)])


def for_device(function, device):
    """For xla a compiled tf.function, as the framework compiles it (without AutoGraph)."""
    return tf.function(function, autograph=False, **{compile_argument(): True}) if device == "xla" else function


def repeat(run, call):
    """``call.times`` calls with their outputs read; a call the framework saw fail may fail here too."""
    for _ in range(call.times):
        try:
            outputs = run()
        except Exception:  # noqa: BLE001 - only where the framework recorded the same failure
            if not call.fails:
                raise
            return 1
        tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, outputs)
    return call.times


def replay_eager(api, handle, tags, signatures, by_device, runtime_dir, failed=False):
    """The model loaded once (hub.KerasLayer: a layer per signature); each device's calls run (xla: compiled
    once per signature, or per output computed alone; an output's pruned function made once for every
    device). Returns the calls replayed."""
    kwargs = {} if tags is None else {"tags": list(tags)}
    if api == "hub.KerasLayer":
        obj, functions = None, keras_layers(handle, tags, signatures, failed)
    elif api == "hub.Module":  # only a failed load reaches here: hub.Module is TF1 graph mode only
        hub.Module(handle, **kwargs)
        raise RuntimeError("hub.Module loaded %s in eager mode, where the framework saw it fail" % handle)
    else:
        obj = hub.load(handle, **kwargs) if api == "hub.load" else tf.compat.v2.saved_model.load(resolve(handle),
                                                                                                **kwargs)
        functions = {}
    compiled, prunings, done = {}, {}, 0

    def whole(name, device):
        if (name, device) not in compiled:
            compiled[name, device] = for_device(functions.get(name) or object_call(obj, name), device)
        return compiled[name, device]

    def alone(name, output, device):
        if (name, output) not in prunings:
            prunings[name, output] = pruned(obj, name, output)
        function, keywords = prunings[name, output]
        if (name, output, device) not in compiled:
            compiled[name, output, device] = for_device(lambda *args: function(*args), device)
        return compiled[name, output, device], keywords

    for device, device_calls in by_device.items():
        for call in device_calls:
            feeds = eager_feeds(recorded_inputs(runtime_dir, call.seen), call.seen)

            def run(call=call, device=device, feeds=feeds):  # the function made inside: its failure is the call's
                if call.alone is None:
                    return whole(call.signature, device)(feeds)
                function, keywords = alone(call.signature, call.alone, device)
                return function(*[feeds[k] for k in keywords])

            with tf.device("/device:CPU:0"):
                done += repeat(run, call)
    return done


# ---------------------------------------------------------------------------------------------- graph
def placeholders(seen):
    inputs = seen["description"]["inputs"]
    return {name: tf.compat.v1.placeholder(tf.as_dtype(info["dtype"]), info.get("shape"), name=name)
            for name, info in sorted(inputs.items())}


def replay_graph(api, handle, tags, signatures, device, calls, runtime_dir, clear_devices=False, failed=False):
    """The framework's GraphModel, bare: the model loaded into one graph and one session; a signature's ops
    built under the device when it is first called (and the initializers created since run, never twice),
    each call a ``session.run`` of its fetches. Built lazily, in the framework's order, because a TF1
    session places the graph as it stands: ops an earlier call never saw cannot fail it."""
    tf1 = tf.compat.v1
    kwargs = {} if tags is None else {"tags": list(tags)}
    graph = tf.Graph()
    built = {}  # signature -> (feeds, every output)
    with graph.as_default():
        session = tf1.Session(graph=graph, config=tf1.ConfigProto(allow_soft_placement=False))
        if api == "saved_model":
            with tf.device(graph_device(device)):  # the TF1 loader imports the graph onto the device
                meta = tf1.saved_model.loader.load(session, list(tags or []), resolve(handle),
                                                   **({"clear_devices": True} if clear_devices else {}))
            call_of = None
        elif api == "hub.Module":
            module = hub.Module(handle, **kwargs)
            call_of = lambda name: lambda feeds: module(feeds, signature=name, as_dict=True)  # noqa: E731
        elif api == "hub.KerasLayer":  # a layer per listed signature, outside the device scope, at load
            call_of = keras_layers(handle, tags, signatures, failed).__getitem__
        else:
            obj = hub.load(handle, **kwargs)
            call_of = lambda name: object_call(obj, name)  # noqa: E731
        initialized = set()
        if api == "saved_model":
            initialized.update(op.name for op in initializers(graph))  # the loader ran them
        else:
            initialize_new(session, graph, initialized)

    def ops(call, name):
        if name not in built and api == "saved_model":  # its tensors are in the graph the loader imported
            signature = meta.signature_def[name]
            built[name] = ({k: graph.get_tensor_by_name(v.name) for k, v in signature.inputs.items()},
                           {k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()})
        if name not in built:
            with graph.as_default():
                function = call_of(name)
                with tf.device(graph_device(device)):
                    feeds = placeholders(call.seen)
                    if device == "xla" and graph_device(device) == "":
                        outputs = for_device(lambda **kw: function(kw), device)(**feeds)
                    else:
                        outputs = function(feeds)
                built[name] = (feeds, outputs if isinstance(outputs, dict) else {"default": outputs})
                initialize_new(session, graph, initialized)
        return built[name]

    done = 0
    for call in calls:
        values = recorded_inputs(runtime_dir, call.seen)

        def run(call=call, values=values):
            feeds, outputs = ops(call, call.signature)
            wanted = {name: outputs[name] for name in (call.fetch or outputs)}
            return session.run(wanted, {feeds[k]: v for k, v in values.items()})

        done += repeat(run, call)
    session.close()
    return done


def initializers(graph):
    tf1 = tf.compat.v1
    ops = flatten([v.initializer for v in tf1.global_variables()])  # a list for restored TF2 variables
    for key in (tf1.GraphKeys.TABLE_INITIALIZERS, "saved_model_initializers"):
        ops.extend(flatten(graph.get_collection(key)))
    return [op for op in ops if op is not None]


def flatten(items):
    if isinstance(items, (list, tuple)):
        return [leaf for item in items for leaf in flatten(item)]
    return [items]


def initialize_new(session, graph, initialized):
    with graph.as_default():
        pending = [op for op in initializers(graph) if op.name not in initialized]
        if pending:
            session.run(pending)
        initialized.update(op.name for op in pending)


_XLA_CPU = None


def graph_device(device):
    global _XLA_CPU
    if device == "xla":
        if _XLA_CPU is None:
            _XLA_CPU = xla_cpu_listed()
        return "/device:XLA_CPU:0" if _XLA_CPU else ""
    return "/device:CPU:0"


def resolve(handle):
    return hub.resolve(handle) if handle.startswith(("http://", "https://")) else handle


# ---------------------------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runtime_dir", help="reports/runs/<run-id>/<runtime>")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    cells, info = read_cases(args.runtime_dir)
    if not any(entry["check"] == "load" for entry in cells):
        sys.exit("%s: no load case that loaded and recorded its handle: run the framework first"
                 % args.runtime_dir)
    mode = info.get("mode") or ("eager" if tf.executing_eagerly() else "graph")
    for library in sorted(info.get("op_libraries") or {}):  # the ops its models need, registered before a load
        importlib.import_module(library.replace("-", "_"))
    if mode == "eager" and not tf.executing_eagerly():
        tf.compat.v1.enable_eager_execution()
    elif mode == "graph" and tf.executing_eagerly():
        tf.compat.v1.disable_eager_execution()
    groups, loaded = collections.OrderedDict(), {}
    not_replayed = 0
    for entry in cells:  # the load cases first: a semantics case calls the model its load case loaded
        if entry["check"] != "load":
            continue
        per_device = mode == "graph"  # one model per entry of the matrix, even where two share a file
        key = (entry["model"], entry["handle"], entry["api"], entry["device"] if per_device else "*")
        group = groups.setdefault(key, {"tags": entry.get("tags"), "clear_devices": entry.get("clear_devices"),
                                        "by_device": collections.OrderedDict(), "signatures": set(),
                                        "fails": True})
        group["fails"] = group["fails"] and not entry.get("loaded")
        group["signatures"].update(entry.get("signatures") or {})  # a KerasLayer for each, as the api is opened
        loaded[entry["model"], entry["api"], entry["device"]] = (group, entry)
        calls = group["by_device"].setdefault(entry["device"], [])
        for call in load_calls(entry):
            if replayable(call.signature, call.seen, mode):
                calls.append(call)
            else:
                not_replayed += 1
    for entry in cells:
        if entry["check"] != "semantics":
            continue
        group, load_entry = loaded.get((entry["model"], entry["api"], entry["device"]), (None, {}))
        record = entry["semantics"]
        seen = (load_entry.get("signatures") or {}).get(record["signature"]) or {}
        if group is None or not seen.get("inputs_file") or not replayable(record["signature"], seen, mode):
            not_replayed += 1
            continue
        group["by_device"][entry["device"]].extend(c for c in semantics_calls(record, seen) if c.times)
    started = time.perf_counter()
    loads = calls = failed = failed_as_recorded = 0
    for (_, handle, api, graph_device_of_group), group in groups.items():
        by_device = group["by_device"]  # loaded even without a call to replay: the load case loaded it
        try:
            if mode == "graph":
                calls += replay_graph(api, handle, group["tags"], group["signatures"], graph_device_of_group,
                                      by_device.get(graph_device_of_group, []), args.runtime_dir,
                                      group["clear_devices"], group["fails"])
            else:
                calls += replay_eager(api, handle, group["tags"], group["signatures"], by_device, args.runtime_dir,
                                      group["fails"])
        except Exception as error:  # noqa: BLE001 - a replay that fails is reported, the others go on
            if group["fails"]:  # the framework's load failed too
                failed_as_recorded += 1
                continue
            failed += 1
            print("twin: %s %s: %s: %s" % (api, handle, type(error).__name__, str(error)[:800]), file=sys.stderr)
        else:
            loads += 1
    figures = {"runtime_dir": args.runtime_dir, "mode": mode, "tensorflow": tf.__version__,
               "import_seconds": round(IMPORT_SECONDS, 3), "work_seconds": round(time.perf_counter() - started, 3),
               "wall_seconds": round(time.perf_counter() - STARTED, 3), "loads": loads, "calls": calls,
               "failed_loads": failed_as_recorded, "not_replayed": not_replayed, "failed": failed}
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print("%-15s %s" % (key, value))


if __name__ == "__main__":
    main()
