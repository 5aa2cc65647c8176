"""Builders of Keras exports, the SavedModels most TF2 users hold:

- ``build_keras_saved`` (``tf.saved_model.save(keras_model)``): a functional model with two named inputs
  (a dict), dropout (so ``training`` matters) and two outputs; ``__call__`` takes ``(inputs, training,
  mask)`` with ``training`` a Python bool, and ``serving_default`` takes the named inputs.
- ``build_keras_export`` (``model.export()``, TF >= 2.13): a Sequential model exported for serving
  (``serve`` endpoint and ``serving_default``), no ``__call__`` of its own.
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


def build_keras_saved(export_dir):
    keras = tf.keras
    dense = keras.Input(shape=(4,), name="dense_features")
    extra = keras.Input(shape=(2,), name="extra_features")
    joined = keras.layers.Concatenate()([dense, extra])
    hidden = keras.layers.Dense(5, activation="relu", name="hidden")(joined)
    hidden = keras.layers.Dropout(0.5, seed=1)(hidden)
    scores = keras.layers.Dense(3, activation="softmax", name="scores")(hidden)
    value = keras.layers.Dense(1, name="value")(hidden)
    model = keras.Model({"dense_features": dense, "extra_features": extra}, {"scores": scores, "value": value})
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([_weights(61 + i, w.shape) for i, w in enumerate(layer.get_weights())])
    tf.saved_model.save(model, export_dir)


def build_keras_export(export_dir):
    keras = tf.keras
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    model.layers[-1].set_weights([_weights(71, [4, 3]), _weights(72, [3])])
    model.export(export_dir)
