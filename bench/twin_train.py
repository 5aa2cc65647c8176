"""The bare twin of one runtime's train and cluster cases: the same TensorFlow work, nothing else.

    <runtime env>/bin/python bench/twin_train.py reports/runs/<run-id>/<runtime> [--json]

Reads the observation files a finished run left (``<worker>.json``, and the load cases' ``.inputs.npz``) and
replays, in one plain process, exactly the TensorFlow work its train and cluster cases record:

- each fine-tuning step that started (its record names the signature it went through), as the framework takes
  it: ``hub.Module(handle, trainable=True, tags={"train"} | tags)`` in a graph and session of its own, an SGD
  step on the TRAINABLE_VARIABLES collection after UPDATE_OPS; ``hub.KerasLayer(handle, trainable=True)`` in
  a Keras model with a ``Dense(1)`` head, ``compile``, ``evaluate``, the gradients (eager) and ``fit`` (the
  ``-signature`` variant through the named signature, the ``-frozen`` one with its ``output_key`` layers);
  ``tf.GradientTape`` over ``hub.load``'s (or ``tf.saved_model.load``'s) trainable variables in eager mode,
  ``minimize(var_list=...)`` in a graph. A step the framework took again at a smaller learning rate is taken
  again here (the recorded ``learning_rate``); xla as the framework compiles or places it. A step the
  framework saw fail or give up (``error``, ``skip`` after it began) may fail here too, at the same point;
- each model's parameter-server variants as the cluster process ran them: per variant a ``{ps, worker}``
  loopback cluster of ``tf.compat.v1.train.Server``, the model loaded under ``replica_device_setter``, one
  SGD step in a TF1 Session on the worker without or with ``share_cluster_devices_in_session``, or an
  Estimator's ``train_and_evaluate`` for two steps with a ps server. They run in graph mode in a child
  forked before any op ran (as the framework forks its cluster process from a fork server that imported
  TensorFlow), so the servers end with it.

It imports nothing of hub-conformance, so its wall time is the floor for that work. Prints the figures
(``--json``: one JSON object) for ``bench/whole_run.py``: per kind (``train``, ``cluster``) the wall and CPU
seconds of the work, the steps and variants replayed. Not replayed: the framework's reading of the graphs it
built (random ops behind a loss), which is analysis, not TensorFlow work.
"""
import argparse
import collections
import collections.abc
import glob
import importlib
import json
import os
import socket
import sys
import tempfile
import time

STARTED = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_hub as hub  # noqa: E402

tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)  # as the framework's executor does

IMPORT_SECONDS = time.perf_counter() - STARTED
CALL = "__call__"
LEARNING_RATES = (0.01, 0.001, 0.0001)  # tried in turn until one lowers the loss, as the framework does
CLUSTER_APIS = ("hub.load", "hub.KerasLayer")
CLUSTER_VARIANTS = ("unshared", "shared", "estimator-unshared", "estimator-shared")
tf1 = tf.compat.v1


class Stop(Exception):
    """Where the framework stopped a step (no trainable variables, a Keras option it cannot use)."""


# ------------------------------------------------------------------------------------------ the records
def read_cases(runtime_dir):
    """The load cases by (model, api, device), the train cases whose step began, and per model its cluster
    variants the cluster process ran (in the order of its request), with the worker's run info."""
    loads, trains, clusters, info = {}, [], collections.OrderedDict(), {}
    for path in sorted(glob.glob(os.path.join(runtime_dir, "*.json"))):
        with open(path) as stream:
            document = json.load(stream)
        info = document.get("run_info") or info
        for entry in (document.get("cases") or {}).values():
            if entry.get("check") == "load" and entry.get("handle"):
                loads[entry["model"], entry["api"], entry["device"]] = entry
            elif entry.get("check") == "train" and "signature" in (entry.get("train") or {}):
                trains.append(entry)
            elif entry.get("check") == "cluster" and "seconds" in (entry.get("cluster") or {}):
                clusters.setdefault(entry["model"], []).append(entry)  # ran in the cluster process
    trains.sort(key=lambda entry: entry.get("started", 0.0))
    order = {(api, variant): index for index, (api, variant) in enumerate(
        (api, variant) for api in CLUSTER_APIS for variant in CLUSTER_VARIANTS)}
    for entries in clusters.values():
        entries.sort(key=lambda entry: order.get((entry["api"], entry["signature"]), 0))
    return loads, trains, sorted(clusters.values(), key=lambda es: min(e.get("started", 0.0) for e in es)), info


