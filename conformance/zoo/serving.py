"""Builders of TF Serving / Estimator-style exports: serving signatures that take serialized tf.Example
records and parse them in the graph, as real exports do.

- ``build_estimator_tf1`` (TF 1.15, graph): ParseExample with a dense float feature, a dense int64 feature
  with a default and a sparse string feature; classify (``serving_default``), predict and a regress
  signature named ``tensorflow/serving/regress`` (a ``/`` in a signature name is legal).
- ``build_serving_tf2`` (TF 2.x, eager): the same in tf.functions, parsed by ParseExampleV2, plus a ragged
  feature.
A handle alone is enough for hub-conformance: it reads the parse spec from the graph and writes valid
records.
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
CLASSES = ["ham", "spam", "eggs"]


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


def _logits(x, age, tag_count, kernel):
    return tf.matmul(x, kernel) + 0.01 * tf.cast(age, tf.float32) + 0.1 * tf.expand_dims(tag_count, 1)


def _tag_count(tags):
    ones = tf.SparseTensor(tags.indices, tf.ones_like(tags.values, dtype=tf.float32), tags.dense_shape)
    return tf1.sparse_reduce_sum(ones, axis=1)


def build_estimator_tf1(export_dir):
    with tf.Graph().as_default():
        examples = tf1.placeholder(tf.string, shape=[None], name="input_example_tensor")
        features = tf1.parse_example(examples, {
            "x": tf1.FixedLenFeature([4], tf.float32),
            "age": tf1.FixedLenFeature([1], tf.int64, default_value=[30]),
            "tags": tf1.VarLenFeature(tf.string)})
        kernel = tf1.get_variable("linear/kernel", initializer=_weights(51, [4, 3]))
        logits = _logits(features["x"], features["age"], _tag_count(features["tags"]), kernel)
        scores = tf.nn.softmax(logits)
        classes = tf.tile(tf.constant([CLASSES]), [tf.shape(examples)[0], 1])
        prediction = tf.reduce_sum(logits, axis=1, keepdims=True)
        defs = tf1.saved_model.signature_def_utils
        signatures = {
            "serving_default": defs.classification_signature_def(examples, classes, scores),
            "predict": defs.predict_signature_def({"examples": examples}, {"scores": scores, "logits": logits}),
            "tensorflow/serving/regress": defs.regression_signature_def(examples, prediction),
        }
        builder = tf1.saved_model.Builder(export_dir)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
        builder.save()


def build_serving_tf2(export_dir):
    spec = {"x": tf.io.FixedLenFeature([4], tf.float32),
            "age": tf.io.FixedLenFeature([1], tf.int64, default_value=[30]),
            "tags": tf.io.VarLenFeature(tf.string),
            "words": tf.io.RaggedFeature(tf.string)}
    module = tf.Module()
    module.kernel = tf.Variable(_weights(51, [4, 3]), name="kernel")

    def logits_of(examples):
        features = tf.io.parse_example(examples, spec)
        words = tf.cast(features["words"].row_lengths(), tf.float32)
        return _logits(features["x"], features["age"], _tag_count(features["tags"]) + words, module.kernel)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def predict(examples):
        logits = logits_of(examples)
        return {"scores": tf.nn.softmax(logits), "logits": logits}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def regress(examples):
        return {"outputs": tf.reduce_sum(logits_of(examples), axis=1, keepdims=True)}

    module.predict, module.regress = predict, regress
    tf.saved_model.save(module, export_dir, signatures={"serving_default": predict,
                                                        "tensorflow/serving/regress": regress})
