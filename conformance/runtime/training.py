"""One fine-tuning step through each api, as the TF Hub guides write it (imports TensorFlow).

- ``hub.Module`` (graph): ``hub.Module(handle, trainable=True, tags={"train"})`` where the module has that
  variant, an SGD step on the TRAINABLE_VARIABLES collection with ``UPDATE_OPS`` as control dependencies;
- ``hub.load`` / ``saved_model``: ``tf.GradientTape`` over ``obj.trainable_variables`` (eager), or
  ``minimize(var_list=obj.trainable_variables)`` in a graph (the loaded variables are not in the
  TRAINABLE_VARIABLES collection there: recorded as ``in_trainable_collection``);
- ``hub.KerasLayer``: ``hub.KerasLayer(handle, trainable=True)`` in a Keras model with a ``Dense(1)`` head,
  ``compile`` + ``fit`` on one batch, eager or in a graph; the same through a named signature (which
  tensorflow_hub refuses); and the guide's options for models that cannot be fine-tuned (``tags``,
  ``signature``, ``output_key``, ``signature_outputs_as_dict``) in a frozen layer under a trained head.

The loss is the sum of squares of the signature's first output (by name), or for the Keras model the mean
squared error of its head against zeros; the step is plain SGD with a fixed learning rate. Each returns the
trainable variables (names, shapes), the gradients (and which are missing or not finite), the loss before and
after the step, the regularization losses and update ops found, and the variables' values after the step.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from conformance.runtime import devices
from conformance.runtime.apis import objects
from conformance.runtime.apis.loaded import CALL, NotApplicable, as_dict, tags_kwargs
from conformance.runtime.apis.tensors import identical

LEARNING_RATE = 0.01
# Step sizes tried in turn until one lowers the loss: a step that overshoots a real model's minimum at 0.01 is
# not the model's failure. The check holds the model to going downhill along its own gradient, at some size.
LEARNING_RATES = (LEARNING_RATE, 0.001, 0.0001)
# Ops that make a loss differ between two runs of one graph (dropout): there the step is held to moving the
# variables, not to lowering a loss that is drawn anew each run.
RANDOM_OPS = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt", "Multinomial",
              "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2")


class NotFineTunable(Exception):
    """The loaded object holds variables but none of them trainable (what hub.load makes of a TF1 Hub module
    or a TF1 SavedModel): a documented limit of the api, recorded as ``fine-tune-unsupported``."""


def _loaded_from_tf1(obj: Any) -> bool:
    """A TF1 Hub module or TF1 SavedModel as hub.load / tf.saved_model.load restore it (load_v1_in_v2)."""
    return bool(getattr(obj, "_is_hub_module_v1", False)) or hasattr(obj, "prune")


def _trainable(obj: Any, api: str) -> List[Any]:
    variables = list(getattr(obj, "trainable_variables", None) or [])
    if variables:
        return variables
    held = list(getattr(obj, "variables", None) or [])
    if held and _loaded_from_tf1(obj):
        raise NotFineTunable(
            "%s restores the model's variables (%d) as non-trainable (.trainable_variables %s): a TF1 Hub module "
            "or TF1 SavedModel cannot be fine-tuned through %s, and its graph collections (regularization "
            "losses, UPDATE_OPS) are not restored"
            % (api, len(held), "is empty" if hasattr(obj, "trainable_variables") else "does not exist", api))
    raise NotApplicable("the model exports no trainable variables" if held else "the loaded object has no variables")


def _placed(tf: Any, device: Optional[devices.Device]) -> Any:
    return devices.placement(tf, device)() if device is not None else contextlib.nullcontext()


def _compiled(tf: Any, device: Optional[devices.Device], function: Callable) -> Callable:
    return devices.compiled(tf, device, function) if device is not None else function


def _first(outputs: Mapping[str, Any]) -> Any:
    return outputs[sorted(outputs)[0]]


def _summary(variables: Sequence[Any], gradients: Optional[Sequence[Any]], before: float, after: float,
             values: Sequence[Any], **found: Any) -> Dict[str, Any]:
    """What a step saw; ``gradients`` None where they are not measured (Keras's own step in a graph)."""
    names = [v.name for v in variables]
    present = {n: np.asarray(g) for n, g in zip(names, gradients or []) if g is not None}
    return dict(found, variables=[[n, [int(d) for d in np.shape(value)]] for n, value in zip(names, values)],
                gradients_measured=gradients is not None,
                gradients_missing=sorted(set(names) - set(present)) if gradients is not None else [],
                gradients_finite=all(bool(np.all(np.isfinite(g))) for g in present.values()),
                loss_before=float(before), loss_after=float(after),
                arrays={"gradient": present, "after": {n: np.asarray(v) for n, v in zip(names, values)}})


def _moved(initial: Sequence[Any], final: Sequence[Any]) -> bool:
    """Whether a step changed any variable: what a step whose gradient holds random numbers (dropout) is held
    to, since a gradient drawn under one dropout mask need not lower the loss measured without one."""
    return any(not np.array_equal(a, b) for a, b in zip(initial, final))


def _traces_random_ops(tf: Any, call: Callable[[], Any]) -> bool:
    """Whether ``call`` holds random ops (dropout), read from its traced graph: two training-mode draws that
    agree do not prove there are none (a dropout mask over few active units repeats often). A trace takes
    ~8 ms once the process has traced anything, 0.5 s as its first (tf2.21). A call that cannot be traced
    counts as drawing none, as two agreeing draws did before: this is the harness's question, not the model's."""
    try:
        traced = tf.function(call).get_concrete_function()  # held while its graph is read (TF 1.15 frees it)
        return bool(random_ops_behind(traced.outputs))
    except Exception:  # noqa: BLE001 - any failure to trace leaves the draws' answer standing
        return False


def _dense(gradient: Any, tf: Any) -> Any:
    """A gradient as a dense tensor (an embedding lookup's gradient is IndexedSlices)."""
    return tf.convert_to_tensor(gradient) if gradient is not None else None


def _object_loss(tf: Any, obj: Any, signature: str, tensors: Mapping[str, Any], training: bool) -> Any:
    """The sum of squares of the first output of ``signature`` (``__call__`` with ``training``)."""
    if signature == CALL:
        outputs = objects.invoke_call(obj, tensors, tf, training=training)
    else:
        outputs = as_dict(obj.signatures[signature](**tensors))
    return tf.reduce_sum(tf.square(tf.cast(_first(outputs), tf.float32)))


def eager_object(tf: Any, obj: Any, signature: str, tensors_of: Callable[[], Mapping[str, Any]], api: str,
                 device: Optional[devices.Device] = None) -> Dict[str, Any]:
    """GradientTape over ``obj.trainable_variables``; on xla the losses and the gradient computation are a
    compiled tf.function."""
    variables = _trainable(obj, api)
    tensors = tensors_of()

    def loss(training: bool) -> Any:
        return _object_loss(tf, obj, signature, tensors, training)

    def measured(feeds: Mapping[str, Any]) -> Any:
        return _object_loss(tf, obj, signature, feeds, False)

    def loss_and_gradients(feeds: Mapping[str, Any]) -> Any:
        with tf.GradientTape() as tape:
            trained = _object_loss(tf, obj, signature, feeds, True)
        return trained, [_dense(g, tf) for g in tape.gradient(trained, variables)]

    measure = _compiled(tf, device, measured)
    before = measure(tensors)  # the losses in inference mode: dropout would make them noise
    trained = [float(loss(True)), float(loss(True))]
    training_matters = bool(signature == CALL and abs(trained[0] - float(loss(False))) > 0)
    # dropout: the gradients hold the device's random numbers (the trace only where the draws agree)
    draws_random = trained[0] != trained[1] or (training_matters and _traces_random_ops(tf, lambda: loss(True)))
    _, gradients = _compiled(tf, device, loss_and_gradients)(tensors)
    originals = [v.numpy() for v in variables]
    for index, rate in enumerate(LEARNING_RATES):
        if index:  # back to where the step started, for a smaller one
            for variable, original in zip(variables, originals):
                variable.assign(original)
        for variable, gradient in zip(variables, gradients):
            if gradient is not None:
                variable.assign_sub(rate * tf.cast(gradient, variable.dtype))
        after = measure(tensors)
        if float(after) < float(before):
            break
    regularization = list(getattr(obj, "regularization_losses", None) or [])
    final = [v.numpy() for v in variables]
    return _summary(variables, [None if g is None else g.numpy() for g in gradients], before.numpy(), after.numpy(),
                    final, regularization_losses=len(regularization), moved=_moved(originals, final),
                    training_changes_output=training_matters, draws_random=draws_random, learning_rate=rate)


def graph_step(tf: Any, session: Any, loss: Any, variables: Sequence[Any], feed: Mapping[Any, Any],
               step_dependencies: Sequence[Any] = (), eval_loss: Any = None,
               statistics: Sequence[Any] = ()) -> Dict[str, Any]:
    """Gradients, one SGD step on ``loss`` (after ``step_dependencies``, e.g. UPDATE_OPS) and ``eval_loss``
    (default: ``loss``) before and after it, in ``session``; ``statistics`` (batch norm's moving averages)
    are recorded as moved or not."""
    tf1 = tf.compat.v1
    eval_loss = loss if eval_loss is None else eval_loss
    gradients = [_dense(g, tf) for g in tf.gradients(loss, list(variables))]  # IndexedSlices (lookups) densified
    rate = tf1.placeholder_with_default(np.float32(LEARNING_RATES[0]), [], name="learning_rate")
    with tf.control_dependencies(list(step_dependencies)):
        step = tf1.train.GradientDescentOptimizer(rate).minimize(loss, var_list=list(variables))
    session.run(tf1.global_variables_initializer())  # restores what hub.Module and hub.load loaded
    session.run([tf1.tables_initializer()] + list(session.graph.get_collection("saved_model_initializers")))
    before, initial, kept = session.run([eval_loss, list(variables), list(statistics)], feed)
    values = session.run([g for g in gradients if g is not None], feed)
    computed = iter(values)
    gradients = [None if g is None else next(computed) for g in gradients]
    random_ops = random_ops_behind([loss, eval_loss])
    restore = None  # built only when a first step overshoots: most never need it
    for index, learning_rate in enumerate(LEARNING_RATES):
        if index:  # back to where the step started (statistics too), for a smaller one
            held = list(variables) + list(statistics)
            if restore is None:
                values_in = [tf1.placeholder(v.dtype.base_dtype, v.shape) for v in held]
                restore = [v.assign(value) for v, value in zip(held, values_in)]
            session.run(restore, dict(zip(values_in, list(initial) + list(kept))))
        session.run(step, _with(feed, rate, learning_rate))
        after, final, updated = session.run([eval_loss, list(variables), list(statistics)], feed)
        if random_ops or after < before:  # a loss drawn anew each run is not held to going down
            break
    moved_statistics = sorted(v.name for v, a, b in zip(statistics, kept, updated) if not np.array_equal(a, b))
    return _summary(variables, gradients, before, after, final, moved=_moved(initial, final), random_ops=random_ops,
        draws_random=bool(random_ops), learning_rate=learning_rate,
        statistics=sorted(v.name for v in statistics), statistics_moved=moved_statistics)


def _with(feed: Mapping[Any, Any], key: Any, value: Any) -> Dict[Any, Any]:
    fed = dict(feed)
    fed[key] = value
    return fed


CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")


def random_ops_behind(tensors: Sequence[Any]) -> List[str]:
    """The random ops ``tensors`` depend on in their graph (not, say, a variable's initializer), including
    those inside the functions they call (a restored TF2 function's dropout)."""
    seen, stack, types = set(), [t.op for t in tensors], set()
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        types.add(op.type)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    if types & set(CALL_OPS) or any(t.startswith("__inference") for t in types):
        library = tensors[0].graph.as_graph_def().library.function
        types.update(node.op for function in library for node in function.node_def)
    return sorted(types & set(RANDOM_OPS))


def _placeholders(tf: Any, described: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    return {name: tf.compat.v1.placeholder(tf.as_dtype(info["dtype"]), shape=info["shape"], name=name)
            for name, info in described.items()}


def graph_object(tf: Any, load: Callable[[], Any], signature: str, described: Mapping[str, Mapping[str, Any]],
                 inputs_of: Callable[[], Mapping[str, np.ndarray]], device: Optional[devices.Device] = None
                 ) -> Dict[str, Any]:
    tf1 = tf.compat.v1
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph, config=devices.session_config(tf)) as session:
        obj = load()
        variables = _trainable(obj, "hub.load")
        inputs = inputs_of()
        feeds = _placeholders(tf, described)
        collected = len(tf1.trainable_variables())  # the guide: without var_list, "No variables to optimize"
        with _placed(tf, device):  # the step's ops on the case's device (a scope does not reach a new graph)
            result = graph_step(tf, session, _object_loss(tf, obj, signature, feeds, True), variables,
                                {feeds[n]: v for n, v in inputs.items()},
                                eval_loss=_object_loss(tf, obj, signature, feeds, False))
        result["random_ops"] = []  # the losses are measured in inference mode
        result.update(in_trainable_collection=collected,
                      regularization_losses=len(list(getattr(obj, "regularization_losses", None) or [])))
        return result


def hub_module(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]], signature: str,
               described: Mapping[str, Mapping[str, Any]], inputs_of: Callable[[], Mapping[str, np.ndarray]],
               device: Optional[devices.Device] = None) -> Dict[str, Any]:
    tf1 = tf.compat.v1
    variants = [set(t) for t in hub.load_module_spec(handle).get_tags()]
    train_tags = {"train"} | set(tags or ()) if ({"train"} | set(tags or ())) in variants else set(tags or ())
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph, config=devices.session_config(tf)) as session:
        module = hub.Module(handle, trainable=True, tags=train_tags)
        feeds = _placeholders(tf, described)
        with _placed(tf, device):
            outputs = module(feeds, signature=signature, as_dict=True)
            loss = tf.reduce_sum(tf.square(tf.cast(_first(outputs), tf.float32)))
        variables = tf1.trainable_variables()
        if not variables:
            raise NotApplicable("the module has no trainable variables")
        update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        statistics = [v for v in tf1.global_variables() if v.name.split("/")[-1].startswith("moving_")]
        with _placed(tf, device):
            result = graph_step(tf, session, loss, variables, {feeds[n]: v for n, v in inputs_of().items()},
                                update_ops, statistics=statistics)
        result.update(tags=sorted(train_tags), update_ops=len(update_ops),
                      regularization_losses=len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)))
        return result


