"""One fine-tuning step through each api, as the TF Hub guides write it (imports TensorFlow).

- ``hub.Module`` (graph): ``hub.Module(handle, trainable=True, tags={"train"})`` where the module has that
  variant, an SGD step on the TRAINABLE_VARIABLES collection with ``UPDATE_OPS`` as control dependencies;
- ``hub.load`` / ``saved_model``: ``tf.GradientTape`` over ``obj.trainable_variables`` (eager), or
  ``minimize(var_list=obj.trainable_variables)`` in a graph (the loaded variables are not in the
  TRAINABLE_VARIABLES collection there: recorded as ``in_trainable_collection``);
- ``hub.KerasLayer``: ``hub.KerasLayer(handle, trainable=True)`` in a Keras model with a ``Dense(1)`` head,
  ``compile`` + ``fit`` on one batch, eager or in a graph.

The loss is the sum of squares of the signature's first output (by name), or for the Keras model the mean
squared error of its head against zeros; the step is plain SGD with a fixed learning rate. Each returns the
trainable variables (names, shapes), the gradients (and which are missing or not finite), the loss before and
after the step, the regularization losses and update ops found, and the variables' values after the step.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import numpy as np

from conformance.runtime.apis import objects
from conformance.runtime.apis.loaded import CALL, NotApplicable, as_dict

LEARNING_RATE = 0.01
# Ops that make a loss differ between two runs of one graph (dropout): there the step is held to moving the
# variables, not to lowering a loss that is drawn anew each run.
RANDOM_OPS = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt", "Multinomial",
              "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2")


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


def eager_object(tf: Any, obj: Any, signature: str, tensors: Mapping[str, Any]) -> Dict[str, Any]:
    variables = list(getattr(obj, "trainable_variables", None) or [])
    if not variables:
        raise NotApplicable("the loaded object has no trainable_variables")

    def loss(training: bool) -> Any:
        return _object_loss(tf, obj, signature, tensors, training)

    before = loss(False)  # the losses in inference mode: dropout would make them noise
    training_matters = bool(signature == CALL and abs(float(loss(True)) - float(before)) > 0)
    with tf.GradientTape() as tape:
        trained = loss(True)
    gradients = [_dense(g, tf) for g in tape.gradient(trained, variables)]
    for variable, gradient in zip(variables, gradients):
        if gradient is not None:
            variable.assign_sub(LEARNING_RATE * tf.cast(gradient, variable.dtype))
    after = loss(False)
    regularization = list(getattr(obj, "regularization_losses", None) or [])
    return _summary(variables, [None if g is None else g.numpy() for g in gradients], before.numpy(), after.numpy(),
                    [v.numpy() for v in variables], regularization_losses=len(regularization),
                    training_changes_output=training_matters)


def graph_step(tf: Any, session: Any, loss: Any, variables: Sequence[Any], feed: Mapping[Any, Any],
               step_dependencies: Sequence[Any] = (), eval_loss: Any = None,
               statistics: Sequence[Any] = ()) -> Dict[str, Any]:
    """Gradients, one SGD step on ``loss`` (after ``step_dependencies``, e.g. UPDATE_OPS) and ``eval_loss``
    (default: ``loss``) before and after it, in ``session``; ``statistics`` (batch norm's moving averages)
    are recorded as moved or not."""
    tf1 = tf.compat.v1
    eval_loss = loss if eval_loss is None else eval_loss
    gradients = [_dense(g, tf) for g in tf.gradients(loss, list(variables))]  # IndexedSlices (lookups) densified
    with tf.control_dependencies(list(step_dependencies)):
        step = tf1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss, var_list=list(variables))
    session.run(tf1.global_variables_initializer())  # restores what hub.Module and hub.load loaded
    session.run([tf1.tables_initializer()] + list(session.graph.get_collection("saved_model_initializers")))
    before, initial, kept = session.run([eval_loss, list(variables), list(statistics)], feed)
    values = session.run([g for g in gradients if g is not None], feed)
    computed = iter(values)
    gradients = [None if g is None else next(computed) for g in gradients]
    session.run(step, feed)
    after, final, updated = session.run([eval_loss, list(variables), list(statistics)], feed)
    random_ops = sorted({op.type for op in session.graph.get_operations() if op.type in RANDOM_OPS})
    moved_statistics = sorted(v.name for v, a, b in zip(statistics, kept, updated) if not np.array_equal(a, b))
    return _summary(variables, gradients, before, after, final, moved=any(
        not np.array_equal(a, b) for a, b in zip(initial, final)), random_ops=random_ops,
        statistics=sorted(v.name for v in statistics), statistics_moved=moved_statistics)


def _placeholders(tf: Any, described: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    return {name: tf.compat.v1.placeholder(tf.as_dtype(info["dtype"]), shape=info["shape"], name=name)
            for name, info in described.items()}


def graph_object(tf: Any, load: Callable[[], Any], signature: str, described: Mapping[str, Mapping[str, Any]],
                 inputs: Mapping[str, np.ndarray]) -> Dict[str, Any]:
    tf1 = tf.compat.v1
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
        obj = load()
        variables = list(getattr(obj, "trainable_variables", None) or [])
        if not variables:
            raise NotApplicable("the loaded object has no trainable_variables")
        feeds = _placeholders(tf, described)
        collected = len(tf1.trainable_variables())  # the guide: without var_list, "No variables to optimize"
        result = graph_step(tf, session, _object_loss(tf, obj, signature, feeds, True), variables,
                            {feeds[n]: v for n, v in inputs.items()},
                            eval_loss=_object_loss(tf, obj, signature, feeds, False))
        result["random_ops"] = []  # the losses are measured in inference mode
        result.update(in_trainable_collection=collected,
                      regularization_losses=len(list(getattr(obj, "regularization_losses", None) or [])))
        return result


def hub_module(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]], signature: str,
               described: Mapping[str, Mapping[str, Any]], inputs: Mapping[str, np.ndarray]) -> Dict[str, Any]:
    tf1 = tf.compat.v1
    variants = [set(t) for t in hub.load_module_spec(handle).get_tags()]
    train_tags = {"train"} | set(tags or ()) if ({"train"} | set(tags or ())) in variants else set(tags or ())
    with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
        module = hub.Module(handle, trainable=True, tags=train_tags)
        feeds = _placeholders(tf, described)
        outputs = module(feeds, signature=signature, as_dict=True)
        loss = tf.reduce_sum(tf.square(tf.cast(_first(outputs), tf.float32)))
        variables = tf1.trainable_variables()
        if not variables:
            raise NotApplicable("the module has no trainable variables")
        update_ops = tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)
        statistics = [v for v in tf1.global_variables() if v.name.split("/")[-1].startswith("moving_")]
        result = graph_step(tf, session, loss, variables, {feeds[n]: v for n, v in inputs.items()}, update_ops,
                            statistics=statistics)
        result.update(tags=sorted(train_tags), update_ops=len(update_ops),
                      regularization_losses=len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)))
        return result


def keras_model(tf: Any, hub: Any, handle: str, tags: Optional[Sequence[str]], signature: str,
                described: Mapping[str, Mapping[str, Any]], inputs: Mapping[str, np.ndarray]) -> Dict[str, Any]:
    """The guide's ``Sequential([hub.KerasLayer(handle, trainable=True), Dense(1)])``, compiled and fitted on
    one batch (a functional model of the same layers, so that any input dtype and shape fits)."""
    if len(inputs) != 1:
        raise NotApplicable("the Keras model check feeds one input; this signature takes %d" % len(inputs))
    keras = tf.keras
    (name, x), = inputs.items()
    kwargs = {} if tags is None else {"tags": list(tags)}  # type: Dict[str, Any]
    if signature != CALL:
        kwargs.update(signature=signature, signature_outputs_as_dict=True)
    if not tf.executing_eagerly():  # Keras in a graph keeps its session per graph: a fresh one per case
        with tf.Graph().as_default():
            return _keras_step(tf, keras, hub, handle, kwargs, name, x, described)
    return _keras_step(tf, keras, hub, handle, kwargs, name, x, described)


def _keras_step(tf: Any, keras: Any, hub: Any, handle: str, kwargs: Dict[str, Any], name: str, x: np.ndarray,
                described: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    layer = hub.KerasLayer(handle, trainable=True, **kwargs)
    features = keras.Input(shape=x.shape[1:], dtype=tf.as_dtype(described[name]["dtype"]), name=name)
    output = layer(features)
    if isinstance(output, dict):
        output = _first(output)
    head = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(0.1), bias_initializer="zeros")
    model = keras.Model(features, head(keras.layers.Flatten()(tf.cast(output, tf.float32))))
    optimizers = keras.optimizers
    if not tf.executing_eagerly() and hasattr(optimizers, "legacy"):  # Keras >= 2.11's optimizers need eager
        optimizers = optimizers.legacy
    model.compile(optimizer=optimizers.SGD(LEARNING_RATE), loss="mse")
    target = np.zeros((x.shape[0], 1), np.float32)
    before = model.evaluate(x, target, verbose=0, batch_size=len(x))
    if tf.executing_eagerly():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - target)) + sum(model.losses)
        gradients = [None if g is None else _dense(g, tf).numpy()
                     for g in tape.gradient(loss, layer.trainable_weights)]
    else:  # Keras takes its own step in a graph; gradients built beside it would be a second, other graph
        gradients = None
    model.fit(x, target, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    after = model.evaluate(x, target, verbose=0, batch_size=len(x))
    if not layer.trainable_weights:
        raise NotApplicable("the hub.KerasLayer has no trainable weights")
    exported = len(list(getattr(layer.resolved_object, "regularization_losses", None) or []))  # no second load
    return _summary(layer.trainable_weights, gradients, before, after, keras.backend.batch_get_value(
        layer.trainable_weights), regularization_losses=len(model.losses), exported_regularization_losses=exported)
