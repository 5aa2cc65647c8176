"""Builders of TF2-written stand-ins for shapes real exports have (TensorFlow 2.15, eager), each listed in
matrix.yaml as one line:

- ``dead_input``: a signature with an input its function never reads (TF2 still requires it);
- ``sparse_triplets``: a signature whose SparseTensor input was flattened into ``ids_indices``,
  ``ids_values`` and ``ids_dense_shape`` dense inputs with no composite metadata (as older exporters and
  hand-written serving functions do): independent random parts are not a valid SparseTensor;
- ``keras_two_inputs``: a Keras functional model with two positional inputs (a list), saved with
  ``tf.saved_model.save``: its ``__call__`` takes ``([a, b], training, mask)``;
- ``no_trainable``: a SavedModel without trainable variables (a frozen feature extractor);
- ``stateful_counter``: ``increment`` adds to a counter variable and returns it, ``read`` returns it: outputs
  depend on how often and in which order the signatures were called;
- ``train_step_signature``: ``train_step`` applies one SGD step to the model's kernel and returns the loss
  (a training signature exported for serving), beside ``serving_default``.
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf

VOCAB = 10


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


class _DeadInput(tf.Module):
    def __init__(self):
        super(_DeadInput, self).__init__()
        self.kernel = tf.Variable(_weights(301, [4, 2]), name="kernel")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x"),
                                  tf.TensorSpec([None], tf.string, name="request_id")])
    def serve(self, x, request_id):  # request_id is logged by the serving system, never read here
        return {"y": tf.matmul(x, self.kernel)}


def build_dead_input(export_dir):
    module = _DeadInput()
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve})


class _SparseTriplets(tf.Module):
    def __init__(self):
        super(_SparseTriplets, self).__init__()
        self.embedding = tf.Variable(_weights(311, [VOCAB, 3]), name="embedding")

    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.int64, name="ids_indices"),
                                  tf.TensorSpec([None], tf.int64, name="ids_values"),
                                  tf.TensorSpec([2], tf.int64, name="ids_dense_shape")])
    def serve(self, ids_indices, ids_values, ids_dense_shape):
        ids = tf.SparseTensor(ids_indices, ids_values % VOCAB, ids_dense_shape)
        return {"pooled": tf.nn.safe_embedding_lookup_sparse(self.embedding, ids, combiner="sum")}


def build_sparse_triplets(export_dir):
    module = _SparseTriplets()
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve})


def build_keras_two_inputs(export_dir):
    keras = tf.keras
    left = keras.Input(shape=(4,), name="left")
    right = keras.Input(shape=(3,), name="right")
    hidden = keras.layers.Dense(4, activation="relu", name="hidden")(keras.layers.Concatenate()([left, right]))
    scores = keras.layers.Dense(2, activation="softmax", name="scores")(hidden)
    model = keras.Model([left, right], scores)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([_weights(321 + i, w.shape) for i, w in enumerate(layer.get_weights())])
    tf.saved_model.save(model, export_dir)


class _NoTrainable(tf.Module):
    def __init__(self):
        super(_NoTrainable, self).__init__()
        self.kernel = tf.Variable(_weights(331, [4, 3]), trainable=False, name="kernel")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.kernel))


def build_no_trainable(export_dir):
    module = _NoTrainable()
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.__call__})


class _Counter(tf.Module):
    def __init__(self):
        super(_Counter, self).__init__()
        self.count = tf.Variable(0.0, trainable=False, name="count")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def increment(self, x):
        self.count.assign_add(1.0)
        return {"count": tf.identity(self.count), "scaled": x * self.count}

    @tf.function(input_signature=[])
    def read(self):
        return {"count": tf.identity(self.count)}


def build_stateful_counter(export_dir):
    module = _Counter()
    tf.saved_model.save(module, export_dir, signatures={"increment": module.increment, "read": module.read})


class _TrainStep(tf.Module):
    def __init__(self):
        super(_TrainStep, self).__init__()
        self.kernel = tf.Variable(_weights(341, [4, 1]), name="kernel")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def predict(self, x):
        return {"y": tf.matmul(x, self.kernel)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x"),
                                  tf.TensorSpec([None, 1], tf.float32, name="target")])
    def train_step(self, x, target):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(x, self.kernel) - target))
        self.kernel.assign_sub(0.1 * tape.gradient(loss, self.kernel))
        return {"loss": loss}


def build_train_step_signature(export_dir):
    module = _TrainStep()
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.predict,
                                                        "train_step": module.train_step})
