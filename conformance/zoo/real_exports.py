"""Builders of TF1-written stand-ins for shapes real exports have (TensorFlow 1.15, graph mode), each listed in
matrix.yaml as one line (`id` + `handle`), as a user adds a model:

- ``elementwise_module``: a TF1 Hub module whose ``default`` input has unknown rank (elementwise ops only);
- ``serve_train_graph``: one meta graph tagged ``{serve, train}`` (a load with ``["serve"]`` finds nothing);
- ``no_serving_default``: a TF1 SavedModel whose only signature is ``scores``;
- ``fixed_batch``: an output reshaped to ``[1, 4, 4, 1]``: a batch of 2 cannot run, a batch of 1 can;
- ``varlen_serving``: a serving signature parsing a VarLen feature and densifying it to ``[batch, 1]``, as
  tf.Transform + Estimator exports do: one value per example runs, more is out of bounds.
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

tf1 = tf.compat.v1


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


def _save(export_dir, signatures, tags=("serve",)):
    """The current graph's variables and ``signatures`` ({name: (inputs, outputs)}) under ``tags``."""
    utils = tf1.saved_model.utils
    signature_defs = {
        name: tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={k: utils.build_tensor_info(v) for k, v in inputs.items()},
            outputs={k: utils.build_tensor_info(v) for k, v in outputs.items()},
            method_name=tf1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        for name, (inputs, outputs) in signatures.items()}
    builder = tf1.saved_model.Builder(export_dir)
    with tf1.Session() as session:
        session.run(tf1.global_variables_initializer())
        builder.add_meta_graph_and_variables(session, list(tags), signature_def_map=signature_defs)
    builder.save()


def _elementwise_fn():
    x = tf1.placeholder(tf.float32, shape=None, name="x")  # any rank: the module is elementwise
    scale = tf1.get_variable("scale", initializer=np.float32(1.5))
    hub.add_signature("default", inputs={"x": x}, outputs={"default": x * scale + 1.0})


def build_elementwise_module(export_dir):
    spec = hub.create_module_spec(_elementwise_fn)
    with tf.Graph().as_default():
        module = hub.Module(spec, trainable=True)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            module.export(export_dir, session)


def build_serve_train_graph(export_dir):
    with tf.Graph().as_default():
        kernel = tf1.get_variable("dense/kernel", initializer=_weights(201, [4, 2]))
        x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
        _save(export_dir, {"serving_default": ({"x": x}, {"y": tf.matmul(x, kernel)})}, tags=("serve", "train"))


def build_no_serving_default(export_dir):
    with tf.Graph().as_default():
        kernel = tf1.get_variable("dense/kernel", initializer=_weights(211, [4, 3]))
        x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
        logits = tf.matmul(x, kernel)
        _save(export_dir, {"scores": ({"x": x}, {"probabilities": tf.nn.softmax(logits),
                                                 "classes": tf.argmax(logits, axis=1)})})


def build_fixed_batch(export_dir):
    with tf.Graph().as_default():
        kernel = tf1.get_variable("dense/kernel", initializer=_weights(221, [4, 16]))
        x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
        image = tf.reshape(tf.matmul(x, kernel), [1, 4, 4, 1], name="image")  # exported for a batch of one
        _save(export_dir, {"serving_default": ({"x": x}, {"image": image})})


def build_varlen_serving(export_dir):
    with tf.Graph().as_default():
        weight = tf1.get_variable("age/weight", initializer=np.float32(0.25))
        examples = tf1.placeholder(tf.string, shape=[None], name="examples")
        parsed = tf1.parse_example(examples, {"age": tf1.VarLenFeature(tf.float32)})
        age = parsed["age"]
        batch = tf.shape(examples, out_type=tf.int64)[0]
        dense = tf1.sparse_to_dense(age.indices, tf.stack([batch, 1]), age.values)  # one value per example
        _save(export_dir, {"serving_default": ({"examples": examples}, {"score": dense * weight})})
