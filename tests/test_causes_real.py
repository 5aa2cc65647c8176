"""Diagnosis on errors the real runtimes raise (TF 2.21 in this env; TF 1.15 through the tf1.15-graph env
that `tox -p` creates): the cause comes from the whole error and its chain, the shown line is the root cause."""
import os
import subprocess

import pytest

from conformance.causes import classify, classify_exception

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TF115 = os.path.join(ROOT, ".tox", "tf1.15-graph", "bin", "python")

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def _raised(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001
        return error
    raise AssertionError("nothing raised")


def test_graph_execution_error_is_diagnosed_from_its_root(tf):
    @tf.function
    def checked(x):
        tf.debugging.assert_non_negative(x, message="needs x >= 0")
        return tf.sqrt(x)

    error = _raised(lambda: checked(tf.constant([-1.0])))
    assert str(error).startswith("Graph execution error:")
    cause = classify_exception(error)
    assert cause.id == "assertion-failed" and "needs x >= 0" in cause.diagnosis


def test_keras_layer_wrapper_and_user_code_stacks_show_the_real_line(tf):
    import tf_keras

    class Reshaping(tf_keras.layers.Layer):
        def call(self, x):
            return tf.reshape(x, [3])

    error = _raised(lambda: Reshaping()(tf.constant([1.0, 2.0])))
    assert str(error).startswith("Exception encountered when calling layer")
    cause = classify_exception(error)
    assert cause.id == "shape-mismatch"
    assert cause.diagnosis == ("shapes do not fit: Input to reshape is a tensor with 2 values, but the requested "
                               "shape has 3 [Op:Reshape]")
    traced = _raised(lambda: tf.function(lambda x: tf.reshape(x, [3]))(tf.constant([1.0, 2.0])))
    assert str(traced).startswith("in user code:")
    assert classify_exception(traced).diagnosis.startswith("shapes do not fit: Cannot reshape a tensor with 2")


def test_unparseable_examples_are_an_input_problem_not_the_models(tf):
    error = _raised(lambda: tf.io.parse_example(tf.constant([b"eager fox"]),
                                                {"x": tf.io.FixedLenFeature([4], tf.float32)}))
    cause = classify_exception(error)
    assert cause.id == "example-parse" and "not the model's failure" in cause.diagnosis


def test_the_chain_is_read_from_its_root(tf):
    def restore():
        try:
            raise tf.errors.InvalidArgumentError(
                None, None, "Cannot assign a device for operation save/RestoreV2: Could not satisfy explicit device "
                            "specification '/device:GPU:0' because no devices matching that specification are "
                            "registered in this process")
        except tf.errors.InvalidArgumentError as error:
            raise ValueError("Restoring from checkpoint failed. This is most likely due to a mismatch between the "
                             "current graph and the graph from the checkpoint.") from error

    cause = classify_exception(_raised(restore))
    assert cause.id == "device-pinned" and "clear_devices: true" in cause.diagnosis


PINNED_TF1 = r'''
import os, sys, tempfile
import tensorflow as tf
path = os.path.join(tempfile.mkdtemp(), "pinned")
graph = tf.Graph()
with graph.as_default():
    with tf.device("/device:GPU:0"):
        v = tf.Variable([1.0, 2.0], name="v")
        x = tf.placeholder(tf.float32, [2], name="x")
        y = tf.identity(x * v, name="y")
    with tf.Session(graph=graph, config=tf.ConfigProto(allow_soft_placement=True)) as session:
        session.run(tf.global_variables_initializer())
        builder = tf.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={
            "serving_default": tf.saved_model.predict_signature_def({"x": x}, {"y": y})})
        builder.save()
with tf.Graph().as_default() as g, tf.Session(graph=g) as session:
    try:
        tf.saved_model.loader.load(session, ["serve"], path)
        session.run("y:0", {"x:0": [1.0, 2.0]})
    except Exception as error:
        sys.stdout.write(type(error).__name__ + "\n" + str(error))
'''


@pytest.mark.skipif(not os.path.isfile(TF115), reason="needs the tf1.15-graph env (`tox -p` creates it)")
def test_a_gpu_pinned_tf1_graph_in_tf115_is_device_pinned():
    result = subprocess.run([TF115, "-c", PINNED_TF1], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            universal_newlines=True, timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    error_type, _, message = result.stdout.partition("\n")
    assert "explicitly assigned to /device:GPU:0" in message or "/device:GPU:0" in message, result.stdout
    cause = classify(error_type, message)
    assert cause.id == "device-pinned", (cause, message[:2000])
    assert "/device:GPU:0" in cause.diagnosis and "clear_devices: true" in cause.diagnosis
