"""Keras exports through every eager api: ``__call__`` is called per its saved input signature (a dict of
named inputs, ``training`` a Python bool), so its outputs equal ``serving_default``'s (dropout off)."""
import os

import numpy as np
import pytest

from conformance.inputs import make_inputs

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def runtime():
    from conformance.runtime import devices, tfmode

    tf = tfmode.activate("eager")
    return tf, tfmode.import_hub(), devices.probe(tf)["cpu"]


@pytest.mark.parametrize("api", ["saved_model", "hub.load", "hub.KerasLayer"])
def test_call_of_a_keras_saved_model_takes_its_dict_inputs_and_training_false(runtime, zoo_dir, api):
    from conformance.runtime.apis import open_model

    tf, hub, cpu = runtime
    path = os.path.join(zoo_dir, "keras_saved")
    loaded = open_model(api, tf, hub, path, lambda: path, ["serve"])
    assert loaded.signature_names() == ["__call__", "serving_default"]
    described = loaded.describe("__call__")
    assert described["inputs"] == {"dense_features": {"dtype": "float32", "shape": [None, 4], "kind": "dense"},
                                   "extra_features": {"dtype": "float32", "shape": [None, 2], "kind": "dense"}}
    inputs = make_inputs("keras_saved", "__call__", described["inputs"])
    called = loaded.call("__call__", inputs, cpu)
    served = loaded.call("serving_default", inputs, cpu)
    assert sorted(called) == ["scores", "value"] and called["scores"].shape == (2, 3)
    np.testing.assert_allclose(called["value"], served["value"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("listed", [[], ["serving_default"], ["not_in_the_model"]])
def test_a_keras_layer_lists_signatures_from_its_first_layer_whatever_the_files_named(runtime, zoo_dir, listed):
    """The first layer's object lists the signatures (no hub.load beside the layers); a hint from the files that
    does not fit falls back to hub.load, with the same result."""
    from conformance.runtime.apis import open_model
    from conformance.saved_model_header import signature_names

    tf, hub, cpu = runtime
    path = os.path.join(zoo_dir, "keras_saved")
    assert signature_names(os.path.join(path, "saved_model.pb"), ["serve"]) == {"names": ["serving_default"]}
    loaded = open_model("hub.KerasLayer", tf, hub, path, lambda: path, ["serve"], listed=lambda: listed)
    assert loaded.signature_names() == ["__call__", "serving_default"]
    assert sorted(loaded.layers) == ["__call__", "serving_default"]
    if listed == ["serving_default"]:
        assert loaded.resolved is loaded.layers["serving_default"].resolved_object, "no second load to list them"
    inputs = make_inputs("keras_saved", "serving_default", loaded.describe("serving_default")["inputs"])
    assert sorted(loaded.call("serving_default", inputs, cpu)) == ["scores", "value"]
