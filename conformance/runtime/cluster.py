"""The parameter-server case of the TF Hub migration guide, in a process of its own: forked from the worker's
fork server (``serve_forked``), or ``python -m conformance.runtime.cluster``, which imports TensorFlow itself.

It reads one request per line (on stdin for ``-m``),
``{"handle": ..., "tags": ..., "variants": [[api, shared, estimator], ...]}``, and runs each variant in a fresh
graph with a fresh ``{ps: 1, worker: 1}`` cluster of ``tf.compat.v1.train.Server`` on 127.0.0.1 ports, loads the
model under ``replica_device_setter`` (its variables go to ``/job:ps``), builds a loss that *consumes* the
model's output (fetching the output alone is inlined by Grappler and never shows the problem), one SGD step
with ``minimize(var_list=...)``, and runs it in a TF1 Session on the worker, with or without
``share_cluster_devices_in_session`` in the ConfigProto. Servers cannot be stopped in TF1: the caller
(:mod:`conformance.runtime.cluster_case`) runs this in a process group it kills when it is done with it.

Answers each request with one line ``CLUSTER-RESULT {json}`` on its results stream (stdout for ``-m``; fds 1
and 2 go to stderr, so nothing a model prints is taken for a result): per variant (``"<api> shared|unshared"``),
``outcome`` ok | error | skip | harness-error, the losses before and after the step, or the error's type and
message. It ends when its requests end.
"""
from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import tempfile
import time
import traceback
from typing import Any, Dict, List, Tuple

import numpy as np

from conformance.runtime.apis.loaded import tags_kwargs

RESULT_PREFIX = "CLUSTER-RESULT "
UNKNOWN_DIM = 3


# A loopback port is free when it is picked, but another process (the cluster process of another runtime run
# at the same time) can bind it before TensorFlow's server does: TensorFlow then says only "Could not start
# gRPC server". That is ours, not the model's: the variant is tried again on new ports, and after
# PORT_ATTEMPTS it is a harness error.
PORT_ATTEMPTS = 3
PORT_TAKEN = "Could not start gRPC server"


def _ports(count: int) -> List[int]:
    """``count`` distinct loopback ports, free when picked (all held at once, so they differ)."""
    probes = []  # type: List[socket.socket]
    try:
        for _ in range(count):
            probes.append(socket.socket())
            probes[-1].bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _call_arguments(tf: Any, obj: Any) -> List[Any]:
    """``[x]`` or ``[x, training]`` for ``__call__``: ones shaped like its one float input (batch 2), and
    ``training=True`` where it takes one (a Reusable SavedModel's bool, a Keras export's Python bool); a model
    whose ``__call__`` takes anything else is outside this check."""
    call = getattr(obj, "__call__", None)
    functions = list(getattr(call, "concrete_functions", None) or [])
    for function in functions:
        args = (function.structured_input_signature or ((), {}))[0]
        first = args[0] if args else None
        if type(first).__name__ != "TensorSpec" or not first.dtype.is_floating or not first.shape.rank:
            continue
        dims = [2 if i == 0 else (d if d is not None else UNKNOWN_DIM) for i, d in enumerate(first.shape.as_list())]
        x = tf.ones(dims, first.dtype)
        if len(args) == 1:
            return [x]
        training = args[1]
        if training is True:
            return [x, True]
        if getattr(getattr(training, "dtype", None), "name", None) == "bool":
            return [x, tf.constant(True)]
    raise LookupError("the cluster check calls __call__(x[, training]) with one float tensor x; this model's "
                      "__call__ takes %s" % ([str(f.structured_input_signature) for f in functions][:1]
                                             or "nothing (it has no __call__)"))


def variant_key(api: str, shared: bool, estimator: bool = False) -> str:
    return "%s %s%s" % (api, "estimator-" if estimator else "", "shared" if shared else "unshared")


def _session_config(tf: Any, shared: bool) -> Tuple[Any, str]:
    """A ConfigProto with ``share_cluster_devices_in_session`` (top-level since TF 2.2, else experimental.)."""
    config = tf.compat.v1.ConfigProto()
    field = "share_cluster_devices_in_session"
    holder = config if hasattr(config, field) else config.experimental
    setattr(holder, field, bool(shared))
    return config, ("" if holder is config else "experimental.") + field