def _one_input(inputs: Mapping[str, np.ndarray]) -> Any:
    if len(inputs) != 1:
        raise NotApplicable("the Keras model check feeds one input; this signature takes %d" % len(inputs))
    return next(iter(inputs.items()))


def _in_fresh_graph(tf: Any, step: Callable[[], Dict[str, Any]], device: Optional[devices.Device] = None
                    ) -> Dict[str, Any]:
    """Keras in a graph keeps its session per graph: a fresh graph per case, placed on ``device`` (eager: as
    it is, placed by the caller)."""
    if tf.executing_eagerly():
        return step()
    with tf.Graph().as_default(), _placed(tf, device):
        return step()


def _keras_compile_options(tf: Any, keras: Any, device: Optional[devices.Device]) -> Dict[str, Any]:
    """``jit_compile=True`` for xla where Keras can compile its step (eager TF 2)."""
    if device is None or device.name != "xla":
        return {}
    if not tf.executing_eagerly():
        raise NotApplicable("Keras's graph session places ops softly: an XLA placement of its step could "
                            "silently fall back to the CPU")
    import inspect

    if "jit_compile" not in inspect.signature(keras.Model.compile).parameters:
        raise NotApplicable("this Keras cannot compile its training step with XLA (Model.compile has no "
                            "jit_compile)")
    return {"jit_compile": True}


