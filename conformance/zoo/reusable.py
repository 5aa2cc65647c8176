"""Builder of a TF2 Reusable SavedModel: ``__call__(x, training)``, ``variables``, ``trainable_variables``,
``regularization_losses`` and a ``serving_default`` signature.

Runs under any TensorFlow with ``tf.saved_model.save``: TF 1.15 in eager mode or TF 2.x. The same code is
written by two runtimes, so the zoo holds one model per writer (forward-compatibility cases).
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf

IN_FEATURES = 4
OUT_FEATURES = 3


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


def build_reusable(export_dir, scale_weight=1.0, ignore_training=False, drop_regularization=False):
    """Write the model; ``scale_weight`` multiplies one weight (a planted-change twin for comparisons);
    ``ignore_training`` plants a twin whose ``__call__`` takes ``training`` and ignores it, and
    ``drop_regularization`` one that exports no ``regularization_losses`` (their inference outputs are the
    same: only the training checks can tell)."""
    if not tf.executing_eagerly():
        raise RuntimeError("build_reusable needs eager execution (TF 1.15: run it in an eager runtime)")
    v2 = tf.compat.v2
    kernel_value = _weights(41, [IN_FEATURES, OUT_FEATURES])
    kernel_value[0, 0] *= scale_weight
    kernel = v2.Variable(kernel_value, name="kernel")
    bias = v2.Variable(_weights(42, [OUT_FEATURES]), name="bias")
    calls = v2.Variable(0, dtype=tf.int64, trainable=False, name="calls")

    @v2.function(input_signature=[v2.TensorSpec([None, IN_FEATURES], tf.float32), v2.TensorSpec([], tf.bool)])
    def call(x, training):
        logits = tf.matmul(x, kernel) + bias
        # Training halves the logits: deterministic, so every runtime can be compared.
        if ignore_training:
            return logits
        return tf.cond(training, lambda: logits * 0.5, lambda: logits)

    @v2.function(input_signature=[])
    def kernel_l2():
        return 0.01 * tf.reduce_sum(tf.square(kernel))

    @v2.function(input_signature=[v2.TensorSpec([None, IN_FEATURES], tf.float32, name="x")])
    def serve(x):
        logits = call(x, tf.constant(False))
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    root = v2.train.Checkpoint()
    root.__call__ = call
    root.variables = [kernel, bias, calls]
    root.trainable_variables = [kernel, bias]
    root.regularization_losses = [] if drop_regularization else [kernel_l2]
    v2.saved_model.save(root, export_dir, signatures={"serving_default": serve})
