"""Builder of a TF2 SavedModel with composite inputs (TF 2.15, eager):

``__call__`` takes a dict of a RaggedTensor (``ids``, token ids of varying length per row) and a
SparseTensor (``weights``); the signatures ``ragged_ids`` and ``sparse_weights`` take one each, which
``tf.saved_model.save`` flattens into dense components (``ids``/``ids_1``, ``weights``/``weights_1``/
``weights_2``), the way a user of the SignatureDef sees them; ``serving_default`` takes a dense input.
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf

VOCAB = 10
RAGGED = tf.RaggedTensorSpec([None, None], tf.int64)
SPARSE = tf.SparseTensorSpec([None, 4], tf.float32)


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


class Composite(tf.Module):
    def __init__(self):
        super(Composite, self).__init__()
        self.embedding = tf.Variable(_weights(131, [VOCAB, 2]), name="embedding")
        self.kernel = tf.Variable(_weights(132, [4, 2]), name="kernel")

    def _pooled(self, ids):
        return tf.reduce_sum(tf.gather(self.embedding, ids % VOCAB), axis=1)

    @tf.function(input_signature=[{"ids": RAGGED, "weights": SPARSE}])
    def __call__(self, inputs):
        return {"scores": self._pooled(inputs["ids"]) + tf.sparse.sparse_dense_matmul(inputs["weights"], self.kernel),
                "lengths": tf.cast(inputs["ids"].row_lengths(), tf.float32)}

    @tf.function(input_signature=[RAGGED])
    def ragged_ids(self, ids):
        return {"pooled": self._pooled(ids)}

    @tf.function(input_signature=[SPARSE])
    def sparse_weights(self, weights):
        return {"scores": tf.sparse.sparse_dense_matmul(weights, self.kernel)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def dense(self, x):
        return {"scores": tf.matmul(x, self.kernel)}


def build_composite_tf2(export_dir):
    module = Composite()
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.dense,
                                                        "ragged_ids": module.ragged_ids,
                                                        "sparse_weights": module.sparse_weights})
