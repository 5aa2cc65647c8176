"""The bare twin of one runtime's load cases: the same TensorFlow work, nothing else.

    <runtime env>/bin/python bench/twin.py reports/runs/<run-id>/<runtime> [--json]

Reads the observation files a finished run left (``<worker>.json`` and the ``.inputs.npz`` beside them) and
replays, in this one plain process, exactly the TensorFlow work its load cases record: each model loaded once
per api (and per device where the framework builds a graph per device), and each signature that produced
outputs called twice (the call and the repeat) on the recorded inputs, on its device (``cpu``, or ``xla``
compiled the way the framework compiles it). It imports nothing of hub-conformance, so its wall time is the
floor for that work. Prints the figures (``--json``: one JSON object) for ``bench/overhead.py``.

Signatures fed composite (sparse, ragged) inputs, or ``__call__`` with more than one input, are not
replayed; they are counted as ``not_replayed``.
"""
import argparse
import collections
import glob
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


def load_cells(runtime_dir):
    """The load cases that loaded, in the order they started, with their worker's run info."""
    cells, info = [], {}
    for path in sorted(glob.glob(os.path.join(runtime_dir, "*.json"))):
        with open(path) as stream:
            document = json.load(stream)
        info = document.get("run_info") or info
        for entry in (document.get("cases") or {}).values():
            if entry.get("check") == "load" and entry.get("loaded") and entry.get("handle"):
                cells.append(entry)
    cells.sort(key=lambda entry: entry.get("started", 0.0))
    return cells, info


def dense_only(seen):
    inputs = (seen.get("description") or {}).get("inputs") or {}
    return all(info.get("kind", "dense") == "dense" for info in inputs.values())


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
def eager_callables(api, handle, tags, signatures):
    """One callable per signature, taking a dict of tensors (the object loaded once, KerasLayer per signature)."""
    kwargs = {} if tags is None else {"tags": list(tags)}
    if api == "hub.KerasLayer":
        layers = {}
        for name in signatures:
            options = dict(kwargs)
            if name != CALL:
                options.update(signature=name, signature_outputs_as_dict=True)
            layers[name] = hub.KerasLayer(handle, **options)
        return {name: (lambda feeds, layer=layer: layer(next(iter(feeds.values())) if len(feeds) == 1 else feeds))
                for name, layer in layers.items()}
    obj = hub.load(handle, **kwargs) if api == "hub.load" else tf.compat.v2.saved_model.load(resolve(handle),
                                                                                            **kwargs)
    callables = {}
    for name in signatures:
        if name == CALL:
            extra = call_arguments(obj)
            callables[name] = lambda feeds, obj=obj, extra=extra: obj(next(iter(feeds.values())), *extra)
        else:
            callables[name] = lambda feeds, function=obj.signatures[name], obj=obj: function(**feeds)  # keeps obj
    return callables


def call_arguments(obj):
    """What follows ``x`` in the saved ``__call__``: ``training=False`` (a Python bool or a bool tensor)."""
    functions = list(getattr(obj.__call__, "concrete_functions", None) or [])
    args = functions[0].structured_input_signature[0] if functions else ()
    if len(args) < 2:
        return []
    training = args[1]
    return [False] if isinstance(training, bool) else [tf.constant(False)]


def replay_eager(api, handle, tags, by_device, runtime_dir):
    """The model loaded once; each device's calls (xla: compiled) run twice. Returns the calls replayed."""
    names = sorted({name for device_calls in by_device.values() for name, _ in device_calls})
    functions = eager_callables(api, handle, tags, names)
    done = 0
    for device, device_calls in by_device.items():
        for name, seen in device_calls:
            feeds = {k: tf.constant(v) for k, v in recorded_inputs(runtime_dir, seen).items()}
            function = functions[name]
            if device == "xla":
                function = tf.function(function, **{compile_argument(): True})
            with tf.device("/device:CPU:0"):
                for _ in range(2):
                    outputs = function(feeds)
                    tf.nest.map_structure(lambda t: t.numpy() if hasattr(t, "numpy") else t, outputs)
                    done += 1
    return done


# ---------------------------------------------------------------------------------------------- graph
def placeholders(seen):
    inputs = seen["description"]["inputs"]
    return {name: tf.compat.v1.placeholder(tf.as_dtype(info["dtype"]), info.get("shape"), name=name)
            for name, info in sorted(inputs.items())}