def signature_seen(loads, entry, signature):
    """The load case's record of ``signature`` (its description and agreed inputs) for the train case's
    model: its own api and device first, else any that recorded that signature's inputs."""
    own = loads.get((entry["model"], entry["api"], entry["device"])) or {}
    candidates = [own] + [e for (model, _, _), e in sorted(loads.items()) if model == entry["model"]]
    for load in candidates:
        seen = (load.get("signatures") or {}).get(signature) or {}
        if seen.get("inputs_file") and seen.get("description"):
            return load, seen
    return own, None


def recorded_inputs(runtime_dir, seen):
    with np.load(os.path.join(runtime_dir, seen["inputs_file"]), allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


# ------------------------------------------------------------------------------------------ devices
def compile_argument():
    import inspect

    try:
        return "jit_compile" if "jit_compile" in inspect.signature(tf.function).parameters else "experimental_compile"
    except (TypeError, ValueError):
        return "jit_compile"


def xla_cpu_listed():
    from tensorflow.python.client import device_lib

    return any(d.name.endswith("XLA_CPU:0") for d in device_lib.list_local_devices())


class Device(collections.namedtuple("Device", "name placed_on compiles")):
    """cpu: ops on /device:CPU:0; xla: on XLA_CPU where a graph runtime lists it, else a compiled tf.function."""

    def placed(self):
        return tf.device(self.placed_on) if self.placed_on else _Nothing()

    def compiled(self, function):
        return tf.function(function, autograph=False, **{compile_argument(): True}) if self.compiles else function


class _Nothing(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def devices():
    if tf.executing_eagerly():
        xla = Device("xla", None, True)
    elif xla_cpu_listed():
        xla = Device("xla", "/device:XLA_CPU:0", False)
    else:
        xla = Device("xla", None, True)
    return {"cpu": Device("cpu", "/device:CPU:0", False), "xla": xla}


# ------------------------------------------------------------------------------------------ fine-tuning
def as_dict(outputs):
    return dict(outputs) if isinstance(outputs, collections.abc.Mapping) else {"default": outputs}


def first(outputs):
    return outputs[sorted(outputs)[0]]


def dense(gradient):
    return tf.convert_to_tensor(gradient) if gradient is not None else None


def training_kind(function):
    args = function.structured_input_signature[0]
    if len(args) < 2:
        return "none"
    if isinstance(args[1], bool):
        return "python" if args[1] is False else "python-true"
    return "tensor" if getattr(getattr(args[1], "dtype", None), "name", None) == "bool" else "other"


def pack(structure, tensors, prefix="x"):
    """The call's first argument rebuilt from the named tensors (a lone tensor is ``x``, dicts by key)."""
    if isinstance(structure, collections.abc.Mapping):
        return {key: pack(structure[key], tensors, str(key) if prefix == "x" else "%s.%s" % (prefix, key))
                for key in structure}
    if isinstance(structure, (list, tuple)):
        return type(structure)(pack(item, tensors, "%s.%d" % (prefix, i)) for i, item in enumerate(structure))
    return tensors[prefix]


def invoke_call(obj, tensors, training):
    """``obj(x, training, ...)`` with the arguments its traced ``__call__`` runs with for ``training``."""
    call = getattr(obj, "__call__", None)
    concrete = list(getattr(call, "concrete_functions", None) or [])
    if not concrete and hasattr(call, "_list_all_concrete_functions_for_serialization"):
        concrete = call._list_all_concrete_functions_for_serialization()
    usable = [f for f in concrete if f.structured_input_signature and f.structured_input_signature[0]]
    for kind in ("python-true" if training else "python", "tensor", "none"):
        for function in usable:
            if training_kind(function) == kind:
                args = function.structured_input_signature[0]
                rest = ([tf.constant(training)] if kind == "tensor" else [training] if kind.startswith("python")
                        else []) + (list(args[2:]) if kind != "none" else [])
                return as_dict(obj(pack(args[0], tensors), *rest))
    raise LookupError("no traced __call__ that runs with training=%s" % training)


def object_loss(obj, signature, tensors, training):
    outputs = invoke_call(obj, tensors, training) if signature == CALL else as_dict(
        obj.signatures[signature](**tensors))
    return tf.reduce_sum(tf.square(tf.cast(first(outputs), tf.float32)))


def trainable(obj):
    variables = list(getattr(obj, "trainable_variables", None) or [])
    if not variables:
        raise Stop("no trainable variables")
    return variables


def tries(record):
    """How many step sizes the framework tried: up to the one it recorded."""
    rate = record.get("learning_rate")
    return LEARNING_RATES.index(rate) + 1 if rate in LEARNING_RATES else 1


def eager_object(obj, signature, tensors, device, record):
    variables = trainable(obj)

    def loss(training):
        return object_loss(obj, signature, tensors, training)

    def loss_and_gradients(feeds):
        with tf.GradientTape() as tape:
            trained = object_loss(obj, signature, feeds, True)
        return trained, [dense(g) for g in tape.gradient(trained, variables)]

    measure = device.compiled(lambda feeds: object_loss(obj, signature, feeds, False))
    measure(tensors).numpy()
    float(loss(True)), float(loss(True))
    if signature == CALL:
        float(loss(False))
    _, gradients = device.compiled(loss_and_gradients)(tensors)
    originals = [v.numpy() for v in variables]
    for index, rate in enumerate(LEARNING_RATES[:tries(record)]):
        if index:
            for variable, original in zip(variables, originals):
                variable.assign(original)
        for variable, gradient in zip(variables, gradients):
            if gradient is not None:
                variable.assign_sub(rate * tf.cast(gradient, variable.dtype))
        measure(tensors).numpy()
    [None if g is None else g.numpy() for g in gradients], [v.numpy() for v in variables]


def graph_step(session, loss, variables, feed, record, dependencies=(), eval_loss=None, statistics=()):
    eval_loss = loss if eval_loss is None else eval_loss
    gradients = [dense(g) for g in tf.gradients(loss, list(variables))]
    rate = tf1.placeholder_with_default(np.float32(LEARNING_RATES[0]), [], name="learning_rate")
    with tf.control_dependencies(list(dependencies)):
        step = tf1.train.GradientDescentOptimizer(rate).minimize(loss, var_list=list(variables))
    session.run(tf1.global_variables_initializer())
    session.run([tf1.tables_initializer()] + list(session.graph.get_collection("saved_model_initializers")))
    _, initial, kept = session.run([eval_loss, list(variables), list(statistics)], feed)
    session.run([g for g in gradients if g is not None], feed)
    restore = None
    for index, learning_rate in enumerate(LEARNING_RATES[:tries(record)]):
        if index:
            held = list(variables) + list(statistics)
            if restore is None:
                values_in = [tf1.placeholder(v.dtype.base_dtype, v.shape) for v in held]
                restore = [v.assign(value) for v, value in zip(held, values_in)]
            session.run(restore, dict(zip(values_in, list(initial) + list(kept))))
        session.run(step, _with(feed, rate, learning_rate))
        session.run([eval_loss, list(variables), list(statistics)], feed)


def _with(feed, key, value):
    fed = dict(feed)
    fed[key] = value
    return fed


def placeholders(described):
    return {name: tf1.placeholder(tf.as_dtype(info["dtype"]), shape=info["shape"], name=name)
            for name, info in described.items()}


def session_config():
    return tf1.ConfigProto(allow_soft_placement=False)


def graph_object(handle, kwargs, signature, described, inputs, device, record):
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph, config=session_config()) as session:
        obj = hub.load(handle, **kwargs)
        variables = trainable(obj)
        feeds = placeholders(described)
        with device.placed():
            graph_step(session, object_loss(obj, signature, feeds, True), variables,
                       {feeds[n]: v for n, v in inputs.items()}, record,
                       eval_loss=object_loss(obj, signature, feeds, False))


def hub_module(handle, tags, signature, described, inputs, device, record):
    variants = [set(t) for t in hub.load_module_spec(handle).get_tags()]
    wanted = {"train"} | set(tags or ())
    train_tags = wanted if wanted in variants else set(tags or ())
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph, config=session_config()) as session:
        module = hub.Module(handle, trainable=True, tags=train_tags)
        feeds = placeholders(described)
        with device.placed():
            outputs = module(feeds, signature=signature, as_dict=True)
            loss = tf.reduce_sum(tf.square(tf.cast(first(outputs), tf.float32)))
        variables = tf1.trainable_variables()
        if not variables:
            raise Stop("no trainable variables")
        update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        statistics = [v for v in tf1.global_variables() if v.name.split("/")[-1].startswith("moving_")]
        with device.placed():
            graph_step(session, loss, variables, {feeds[n]: v for n, v in inputs.items()}, record, update_ops,
                       statistics=statistics)


