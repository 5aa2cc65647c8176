"""Builds the fault-injection suite's hostile models with this env's TensorFlow.

``python tests/hostile_models.py DIR`` writes TF2 SavedModels under DIR:

- ``good``: y = 2x, the control that must still pass beside the others;
- ``crash``: its signature runs the Abort op, which kills the process (LOG(FATAL), SIGABRT) like a kernel's
  failed CHECK does in real exports;
- ``hang``: its signature loops forever inside a native while loop (no Python to interrupt);
- ``writes``: its TF2 signature writes a file (``tf.io.write_file``) to ``$HOSTILE_TARGET.tf2``;
- ``writes_tf1``: a TF1 graph whose serving signature runs ``WriteFile`` to ``$HOSTILE_TARGET.tf1``;

and, for the scan's allow list and the sandbox, models that reach outside in ways a deny list missed
(``$HOSTILE_SECRET`` is a file outside the model whose text must never reach an output):

- ``prints``: ``tf.print`` to ``file://$HOSTILE_TARGET.print`` (PrintV2's output_stream);
- ``csv_secret``: a CsvDataset (CSVDatasetV2) over the secret file, its lines in the outputs;
- ``lists_files``: ExperimentalMatchingFilesDataset (MatchingFilesDataset's alias) over the secret's folder;
- ``restores``: RestoreV2 of a checkpoint outside the model (``$HOSTILE_CHECKPOINT``, written here);
- ``pbtxt_tf1``: a TF1 graph saved as ``saved_model.pbtxt`` (no .pb) that writes ``$HOSTILE_TARGET.pbtxt`` and
  reads the secret into its output;
- ``main_op_tf1`` / ``legacy_init_op_tf1``: TF1 graphs whose ``saved_model_main_op`` / ``legacy_init_op``
  collection (run at load, reachable from no signature) writes ``$HOSTILE_TARGET.main_op`` / ``.legacy``;
- ``table_path_tf1``: a vocabulary table whose file name is built with string ops: it reads the secret at load.
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


def prints(x):
    tf.print(x, output_stream="file://" + os.environ["HOSTILE_TARGET"] + ".print")
    return {"y": tf.identity(x)}


def csv_secret(x):
    lines = tf.data.experimental.CsvDataset(os.environ["HOSTILE_SECRET"], [tf.string])
    return {"y": tf.identity(x), "secret": lines.reduce(tf.constant(""), lambda text, line: text + line)}


def lists_files(x):
    variant = tf.raw_ops.ExperimentalMatchingFilesDataset(
        patterns=os.path.dirname(os.environ["HOSTILE_SECRET"]) + "/*")
    names = tf.data.experimental.from_variant(variant, tf.TensorSpec([], tf.string))
    return {"y": tf.identity(x), "listing": names.reduce(tf.constant(""), lambda text, name: text + name + ",")}


def restores(x):
    value = tf.raw_ops.RestoreV2(prefix=os.environ["HOSTILE_CHECKPOINT"], tensor_names=["secret"],
                                 shape_and_slices=[""], dtypes=[tf.string])[0]
    return {"y": tf.identity(x), "secret": value}


def _save_tf1(directory, build, collections=(), as_text=False, main_op=None):
    """A TF1 SavedModel of ``build(x) -> {name: tensor}``; ``collections``: ``(key, build(x) -> op)`` pairs
    of ops the loader runs at load; ``main_op(x)``: the builder's own main op."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        outputs = build(x)
        for key, make in collections:
            tf.compat.v1.add_to_collection(key, make(x))
        with tf.compat.v1.Session(graph=graph) as session:
            builder = tf.compat.v1.saved_model.Builder(directory)
            signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, outputs)
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={
                "serving_default": signature}, main_op=main_op() if main_op else None)
            builder.save(as_text=as_text)


def _identity(x):
    return {"y": tf.identity(x)}


def _write(suffix):
    return lambda x: tf.io.write_file(os.environ["HOSTILE_TARGET"] + suffix, "written at load")


def _pbtxt(x):
    write = tf.io.write_file(os.environ["HOSTILE_TARGET"] + ".pbtxt", tf.strings.as_string(x[0]))
    with tf.control_dependencies([write]):
        return {"y": tf.identity(x), "secret": tf.io.read_file(os.environ["HOSTILE_SECRET"])}


def _table_path(x):
    secret = os.environ["HOSTILE_SECRET"]
    filename = tf.strings.join([os.path.dirname(secret), "/", os.path.basename(secret)])
    initializer = tf.lookup.TextFileInitializer(filename, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                                tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
    table = tf.lookup.StaticHashTable(initializer, -1)
    return {"y": tf.identity(x), "index": table.lookup(tf.constant(["line"]))}


def _write_checkpoint(prefix):
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["secret"], shape_and_slices=[""],
                      tensors=[tf.constant(open(os.environ["HOSTILE_SECRET"]).read())])


def main(root):
    for function in (good, crash, hang, writes, prints, csv_secret, lists_files):
        _save(os.path.join(root, function.__name__), function)
    _write_checkpoint(os.environ["HOSTILE_CHECKPOINT"])
    _save(os.path.join(root, "restores"), restores)
    _save_tf1_writer(os.path.join(root, "writes_tf1"))
    _save_tf1(os.path.join(root, "pbtxt_tf1"), _pbtxt, as_text=True)
    _save_tf1(os.path.join(root, "main_op_tf1"), _identity, [("saved_model_main_op", _write(".main_op"))])
    _save_tf1(os.path.join(root, "legacy_init_op_tf1"), _identity, [("legacy_init_op", _write(".legacy"))])
    _save_tf1(os.path.join(root, "table_path_tf1"), _table_path, main_op=tf.compat.v1.tables_initializer)


if __name__ == "__main__":
    main(sys.argv[1])
