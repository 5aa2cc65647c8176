"""Builders of the TF1-era zoo models: TF1 Hub format modules and a legacy SavedModel.

Run under TensorFlow 1.15 in graph mode (the oldest runtime that writes these formats).
Weights come from seeded numpy generators, so a rebuild writes the same numbers.
"""
from __future__ import absolute_import, division, print_function

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub

tf1 = tf.compat.v1


def _weights(seed, shape, scale=0.5):
    return (np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape) * scale).astype(np.float32)


def _export_module(module_fn, export_dir, tags_and_args=None):
    spec = hub.create_module_spec(module_fn, tags_and_args=tags_and_args or [(set(), {})])
    with tf.Graph().as_default():
        module = hub.Module(spec, trainable=True, tags=set())
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            module.export(export_dir, session)


# ---------------------------------------------------------------- text_embed
VOCAB_BUCKETS = 64
EMBED_DIM = 8
MAX_TOKENS = 6


def _text_embed_fn(train=False):
    sentences = tf1.placeholder(tf.string, shape=[None], name="sentences")
    table = tf1.get_variable("embeddings", initializer=_weights(11, [VOCAB_BUCKETS, EMBED_DIM]))
    tokens = tf.strings.split(sentences, sep=" ")  # SparseTensor of words
    ids = tf.SparseTensor(tokens.indices, tf.strings.to_hash_bucket_fast(tokens.values, VOCAB_BUCKETS),
                          tokens.dense_shape)
    embedding = tf.nn.embedding_lookup_sparse(table, ids, None, combiner="sqrtn")
    # Empty sentences get no row from the sparse lookup: pad to the batch size.
    embedding = tf.pad(embedding, [[0, tf.shape(sentences)[0] - tf.shape(embedding)[0]], [0, 0]])
    if train:
        embedding = tf.nn.dropout(embedding, rate=0.1, seed=3)
    hub.add_signature("default", inputs={"sentences": sentences}, outputs={"default": embedding})

    words = tf1.placeholder(tf.string, shape=[None, MAX_TOKENS], name="words")
    word_ids = tf.strings.to_hash_bucket_fast(words, VOCAB_BUCKETS)
    hub.add_signature("tokens", inputs={"words": words},
                      outputs={"default": tf.nn.embedding_lookup(table, word_ids), "ids": word_ids})


def build_text_embed(export_dir):
    _export_module(_text_embed_fn, export_dir, [(set(), {"train": False}), ({"train"}, {"train": True})])


# ---------------------------------------------------------------- image_features
IMAGE_SIZE = 8
FEATURES = 16


def _image_features_fn(train=False):
    images = tf1.placeholder(tf.float32, shape=[None, IMAGE_SIZE, IMAGE_SIZE, 3], name="images")
    kernel = tf1.get_variable("conv/kernel", initializer=_weights(21, [3, 3, 3, FEATURES]))
    net = tf.nn.conv2d(images, kernel, strides=[1, 1, 1, 1], padding="SAME")
    net = tf1.layers.batch_normalization(
        net, training=train, name="bn",
        moving_mean_initializer=tf1.constant_initializer(0.1),
        moving_variance_initializer=tf1.constant_initializer(0.9))
    features = tf.reduce_mean(tf.nn.relu(net), axis=[1, 2])
    hub.add_signature("image_feature_vector", inputs={"images": images}, outputs={"default": features})
    hub.add_signature("default", inputs={"images": images}, outputs={"default": features})


def build_image_features(export_dir):
    _export_module(_image_features_fn, export_dir, [(set(), {"train": False}), ({"train"}, {"train": True})])


# ---------------------------------------------------------------- hazard
def _hazard_fn():
    x = tf1.placeholder(tf.float32, shape=[None], name="x")
    doubled = 2.0 * x
    check = tf1.assert_non_negative(x, message="sqrt output needs x >= 0")
    with tf.control_dependencies([check]):
        root = tf.sqrt(x)
    hub.add_signature("default", inputs={"x": x}, outputs={"default": doubled, "sqrt": root})


def build_hazard(export_dir):
    _export_module(_hazard_fn, export_dir)