def in_fresh_graph(step, device):
    if tf.executing_eagerly():
        return step()
    with tf.Graph().as_default(), device.placed():
        return step()


def sgd():
    optimizers = tf.keras.optimizers
    if not tf.executing_eagerly() and hasattr(optimizers, "legacy"):
        optimizers = optimizers.legacy
    return optimizers.SGD(LEARNING_RATES[0])


def head(output):
    keras = tf.keras
    output = tf.cast(output, tf.float32)
    if output.shape.ndims is None:
        features = keras.layers.Lambda(lambda t: tf.reduce_mean(tf.reshape(t, [tf.shape(t)[0], -1]), axis=-1,
                                                                keepdims=True))(output)
    else:
        features = keras.layers.Flatten()(output)
    if tf.compat.dimension_value(features.shape[-1]) is None:
        features = keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=-1, keepdims=True))(features)
    return keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(0.1), bias_initializer="zeros",
                              name="head")(features)


def one_input(inputs):
    if len(inputs) != 1:
        raise Stop("the Keras model check feeds one input")
    return next(iter(inputs.items()))


def keras_model(handle, kwargs, signature, described, inputs, device, record):
    kwargs = dict(kwargs)
    if signature != CALL:
        kwargs.update(signature=signature, signature_outputs_as_dict=True)
    options = {}
    if device.name == "xla":
        import inspect

        if not tf.executing_eagerly() or "jit_compile" not in inspect.signature(tf.keras.Model.compile).parameters:
            raise Stop("Keras cannot compile its step with XLA here")
        options = {"jit_compile": True}

    def step():
        keras = tf.keras
        layer = hub.KerasLayer(handle, trainable=True, **kwargs)
        name, x = one_input(inputs)
        features = keras.Input(shape=x.shape[1:], dtype=tf.as_dtype(described[name]["dtype"]), name=name)
        output = layer(features)
        if not layer.trainable_weights:
            raise Stop("no trainable weights")
        if isinstance(output, dict):
            output = first(output)
        model = keras.Model(features, head(output))
        model.compile(optimizer=sgd(), loss="mse", **options)
        target = np.zeros((x.shape[0], 1), np.float32)
        model.evaluate(x, target, verbose=0, batch_size=len(x))
        if tf.executing_eagerly():
            def gradients_of(batch):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.square(model(batch, training=True) - target)) + sum(model.losses)
                return [None if g is None else dense(g) for g in tape.gradient(loss, layer.trainable_weights)]

            [None if g is None else g.numpy() for g in device.compiled(gradients_of)(tf.constant(x))]
        initial = model.get_weights()
        for index, rate in enumerate(LEARNING_RATES[:tries(record)]):
            if index:
                model.set_weights(initial)
                keras.backend.set_value(model.optimizer.learning_rate, rate)
            model.fit(x, target, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
            model.evaluate(x, target, verbose=0, batch_size=len(x))
        if tf.executing_eagerly():
            np.array_equal(model(x, training=True), model(x, training=True))
        keras.backend.batch_get_value(layer.trainable_weights)

    in_fresh_graph(step, device)


def keras_session():
    keras = tf.keras
    get_session = getattr(keras.backend, "get_session", None) or tf1.keras.backend.get_session
    session = get_session()
    graph = session.graph
    session.run(tf1.variables_initializer(
        [v for v in graph.get_collection("variables") if not getattr(v, "_keras_initialized", False)]))
    session.run([tf1.tables_initializer()] + list(graph.get_collection("saved_model_initializers")))
    return session


def keras_frozen(handle, kwargs, signature, description, inputs, device, record):
    described, outputs = description["inputs"], dict(description.get("outputs") or {})
    numeric = sorted(k for k, info in outputs.items() if info.get("dtype") not in ("string", "variant", "resource"))
    floats = [k for k in numeric if str(outputs[k]["dtype"]).startswith(("float", "bfloat", "half"))
              and outputs[k].get("shape") != []]
    if not floats:
        raise Stop("no float output with a batch dimension")
    common = dict(kwargs, signature=signature)

    def step():
        keras = tf.keras
        whole = hub.KerasLayer(handle, signature_outputs_as_dict=True, **common)
        name, x = one_input(inputs)
        features = keras.Input(shape=x.shape[1:], dtype=tf.as_dtype(described[name]["dtype"]), name=name)
        layers = {k: hub.KerasLayer(handle, output_key=k, **common) for k in numeric}
        frozen = layers[floats[0]]
        model = keras.Model(features, head(frozen(features)))
        model.compile(optimizer=sgd(), loss="mse")

        def by_dict(t):
            entries = whole(t)
            return [entries[k] for k in numeric]

        def by_key(t):
            return [layers[k](t) for k in numeric]

        if tf.executing_eagerly():
            argument = tf.constant(x)
            [[np.asarray(v) for v in f(argument)] for f in (by_dict, by_dict, by_key)]
        else:
            entries, by_keys = by_dict(features), by_key(features)
            session = keras_session()
            [session.run(t, {features: x}) for t in (entries, entries, by_keys)]
        target = np.zeros((x.shape[0], 1), np.float32)
        model.evaluate(x, target, verbose=0, batch_size=len(x))
        keras.backend.batch_get_value(frozen.weights)
        model.predict(x, batch_size=len(x), verbose=0)
        keras.backend.batch_get_value(frozen.weights)
        head_layer = model.layers[-1]
        head_initial = head_layer.get_weights()
        for index, rate in enumerate(LEARNING_RATES[:tries(record)]):
            if index:
                head_layer.set_weights(head_initial)
                keras.backend.set_value(model.optimizer.learning_rate, rate)
            model.fit(x, target, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
            model.evaluate(x, target, verbose=0, batch_size=len(x))
        keras.backend.batch_get_value(frozen.weights)
        keras.backend.batch_get_value(model.layers[-1].trainable_weights)

    in_fresh_graph(step, device)


def train_step(entry, load, seen, runtime_dir, device):
    """One train case's step, under its device as the framework takes it."""
    record, api = entry["train"], entry["api"]
    signature, handle, tags = record["signature"], load["handle"], load.get("tags")
    kwargs = {} if tags is None else {"tags": list(tags)}
    inputs = recorded_inputs(runtime_dir, seen)
    described = seen["description"]["inputs"]
    with device.placed():
        if api == "hub.Module":
            hub_module(handle, tags, signature, described, inputs, device, record)
        elif entry["signature"] == "frozen":
            keras_frozen(handle, kwargs, signature, seen["description"], inputs, device, record)
        elif api == "hub.KerasLayer":
            keras_model(handle, kwargs, signature, described, inputs, device, record)
        elif api == "hub.load" and not tf.executing_eagerly():
            graph_object(handle, kwargs, signature, described, inputs, device, record)
        elif tf.executing_eagerly():
            obj = hub.load(handle, **kwargs) if api == "hub.load" else tf.compat.v2.saved_model.load(
                hub.resolve(handle) if "://" in handle else handle, **kwargs)
            eager_object(obj, signature, {n: tf.constant(v) for n, v in inputs.items()}, device, record)
        else:
            raise Stop("the TF1 loader restores a serving graph")


def replay_train(runtime_dir, loads, trains):
    """Every step that began; returns (steps, failed as recorded, not replayed, failures)."""
    on = devices()
    steps = failed_as_recorded = not_replayed = 0
    failures = []
    for entry in trains:
        record = entry["train"]
        may_fail = "error" in record or "skip" in record
        load, seen = signature_seen(loads, entry, record["signature"])
        device = on[entry["device"]]
        if seen is None or (device.name == "xla" and not tf.executing_eagerly() and device.compiles):
            not_replayed += 1  # no recorded inputs; or TF 2's graph mode, which skips an xla step before it
            continue
        try:
            train_step(entry, load, seen, runtime_dir, device)
        except Exception as error:  # noqa: BLE001 - only where the framework's step failed or stopped too
            if not may_fail:
                failures.append("train %s %s %s %s: %s: %s" % (entry["model"], entry["api"], entry["device"],
                                                              entry["signature"], type(error).__name__,
                                                              str(error)[:500]))
            failed_as_recorded += 1
            continue
        steps += 1
    return steps, failed_as_recorded, not_replayed, failures


# ------------------------------------------------------------------------------------------ parameter server
def ports(count):
    probes = []
    try:
        for _ in range(count):
            probes.append(socket.socket())
            probes[-1].bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def call_arguments(obj):
    """``[x]`` or ``[x, training]``: ones shaped like ``__call__``'s one float input, batch 2."""
    functions = list(getattr(getattr(obj, "__call__", None), "concrete_functions", None) or [])
    for function in functions:
        args = (function.structured_input_signature or ((), {}))[0]
        x = args[0] if args else None
        if type(x).__name__ != "TensorSpec" or not x.dtype.is_floating or not x.shape.rank:
            continue
        x = tf.ones([2 if i == 0 else (d if d is not None else 3) for i, d in enumerate(x.shape.as_list())], x.dtype)
        if len(args) == 1:
            return [x]
        if args[1] is True:
            return [x, True]
        if getattr(getattr(args[1], "dtype", None), "name", None) == "bool":
            return [x, tf.constant(True)]
    raise Stop("__call__ takes no lone float tensor")


def cluster_config(shared):
    config = tf1.ConfigProto()
    field = "share_cluster_devices_in_session"
    setattr(config if hasattr(config, field) else config.experimental, field, bool(shared))
    return config


def cluster_step(handle, kwargs, api, shared):
    ps, worker_port = ports(2)
    cluster = tf.train.ClusterSpec({"ps": ["127.0.0.1:%d" % ps], "worker": ["127.0.0.1:%d" % worker_port]})
    tf1.train.Server(cluster, job_name="ps", task_index=0)
    worker = tf1.train.Server(cluster, job_name="worker", task_index=0)
    with tf.Graph().as_default(), tf1.device(tf1.train.replica_device_setter(cluster=cluster)):
        obj = hub.load(handle, **kwargs)
        arguments = call_arguments(obj)
        if api == "hub.KerasLayer":
            layer = hub.KerasLayer(handle, trainable=True, **kwargs)
            output, variables = layer(arguments[0], training=True), layer.trainable_weights
        else:
            output, variables = obj(*arguments), list(getattr(obj, "trainable_variables", None) or [])
        if not variables:
            raise Stop("no trainable variables")
        loss = tf.reduce_sum(tf.square(tf.nest.flatten(output)[0]))
        step = tf1.train.GradientDescentOptimizer(0.01).minimize(loss, var_list=variables)
        with tf1.Session(worker.target, config=cluster_config(shared)) as session:
            session.run(tf1.global_variables_initializer())
            session.run(loss)
            session.run(step)
            session.run(loss)


def cluster_estimator(handle, kwargs, api, shared):
    if not hasattr(tf, "estimator") or not hasattr(getattr(tf, "estimator", None), "Estimator"):
        return
    with tf.Graph().as_default():
        loaded = hub.load(handle, **kwargs)
        arguments = call_arguments(loaded)
        if not list(getattr(loaded, "trainable_variables", None) or []):
            raise Stop("no trainable variables")
    batch = np.ones([2] + arguments[0].shape.as_list()[1:], arguments[0].dtype.as_numpy_dtype)
    chief, ps = ports(2)
    cluster = {"chief": ["127.0.0.1:%d" % chief], "ps": ["127.0.0.1:%d" % ps]}
    tf1.train.Server(tf.train.ClusterSpec(cluster), job_name="ps", task_index=0)
    previous = os.environ.get("TF_CONFIG")
    os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "chief", "index": 0}})

    def model_fn(features, labels, mode):
        if api == "hub.KerasLayer":
            layer = hub.KerasLayer(handle, trainable=True, **kwargs)
            output, variables = layer(features["x"], training=True), layer.trainable_weights
        else:
            obj = hub.load(handle, **kwargs)
            output = obj(features["x"], *call_arguments(obj)[1:])
            variables = list(getattr(obj, "trainable_variables", None) or [])
        loss = tf.reduce_mean(tf.square(tf.nest.flatten(output)[0]))
        step = tf1.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=tf1.train.get_global_step(),
                                                                 var_list=variables)
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=step)

    def input_fn():
        return tf.data.Dataset.from_tensors(({"x": batch}, np.zeros([2, 1], np.float32))).repeat()

    try:
        with tempfile.TemporaryDirectory() as model_dir:
            estimator = tf.estimator.Estimator(model_fn=model_fn, config=tf.estimator.RunConfig(
                model_dir=model_dir, session_config=cluster_config(shared), save_checkpoints_steps=None,
                save_checkpoints_secs=None))
            tf.estimator.train_and_evaluate(estimator, tf.estimator.TrainSpec(input_fn, max_steps=2),
                                            tf.estimator.EvalSpec(input_fn, steps=1))
    finally:
        if previous is None:
            os.environ.pop("TF_CONFIG", None)
        else:
            os.environ["TF_CONFIG"] = previous


