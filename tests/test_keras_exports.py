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