def run_estimator(handle: str, tags: Any, api: str, shared: bool) -> Dict[str, Any]:
    """The guide's literal case: an Estimator whose model_fn fine-tunes the model, TF_CONFIG naming a chief
    (this process) and a ps (a server in this process) on loopback, ``train_and_evaluate`` for 2 steps."""
    import tensorflow as tf
    import tensorflow_hub as hub

    if not hasattr(tf, "estimator") or not hasattr(getattr(tf, "estimator", None), "Estimator"):
        return {"outcome": "skip", "why": "tf.estimator is not in this TensorFlow (removed in 2.16)"}
    tf1 = tf.compat.v1
    kwargs = tags_kwargs(tags)
    with tf.Graph().as_default():
        loaded = hub.load(handle, **kwargs)
        arguments = _call_arguments(tf, loaded)
        if not _trainable_variables(loaded):
            return {"outcome": "skip", "why": "the model has no trainable variables"}
    shape = [None] + arguments[0].shape.as_list()[1:]
    batch = np.ones([2] + shape[1:], arguments[0].dtype.as_numpy_dtype)
    chief, ps = _ports(2)
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
            training = _call_arguments(tf, obj)[1:]  # made in this graph, like the rest of model_fn
            output, variables = obj(features["x"], *training), _trainable_variables(obj)
        loss = tf.reduce_mean(tf.square(tf.nest.flatten(output)[0]))
        step = tf1.train.GradientDescentOptimizer(0.01).minimize(loss, global_step=tf1.train.get_global_step(),
                                                                 var_list=variables)
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=step)

    def input_fn():
        return tf.data.Dataset.from_tensors(({"x": batch}, np.zeros([2, 1], np.float32))).repeat()

    config, flag = _session_config(tf, shared)
    try:
        with tempfile.TemporaryDirectory() as model_dir:
            estimator = tf.estimator.Estimator(model_fn=model_fn, config=tf.estimator.RunConfig(
                model_dir=model_dir, session_config=config, save_checkpoints_steps=None, save_checkpoints_secs=None))
            try:
                tf.estimator.train_and_evaluate(estimator, tf.estimator.TrainSpec(input_fn, max_steps=2),
                                                tf.estimator.EvalSpec(input_fn, steps=1))
            except tf.errors.OpError as error:
                return {"outcome": "error", "type": type(error).__name__, "message": error.message, "flag": flag}
    finally:
        if previous is None:
            os.environ.pop("TF_CONFIG", None)
        else:
            os.environ["TF_CONFIG"] = previous
    return {"outcome": "ok", "flag": flag, "steps": 2}


def run(handle: str, tags: Any, api: str, shared: bool) -> Dict[str, Any]:
    import tensorflow as tf
    import tensorflow_hub as hub

    tf1 = tf.compat.v1
    ps, worker_port = _ports(2)
    cluster = tf.train.ClusterSpec({"ps": ["127.0.0.1:%d" % ps], "worker": ["127.0.0.1:%d" % worker_port]})
    tf1.train.Server(cluster, job_name="ps", task_index=0)
    worker = tf1.train.Server(cluster, job_name="worker", task_index=0)
    kwargs = tags_kwargs(tags)
    with tf.Graph().as_default(), tf1.device(tf1.train.replica_device_setter(cluster=cluster)):  # vars -> ps
        obj = hub.load(handle, **kwargs)
        try:
            arguments = _call_arguments(tf, obj)
        except LookupError as outside:
            return {"outcome": "skip", "why": str(outside)}
        if api == "hub.KerasLayer":
            layer = hub.KerasLayer(handle, trainable=True, **kwargs)
            output, variables = layer(arguments[0], training=True), layer.trainable_weights
        else:
            output, variables = obj(*arguments), _trainable_variables(obj)
        if not variables:
            return {"outcome": "skip", "why": "the model has no trainable variables"}
        loss = tf.reduce_sum(tf.square(tf.nest.flatten(output)[0]))
        step = tf1.train.GradientDescentOptimizer(0.01).minimize(loss, var_list=variables)
        config, flag = _session_config(tf, shared)
        result = {"variables": sorted(v.name for v in variables), "flag": flag}
        with tf1.Session(worker.target, config=config) as session:
            session.run(tf1.global_variables_initializer())
            try:
                before = float(session.run(loss))
                session.run(step)
                after = float(session.run(loss))
            except tf.errors.OpError as error:
                result.update(outcome="error", type=type(error).__name__, message=error.message)
                return result
    result.update(outcome="ok", loss_before=before, loss_after=after)
    return result