def replay_clusters(loads, clusters):
    """Every model's variants in turn, in graph mode; returns (variants, failed as recorded, failures)."""
    tf1.disable_eager_execution()
    variants = failed_as_recorded = 0
    failures = []
    for entries in clusters:
        model = entries[0]["model"]
        load = next((e for (m, _, _), e in sorted(loads.items()) if m == model), None)
        if load is None:
            failures.append("cluster %s: no load case recorded its handle" % model)
            continue
        kwargs = {} if load.get("tags") is None else {"tags": list(load["tags"])}
        for entry in entries:
            variant = entry["signature"]
            shared, estimator = variant.split("-")[-1] == "shared", variant.startswith("estimator-")
            try:
                (cluster_estimator if estimator else cluster_step)(load["handle"], kwargs, entry["api"], shared)
            except Exception as error:  # noqa: BLE001 - only where the framework's variant failed too
                if entry["cluster"].get("outcome") == "ok":
                    failures.append("cluster %s %s %s: %s: %s" % (model, entry["api"], variant,
                                                                  type(error).__name__, str(error)[:500]))
                failed_as_recorded += 1
                continue
            variants += 1
    return variants, failed_as_recorded, failures


def in_forked_child(work):
    """``work()``'s JSON-able result, run in a child forked before any op ran, with its wall and CPU seconds;
    its servers end with it."""
    reading, writing = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(reading)
        try:
            result = work()
            code = 0
        except BaseException as error:  # noqa: BLE001 - told to the parent
            result, code = {"error": "%s: %s" % (type(error).__name__, error)}, 1
        with os.fdopen(writing, "w") as stream:
            json.dump(result, stream)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    os.close(writing)
    with os.fdopen(reading) as stream:
        text = stream.read()
    _, status, usage = os.wait4(pid, 0)
    result = json.loads(text) if text else {"error": "the child ended with status %d" % status}
    return result, time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runtime_dir", help="reports/runs/<run-id>/<runtime> of a finished run")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    loads, trains, clusters, info = read_cases(args.runtime_dir)
    if not loads:
        sys.exit("%s: no load case that recorded its handle: run the framework first" % args.runtime_dir)
    mode = info.get("mode") or ("eager" if tf.executing_eagerly() else "graph")
    for library in sorted(info.get("op_libraries") or {}):  # the ops its models need, registered before a load
        importlib.import_module(library.replace("-", "_"))
    figures = {"runtime_dir": args.runtime_dir, "mode": mode, "tensorflow": tf.__version__,
               "import_seconds": round(IMPORT_SECONDS, 3)}
    failures = []
    if clusters:  # first, in a fork of this process before any op ran (as the framework's fork server forks it)
        result, wall, cpu = in_forked_child(lambda: replay_clusters(loads, clusters))
        if isinstance(result, dict):
            failures.append("cluster: %s" % result["error"])
            result = (0, 0, [])
        figures.update(cluster_seconds=round(wall, 3), cluster_cpu_seconds=round(cpu, 3), cluster_variants=result[0],
                       cluster_failed_as_recorded=result[1])
        failures.extend(result[2])
    else:
        figures.update(cluster_seconds=0.0, cluster_cpu_seconds=0.0, cluster_variants=0, cluster_failed_as_recorded=0)
    if mode == "eager" and not tf.executing_eagerly():
        tf1.enable_eager_execution()
    elif mode == "graph" and tf.executing_eagerly():
        tf1.disable_eager_execution()
    started, cpu_before = time.perf_counter(), time.process_time()
    steps, failed_as_recorded, not_replayed, train_failures = replay_train(args.runtime_dir, loads, trains)
    failures.extend(train_failures)
    figures.update(train_seconds=round(time.perf_counter() - started, 3),
                   train_cpu_seconds=round(time.process_time() - cpu_before, 3), train_steps=steps,
                   train_failed_as_recorded=failed_as_recorded, train_not_replayed=not_replayed,
                   wall_seconds=round(time.perf_counter() - STARTED, 3), failed=len(failures))
    for failure in failures:
        print("twin: %s" % failure, file=sys.stderr)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print("%-26s %s" % (key, value))


if __name__ == "__main__":
    main()