def _sgd(tf: Any, keras: Any) -> Any:
    optimizers = keras.optimizers
    if not tf.executing_eagerly() and hasattr(optimizers, "legacy"):  # Keras >= 2.11's optimizers need eager
        optimizers = optimizers.legacy
    return optimizers.SGD(LEARNING_RATE)


def _head(tf: Any, keras: Any, output: Any) -> Any:
    """A ``Dense(1)`` over the flattened output; over its mean where the flattened width is unknown (a Dense
    layer needs a known last dimension)."""
    output = tf.cast(output, tf.float32)
    if output.shape.ndims is None:  # Flatten needs a rank: the mean over everything but the batch
        features = keras.layers.Lambda(lambda t: tf.reduce_mean(tf.reshape(t, [tf.shape(t)[0], -1]), axis=-1,
                                                                keepdims=True))(output)
    else:
        features = keras.layers.Flatten()(output)
    if tf.compat.dimension_value(features.shape[-1]) is None:
        features = keras.layers.Lambda(lambda t: tf.reduce_mean(t, axis=-1, keepdims=True))(features)
    dense = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(0.1), bias_initializer="zeros",
                               name="head")  # named: Keras numbers unnamed layers per process (dense_3)
    return dense(features)


def keras_model(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]], signature: str,
                described: Mapping[str, Mapping[str, Any]], inputs_of: Callable[[], Mapping[str, np.ndarray]],
                device: Optional[devices.Device] = None) -> Dict[str, Any]:
    """The guide's ``Sequential([hub.KerasLayer(handle, trainable=True), Dense(1)])``, compiled and fitted on
    one batch (a functional model of the same layers, so that any input dtype and shape fits)."""
    kwargs = tags_kwargs(tags)
    if signature != CALL:
        kwargs.update(signature=signature, signature_outputs_as_dict=True)
    options = _keras_compile_options(tf, tf.keras, device)
    return _in_fresh_graph(tf, lambda: _keras_step(tf, tf.keras, hub, handle, kwargs, inputs_of, described,
                                                   device, options), device)


