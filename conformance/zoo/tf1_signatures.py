"""Builders of TF1 SavedModels whose signatures real exports have and toy ones lack (TF 1.15, graph mode):

- ``sparse_tf1``: a ``coo_sparse`` input (a ``tf.sparse_placeholder`` in the signature), as feature columns
  exported them;
- ``reference_output``: an output that is the reference-typed result of an ``Assign`` on a TF1 ref variable
  (``float_ref``): fetchable in a TF1 session, not returnable by a TF2 function;
- ``batch_one``: an output with a fixed batch of 1 next to a per-example one (a pooled summary);
- ``unknown_rank``: an input placeholder of unknown rank, nowhere in the graph given a shape.
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
VOCAB = 10


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


def _save(export_dir, inputs, outputs):
    """One ``serving_default`` predict signature over the current graph, variables initialized."""
    utils = tf1.saved_model.utils
    signature = tf1.saved_model.signature_def_utils.build_signature_def(
        inputs={k: utils.build_tensor_info(v) for k, v in inputs.items()},
        outputs={k: utils.build_tensor_info(v) for k, v in outputs.items()},
        method_name=tf1.saved_model.signature_constants.PREDICT_METHOD_NAME)
    builder = tf1.saved_model.Builder(export_dir)
    with tf1.Session() as session:
        session.run(tf1.global_variables_initializer())
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
    builder.save()


def build_sparse_tf1(export_dir):
    """Sparse id features, as a feature column exported them: any number of ids per row, each < VOCAB."""
    with tf.Graph().as_default():
        embedding = tf1.get_variable("embedding", initializer=_weights(101, [VOCAB, 2]))
        ids = tf1.sparse_placeholder(tf.int64, shape=[None, None], name="ids")
        pooled = tf.identity(tf.nn.embedding_lookup_sparse(embedding, ids, None, combiner="sum"), name="pooled")
        count = tf.identity(tf1.sparse_reduce_sum(tf.SparseTensor(ids.indices, tf.ones_like(ids.values, tf.float32),
                                                                  ids.dense_shape), axis=1), name="count")
        _save(export_dir, {"ids": ids}, {"pooled": pooled, "count": count})


def build_reference_output(export_dir):
    with tf.Graph().as_default():
        seen = tf1.get_variable("seen", initializer=0.0, use_resource=False, trainable=False)
        kernel = tf1.get_variable("dense/kernel", initializer=_weights(111, [4, 2]), use_resource=False)
        x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
        y = tf.matmul(x, kernel, name="y")
        seen_after = tf1.assign_add(seen, tf.cast(tf.shape(x)[0], tf.float32), name="count")  # a float_ref
        _save(export_dir, {"x": x}, {"y": y, "seen": seen_after})


def build_batch_one(export_dir):
    with tf.Graph().as_default():
        kernel = tf1.get_variable("dense/kernel", initializer=_weights(121, [4, 2]))
        x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
        per_example = tf.matmul(x, kernel, name="per_example")
        pooled = tf.matmul(tf.reduce_mean(x, axis=0, keepdims=True), kernel, name="pooled")  # shape [1, 2]
        _save(export_dir, {"x": x}, {"per_example": per_example, "pooled": pooled})


def build_unknown_rank(export_dir):
    with tf.Graph().as_default():
        scale = tf1.get_variable("scale", initializer=2.0)
        x = tf1.placeholder(tf.float32, shape=None, name="x")
        _save(export_dir, {"x": x}, {"y": tf.add(x * scale, 1.0, name="y")})
