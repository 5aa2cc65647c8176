"""Fine-tuning on real TensorFlow 2.21: one SGD step through hub.load, tf.saved_model and hub.KerasLayer in a
Keras model finds the same trainable variables, finite gradients for each, and lowers the loss; hub.KerasLayer
refuses a TF1 Hub module, diagnosed as tensorflow_hub's documented limit."""
import os

import numpy as np
import pytest

from conformance.causes import classify_exception
from conformance.inputs import make_inputs

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def runtime():
    from conformance.runtime import tfmode

    tf = tfmode.activate("eager")
    return tf, tfmode.import_hub()


def reusable_inputs():
    return make_inputs("reusable_tf2_written", "__call__", {"x": {"dtype": "float32", "shape": [None, 4]}})


def shapes(result):
    return sorted(tuple(shape) for _, shape in result["variables"])


def test_one_step_through_every_api_finds_the_same_variables_and_lowers_the_loss(runtime, zoo_dir):
    from conformance.runtime import training
    from conformance.runtime.apis.tensors import to_tensors

    tf, hub = runtime
    path = os.path.join(zoo_dir, "reusable_tf2_written")
    inputs = reusable_inputs()
    described = {"x": {"dtype": "float32", "shape": [None, 4]}}
    results = {
        "hub.load": training.eager_object(tf, hub.load(path), "__call__", to_tensors(tf, inputs, described)),
        "saved_model": training.eager_object(tf, tf.saved_model.load(path), "__call__",
                                             to_tensors(tf, inputs, described)),
        "hub.KerasLayer": training.keras_model(tf, hub, path, ["serve"], "__call__", described, inputs),
    }
    for api, result in results.items():
        assert result["loss_after"] < result["loss_before"], (api, result["loss_before"], result["loss_after"])
        assert result["gradients_measured"] and not result["gradients_missing"] and result["gradients_finite"], api
        assert set(result["arrays"]["gradient"]) == {name for name, _ in result["variables"]}, api
    assert shapes(results["hub.load"]) == shapes(results["saved_model"]) == shapes(results["hub.KerasLayer"])
    np.testing.assert_allclose(results["hub.load"]["loss_after"], results["saved_model"]["loss_after"], rtol=1e-6)
    assert results["hub.load"]["regularization_losses"] == len(hub.load(path).regularization_losses) == 1
    keras = results["hub.KerasLayer"]
    assert keras["regularization_losses"] >= keras["exported_regularization_losses"] == 1, \
        "the Keras model holds the regularization loss the model exports"


def test_hub_keras_layer_refuses_to_fine_tune_a_tf1_hub_module(runtime, zoo_dir):
    from conformance.runtime import training

    tf, hub = runtime
    described = {"sentences": {"dtype": "string", "shape": [None]}}
    inputs = make_inputs("text_embed", "default", described)
    with pytest.raises(Exception) as raised:
        training.keras_model(tf, hub, os.path.join(zoo_dir, "text_embed"), [], "default", described, inputs)
    assert classify_exception(raised.value).id == "fine-tune-unsupported"


def test_a_graph_step_tells_whether_the_moving_statistics_moved(runtime):
    """hub.Module's step runs the train variant's UPDATE_OPS with it; without them batch norm's moving
    statistics stay where they were, which the train case reports as update-ops-ignored."""
    from conformance.runtime import training

    tf, _ = runtime
    tf1 = tf.compat.v1
    for with_updates in (True, False):
        with tf.Graph().as_default() as graph, tf1.Session(graph=graph) as session:
            x = tf1.placeholder(tf.float32, [None, 2])
            kernel = tf1.get_variable("kernel", initializer=tf.ones([2, 1]), use_resource=True)
            moving = tf1.get_variable("bn/moving_mean", initializer=tf.zeros([2]), trainable=False,
                                      use_resource=True)
            update = moving.assign(0.9 * moving + 0.1 * tf.reduce_mean(x, 0))
            loss = tf.reduce_sum(tf.square(tf.matmul(x, kernel)))
            result = training.graph_step(tf, session, loss, [kernel], {x: np.ones([2, 2], np.float32)},
                                         [update] if with_updates else [], statistics=[moving])
        assert result["statistics"] == ["bn/moving_mean:0"]
        assert result["statistics_moved"] == (["bn/moving_mean:0"] if with_updates else []), with_updates
        assert result["loss_after"] < result["loss_before"] and result["moved"]