# ---------------------------------------------------------------- side_effect
def _side_effect_fn():
    x = tf1.placeholder(tf.float32, shape=[None], name="x")
    counter = tf1.get_variable("counter", initializer=np.float32(0.0), trainable=False)
    bump = tf1.assign_add(counter, 1.0)
    with tf.control_dependencies([bump]):
        counted = x + 0.0
        after = tf.identity(counter.read_value())  # ordered after the bump: no read/increment race
    hub.add_signature("default", inputs={"x": x},
                      outputs={"default": x * 3.0, "counted": counted, "counter": after})
    hub.add_signature("counter", inputs={}, outputs={"default": counter.read_value()})


def build_side_effect(export_dir):
    _export_module(_side_effect_fn, export_dir)


# ---------------------------------------------------------------- legacy_saved_model
def build_legacy_saved_model(export_dir):
    """A TF1 SavedModel (no Hub metadata) with a predict and a tf.Example serving signature."""
    with tf.Graph().as_default():
        weights = tf1.get_variable("dense/kernel", initializer=_weights(31, [4, 3]))
        bias = tf1.get_variable("dense/bias", initializer=_weights(32, [3]))

        def scores_of(features):
            return tf.nn.softmax(tf.matmul(features, weights) + bias)

        x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
        predict_scores = scores_of(x)
        examples = tf1.placeholder(tf.string, shape=[None], name="examples")
        parsed = tf1.parse_example(examples, {"x": tf1.FixedLenFeature([4], tf.float32)})
        serving_scores = scores_of(parsed["x"])

        utils = tf1.saved_model.utils
        predict = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={"x": utils.build_tensor_info(x)},
            outputs={"scores": utils.build_tensor_info(predict_scores),
                     "classes": utils.build_tensor_info(tf.argmax(predict_scores, axis=1))},
            method_name=tf1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        serving = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={"examples": utils.build_tensor_info(examples)},
            outputs={"scores": utils.build_tensor_info(serving_scores)},
            method_name=tf1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        builder = tf1.saved_model.Builder(export_dir)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            builder.add_meta_graph_and_variables(
                session, [tf1.saved_model.tag_constants.SERVING],
                signature_def_map={"predict": predict, "serving_default": serving})
        builder.save()


# ---------------------------------------------------------------- gpu_pinned
def build_gpu_pinned(export_dir):
    """A TF1 SavedModel exported on a GPU machine: its ops and variables carry /device:GPU:0 pins (written
    here with soft placement, as a GPU-less exporter would still record them)."""
    with tf.Graph().as_default():
        with tf.device("/device:GPU:0"):
            kernel = tf1.get_variable("dense/kernel", initializer=_weights(81, [4, 3]))
            x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
            scores = tf.nn.softmax(tf.matmul(x, kernel), name="scores")
        signature = tf1.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"scores": scores})
        builder = tf1.saved_model.Builder(export_dir)
        with tf1.Session(config=tf1.ConfigProto(allow_soft_placement=True)) as session:
            session.run(tf1.global_variables_initializer())
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature},
                                                 clear_devices=False)
        builder.save()


# ---------------------------------------------------------------- no_shape_info
def build_no_shape_info(export_dir):
    """A TF1 SavedModel whose signature TensorInfos carry no tensor_shape (older exporters wrote them so):
    the shape is known only from the graph's placeholder ([None, 4]); no shape does not mean a scalar."""
    with tf.Graph().as_default():
        kernel = tf1.get_variable("dense/kernel", initializer=_weights(91, [4, 2]))
        x = tf1.placeholder(tf.float32, shape=[None, 4], name="x")
        y = tf.matmul(x, kernel, name="y")
        utils = tf1.saved_model.utils
        inputs, outputs = {"x": utils.build_tensor_info(x)}, {"y": utils.build_tensor_info(y)}
        for info in list(inputs.values()) + list(outputs.values()):
            info.ClearField("tensor_shape")
        signature = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs=inputs, outputs=outputs, method_name=tf1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        builder = tf1.saved_model.Builder(export_dir)
        with tf1.Session() as session:
            session.run(tf1.global_variables_initializer())
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
