"""Builds the fault-injection suite's hostile models with this env's TensorFlow.

``python tests/hostile_models.py DIR`` writes TF2 SavedModels under DIR:

- ``good``: y = 2x, the control that must still pass beside the others;
- ``crash``: its signature runs the Abort op, which kills the process (LOG(FATAL), SIGABRT) like a kernel's
  failed CHECK does in real exports;
- ``hang``: its signature loops forever inside a native while loop (no Python to interrupt);
- ``writes``: its TF2 signature writes a file (``tf.io.write_file``) to ``$HOSTILE_TARGET.tf2``;
- ``writes_tf1``: a TF1 graph whose serving signature runs ``WriteFile`` to ``$HOSTILE_TARGET.tf1``.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

SPEC = [tf.TensorSpec([None], tf.float32, name="x")]


def _save(directory, function):
    module = tf.Module()
    module.f = tf.function(function, input_signature=SPEC)
    tf.saved_model.save(module, directory, signatures={"serving_default": module.f})


def good(x):
    return {"y": 2.0 * x}


def crash(x):
    abort = tf.raw_ops.Abort(error_msg="hostile model: intentional abort")
    with tf.control_dependencies([abort]):
        return {"y": tf.identity(x)}


def hang(x):
    _, total = tf.while_loop(lambda i, t: tf.constant(True), lambda i, t: (i + 1, t + x), [0, x])
    return {"y": total}


def writes(x):
    write = tf.io.write_file(os.environ["HOSTILE_TARGET"] + ".tf2", tf.strings.as_string(x[0]))
    with tf.control_dependencies([write]):
        return {"y": tf.identity(x)}


def _save_tf1_writer(directory):
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        write = tf.io.write_file(os.environ["HOSTILE_TARGET"] + ".tf1", tf.strings.as_string(x[0]))
        with tf.control_dependencies([write]):
            y = tf.identity(x, name="y")
        with tf.compat.v1.Session(graph=graph) as session:
            builder = tf.compat.v1.saved_model.Builder(directory)
            signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={
                "serving_default": signature})
            builder.save()


def main(root):
    for function in (good, crash, hang, writes):
        _save(os.path.join(root, function.__name__), function)
    _save_tf1_writer(os.path.join(root, "writes_tf1"))


if __name__ == "__main__":
    main(sys.argv[1])