def _trainable_variables(obj: Any) -> List[Any]:
    """A loaded object's trainable variables; none where it has no such attribute (an object saved without
    trainable variables is restored without one)."""
    return list(getattr(obj, "trainable_variables", None) or [])


def _variant(handle: str, tags: Any, api: str, shared: bool, estimator: bool) -> Dict[str, Any]:
    try:
        return (run_estimator if estimator else run)(handle, tags, api, shared)
    except Exception as error:  # noqa: BLE001 - the caller classifies TensorFlow's errors; ours are ours
        from conformance.blame import raised_by_harness

        return {"outcome": "harness-error" if raised_by_harness(error) else "error",
                "type": type(error).__name__, "message": str(error), "traceback": traceback.format_exc()[-3000:]}


def _port_taken(result: Dict[str, Any]) -> bool:
    return result.get("outcome") == "error" and PORT_TAKEN in str(result.get("message", ""))


def answer(request: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Every variant of one model's request, each timed; tried again on new ports where one was taken."""
    results = {}
    for module in request.get("imports") or []:  # op libraries the model needs, registered before any load
        importlib.import_module(module)
    for api, shared, estimator in request["variants"]:
        started = time.perf_counter()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            result = _variant(request["handle"], request.get("tags"), api, shared, estimator)
            if not _port_taken(result):
                break
        else:
            result = dict(result, outcome="harness-error", message="no loopback port stayed free for the cluster's "
                          "TensorFlow servers in %d tries (not the model's failure): %s" % (attempt, result["message"]))
        result["port_attempts"] = attempt
        result["seconds"] = round(time.perf_counter() - started, 3)
        results[variant_key(api, shared, estimator)] = result
    return results


def serve(requests: Any, results_out: Any) -> None:
    """Answers each request line of ``requests`` with a result line on ``results_out``, until it ends."""
    for line in requests:
        if line.strip():
            results_out.write(RESULT_PREFIX + json.dumps(answer(json.loads(line)), sort_keys=True) + "\n")
            results_out.flush()


def _graph_mode() -> None:
    import tensorflow as tf

    from conformance.runtime.memory import freeze

    tf.compat.v1.disable_eager_execution()
    freeze(collect_first=False)  # TensorFlow's objects: no collection walks them again


def serve_forked(in_fd: int, out_fd: int, stderr_fd: int, parent: int) -> int:
    """The cluster process as a child of the worker's fork server ``parent``, which has imported TensorFlow
    (no op run, so graph mode can still be chosen here): requests on ``in_fd``, results on ``out_fd``, fds 1
    and 2 on ``stderr_fd``. It leads a process group of its own, which the worker kills when done with it."""
    from conformance.runtime.child_process import set_death_signal

    set_death_signal()
    if os.getppid() != parent:  # the fork server died before the death signal was set
        return 1
    os.setsid()
    os.dup2(stderr_fd, 2)
    os.dup2(stderr_fd, 1)
    os.close(stderr_fd)
    sys.stdout = sys.stderr
    try:
        _graph_mode()
        with os.fdopen(in_fd, "r") as requests, os.fdopen(out_fd, "w") as results_out:
            serve(requests, results_out)
    except Exception:  # noqa: BLE001 - a fault of ours goes to stderr, whose tail the worker reports
        traceback.print_exc()
        return 1
    finally:
        sys.stderr.flush()
    return 0


def main() -> int:
    results_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # what TensorFlow or a model prints cannot be taken for a result
    sys.stdout = sys.stderr
    _graph_mode()
    serve(sys.stdin, results_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