def replay_graph(api, handle, tags, device, calls, runtime_dir, clear_devices=False):
    """The framework's GraphModel, bare: the model loaded into one graph, ops built per signature under the
    device, one session, initializers run once, each call run twice."""
    tf1 = tf.compat.v1
    kwargs = {} if tags is None else {"tags": list(tags)}
    graph = tf.Graph()
    fetches = {}
    with graph.as_default():
        session = None
        if api == "saved_model":
            session = tf1.Session(graph=graph, config=tf1.ConfigProto(allow_soft_placement=False))
            with tf.device(graph_device(device)):  # the TF1 loader imports the graph onto the device
                meta = tf1.saved_model.loader.load(session, list(tags or []), resolve(handle),
                                                   **({"clear_devices": True} if clear_devices else {}))
            for name, seen in calls:
                signature = meta.signature_def[name]
                feeds = {k: graph.get_tensor_by_name(v.name) for k, v in signature.inputs.items()}
                wanted = fetched(seen, {k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()})
                fetches[name] = (feeds, wanted)
        else:
            if api == "hub.Module":
                module = hub.Module(handle, **kwargs)
                call_of = {name: (lambda feeds, name=name: module(feeds, signature=name, as_dict=True))
                           for name, _ in calls}
            elif api == "hub.KerasLayer":
                call_of = {}
                for name, _ in calls:
                    options = dict(kwargs)
                    if name != CALL:
                        options.update(signature=name, signature_outputs_as_dict=True)
                    layer = hub.KerasLayer(handle, **options)
                    call_of[name] = lambda feeds, layer=layer: layer(
                        next(iter(feeds.values())) if len(feeds) == 1 else feeds)
            else:
                obj = hub.load(handle, **kwargs)
                call_of = {}
                for name, _ in calls:
                    if name == CALL:
                        extra = call_arguments(obj)
                        call_of[name] = lambda feeds, extra=extra: obj(next(iter(feeds.values())), *extra)
                    else:
                        call_of[name] = lambda feeds, function=obj.signatures[name]: function(**feeds)
            for name, seen in calls:
                with tf.device(graph_device(device)):
                    feeds = placeholders(seen)
                    call = call_of[name]
                    if device == "xla" and graph_device(device) == "":
                        call = tf.function(lambda **kw: call_of[name](kw), **{compile_argument(): True})
                        outputs = call(**feeds)
                    else:
                        outputs = call(feeds)
                fetches[name] = (feeds, fetched(seen, outputs if isinstance(outputs, dict) else {"default": outputs}))
            session = tf1.Session(graph=graph, config=tf1.ConfigProto(allow_soft_placement=False))
            initializers = [v.initializer for v in tf1.global_variables()]
            initializers += list(graph.get_collection(tf1.GraphKeys.TABLE_INITIALIZERS))
            initializers += list(graph.get_collection("saved_model_initializers"))
            session.run([op for op in initializers if op is not None])
    done = 0
    for name, seen in calls:
        feeds, wanted = fetches[name]
        values = recorded_inputs(runtime_dir, seen)
        feed_dict = {feeds[k]: v for k, v in values.items()}
        for _ in range(2):
            session.run(wanted, feed_dict)
            done += 1
    session.close()
    return done


_XLA_CPU = None


def graph_device(device):
    global _XLA_CPU
    if device == "xla":
        if _XLA_CPU is None:
            _XLA_CPU = xla_cpu_listed()
        return "/device:XLA_CPU:0" if _XLA_CPU else ""
    return "/device:CPU:0"


def fetched(seen, outputs):
    names = seen.get("fetched")
    if isinstance(names, list):
        return {name: outputs[name] for name in names}
    return dict(outputs)


def resolve(handle):
    return hub.resolve(handle) if handle.startswith(("http://", "https://")) else handle


# ---------------------------------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runtime_dir", help="reports/runs/<run-id>/<runtime>")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    cells, info = load_cells(args.runtime_dir)
    if not cells:
        sys.exit("%s: no load case that loaded and recorded its handle: run the framework first"
                 % args.runtime_dir)
    mode = info.get("mode") or ("eager" if tf.executing_eagerly() else "graph")
    if mode == "eager" and not tf.executing_eagerly():
        tf.compat.v1.enable_eager_execution()
    elif mode == "graph" and tf.executing_eagerly():
        tf.compat.v1.disable_eager_execution()
    groups = collections.OrderedDict()
    not_replayed = 0
    for entry in cells:
        per_device = mode == "graph"  # one model per entry of the matrix, even where two share a file
        key = (entry["model"], entry["handle"], entry["api"], entry["device"] if per_device else "*")
        group = groups.setdefault(key, {"tags": entry.get("tags"), "clear_devices": entry.get("clear_devices"),
                                        "by_device": collections.OrderedDict()})
        for name, seen in sorted((entry.get("signatures") or {}).items()):
            if not seen.get("outputs_file"):
                continue
            if not dense_only(seen) or (name == CALL and len(seen["description"]["inputs"]) != 1):
                not_replayed += 1
                continue
            group["by_device"].setdefault(entry["device"], collections.OrderedDict()).setdefault(name, seen)
    started = time.perf_counter()
    loads = calls = failed = 0
    for (_, handle, api, _), group in groups.items():
        by_device = collections.OrderedDict((d, list(c.items())) for d, c in group["by_device"].items())
        if not by_device:
            continue
        try:
            if mode == "graph":
                for device, device_calls in by_device.items():
                    loads += 1
                    calls += replay_graph(api, handle, group["tags"], device, device_calls, args.runtime_dir,
                                          group["clear_devices"])
            else:
                loads += 1
                calls += replay_eager(api, handle, group["tags"], by_device, args.runtime_dir)
        except Exception as error:  # noqa: BLE001 - a replay that fails is reported, the others go on
            failed += 1
            print("twin: %s %s: %s: %s" % (api, handle, type(error).__name__, str(error)[:200]), file=sys.stderr)
    figures = {"runtime_dir": args.runtime_dir, "mode": mode, "tensorflow": tf.__version__,
               "import_seconds": round(IMPORT_SECONDS, 3), "work_seconds": round(time.perf_counter() - started, 3),
               "wall_seconds": round(time.perf_counter() - STARTED, 3), "loads": loads, "calls": calls,
               "not_replayed": not_replayed, "failed": failed}
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print("%-15s %s" % (key, value))


if __name__ == "__main__":
    main()