def _keras_step(tf: Any, keras: Any, hub: Any, handle: str, kwargs: Dict[str, Any],
                inputs_of: Callable[[], Mapping[str, np.ndarray]], described: Mapping[str, Mapping[str, Any]],
                device: Optional[devices.Device], options: Dict[str, Any]) -> Dict[str, Any]:
    layer = hub.KerasLayer(handle, trainable=True, **kwargs)
    name, x = _one_input(inputs_of())
    features = keras.Input(shape=x.shape[1:], dtype=tf.as_dtype(described[name]["dtype"]), name=name)
    output = layer(features)  # refuses a TF1 Hub module or a named signature (at its first call)
    if not layer.trainable_weights:  # before a step that could only fail on an empty variable list
        raise NotApplicable("the hub.KerasLayer has no trainable weights")
    if isinstance(output, dict):
        output = _first(output)
    model = keras.Model(features, _head(tf, keras, output))
    model.compile(optimizer=_sgd(tf, keras), loss="mse", **options)
    target = np.zeros((x.shape[0], 1), np.float32)
    before = model.evaluate(x, target, verbose=0, batch_size=len(x))
    if tf.executing_eagerly():
        def gradients_of(batch: Any) -> List[Any]:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(batch, training=True) - target)) + sum(model.losses)
            return [None if g is None else _dense(g, tf) for g in tape.gradient(loss, layer.trainable_weights)]

        gradients = [None if g is None else g.numpy()
                     for g in _compiled(tf, device, gradients_of)(tf.constant(x))]
    else:  # Keras takes its own step in a graph; gradients built beside it would be a second, other graph
        gradients = None
    initial = model.get_weights()
    layer_initial = keras.backend.batch_get_value(layer.trainable_weights)
    for index, rate in enumerate(LEARNING_RATES):
        if index:  # back to where the step started, for a smaller one
            model.set_weights(initial)
            keras.backend.set_value(model.optimizer.learning_rate, rate)
        model.fit(x, target, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
        after = model.evaluate(x, target, verbose=0, batch_size=len(x))
        if after < before:
            break
    if tf.executing_eagerly():  # after the step: training-mode calls move batch norm's statistics
        first = model(x, training=True)
        draws_random = not np.array_equal(first, model(x, training=True)) or (
            not np.array_equal(first, model(x, training=False))
            and _traces_random_ops(tf, lambda: model(x, training=True)))
    else:
        draws_random = bool(random_ops_behind([model.output]))
    exported = len(list(getattr(layer.resolved_object, "regularization_losses", None) or []))  # no second load
    final = keras.backend.batch_get_value(layer.trainable_weights)
    return _summary(layer.trainable_weights, gradients, before, after, final, regularization_losses=len(model.losses),
                    exported_regularization_losses=exported, moved=_moved(layer_initial, final),
                    draws_random=draws_random, learning_rate=rate)


def _keras_session(tf: Any, keras: Any) -> Any:
    """Keras's session in a graph, with what hub.load restored in it initialized (the loaded variables and
    tables: Keras initializes only its own variables)."""
    get_session = getattr(keras.backend, "get_session", None) or tf.compat.v1.keras.backend.get_session
    session = get_session()
    graph = session.graph
    session.run(tf.compat.v1.variables_initializer(
        [v for v in graph.get_collection("variables") if not getattr(v, "_keras_initialized", False)]))
    session.run([tf.compat.v1.tables_initializer()] + list(graph.get_collection("saved_model_initializers")))
    return session


def keras_frozen(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]], signature: str,
                 description: Mapping[str, Any], inputs_of: Callable[[], Mapping[str, np.ndarray]],
                 device: Optional[devices.Device] = None) -> Dict[str, Any]:
    """The guide's options for a model that cannot be fine-tuned, in a Keras model:
    ``hub.KerasLayer(handle, tags=..., signature=..., output_key=...)`` frozen under a ``Dense(1)`` head that
    is fitted on one batch. Every output's ``output_key`` layer must give what ``signature_outputs_as_dict``
    gives for that key (outputs that differ between two calls are left out), the head must learn and the
    frozen layer's weights must stay as they were (but for the state the model's own calls change)."""
    described, outputs = description["inputs"], dict(description.get("outputs") or {})
    numeric = sorted(k for k, info in outputs.items() if info.get("dtype") not in ("string", "variant", "resource"))
    floats = [k for k in numeric if str(outputs[k]["dtype"]).startswith(("float", "bfloat", "half"))
              and outputs[k].get("shape") != []]  # a scalar (a counter) has no batch for a head to learn from
    if not floats:
        raise NotApplicable("signature %s has no float output with a batch dimension for a head to learn from"
                            % signature)
    common = tags_kwargs(tags)
    common["signature"] = signature

    def step() -> Dict[str, Any]:
        keras = tf.keras
        whole = hub.KerasLayer(handle, signature_outputs_as_dict=True, **common)
        name, x = _one_input(inputs_of())
        features = keras.Input(shape=x.shape[1:], dtype=tf.as_dtype(described[name]["dtype"]), name=name)
        layers = {k: hub.KerasLayer(handle, output_key=k, **common) for k in numeric}
        frozen = layers[floats[0]]
        model = keras.Model(features, _head(tf, keras, frozen(features)))
        model.compile(optimizer=_sgd(tf, keras), loss="mse")
        def as_dict(t: Any) -> List[Any]:
            entries = whole(t)
            return [entries[k] for k in numeric]

        def by_key(t: Any) -> List[Any]:
            return [layers[k](t) for k in numeric]

        if tf.executing_eagerly():
            argument = tf.constant(x)
            first, again, keyed = ([np.asarray(v) for v in f(argument)] for f in (as_dict, as_dict, by_key))
        else:
            entries, by_keys = as_dict(features), by_key(features)
            session = _keras_session(tf, keras)  # once every layer and the head exist
            first, again, keyed = (list(session.run(t, {features: x})) for t in (entries, entries, by_keys))
        nondeterministic = [k for k, a, b in zip(numeric, first, again) if not identical(a, b)]
        differ = [k for k, a, b in zip(numeric, first, keyed) if k not in nondeterministic and not identical(a, b)]
        target = np.zeros((x.shape[0], 1), np.float32)
        before = model.evaluate(x, target, verbose=0, batch_size=len(x))
        called = keras.backend.batch_get_value(frozen.weights)
        model.predict(x, batch_size=len(x), verbose=0)  # what a call alone changes is the model's state
        kept = keras.backend.batch_get_value(frozen.weights)
        stateful = [w.name for w, a, b in zip(frozen.weights, called, kept) if not np.array_equal(a, b)]
        head_layer = model.layers[-1]
        head_initial = head_layer.get_weights()
        for index, rate in enumerate(LEARNING_RATES):
            if index:  # the head back to where it started (the frozen layer never moves), a smaller step
                head_layer.set_weights(head_initial)
                keras.backend.set_value(model.optimizer.learning_rate, rate)
            model.fit(x, target, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
            after = model.evaluate(x, target, verbose=0, batch_size=len(x))
            if after < before or stateful:
                break
        moved = [w.name for w, a, b in zip(frozen.weights, kept, keras.backend.batch_get_value(frozen.weights))
                 if not np.array_equal(a, b) and w.name not in stateful]
        head = model.layers[-1].trainable_weights
        names = ["head/" + w.name.split("/")[-1].split(":")[0] for w in head]  # TF 1.15's eager Keras: head_2/
        return dict(signature=signature, output_keys_checked=[k for k in numeric if k not in nondeterministic],
                    output_keys_differ=differ, nondeterministic_outputs=nondeterministic,
                    trained_output_key=floats[0], frozen_trainable_weights=[w.name for w in frozen.trainable_weights],
                    frozen_weights_moved=moved, state_changed_by_calls=stateful, learning_rate=rate,
                    loss_before=float(before), loss_after=float(after), gradients_measured=False,
                    gradients_missing=[], gradients_finite=True,
                    variables=[[n, [int(d) for d in w.shape]] for n, w in zip(names, head)],
                    arrays={"gradient": {}, "after": dict(zip(names, keras.backend.batch_get_value(head)))})

    return _in_fresh_graph(tf, step, device)

