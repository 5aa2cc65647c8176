"""Builders of zoo models that need an op library (TensorFlow 2.15, eager, with tensorflow-text 2.15 in the
writer runtime, as matrix.yaml's ``requires:`` installs it):

- ``text_ops``: ``serving_default`` splits sentences with tensorflow-text's WhitespaceTokenizer (its own op,
  not TensorFlow's), then counts and hashes the tokens. A runtime that did not import tensorflow-text cannot
  load it; one whose tensorflow-text build lacks the op (1.15.1, the last TF1 build) cannot either.
"""
from __future__ import absolute_import, division, print_function

import tensorflow as tf

BUCKETS = 16


def build_text_ops(export_dir):
    import tensorflow_text as text

    class TextOps(tf.Module):
        def __init__(self):
            super(TextOps, self).__init__()
            self.tokenizer = text.WhitespaceTokenizer()

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
        def serve(self, sentences):
            tokens = self.tokenizer.tokenize(sentences)
            ids = tf.strings.to_hash_bucket_fast(tokens, BUCKETS)
            return {"lengths": tf.cast(tokens.row_lengths(), tf.float32),
                    "id_sums": tf.cast(tf.reduce_sum(ids, axis=1), tf.float32)}

    module = TextOps()
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve})
