"""hub.KerasLayer in a graph runtime: a layer per signature, each loading the model as a user's layer does, and
no load beside them to list or describe the signatures; a guess from the model's files that does not fit
leaves nothing of its own in the graph the layers run in.

Graph mode is a process-wide switch, so each case runs in a process of its own (the tests' TensorFlow)."""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.tensorflow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OPEN_IN_GRAPH_MODE = r"""
import json, sys
from conformance.runtime import devices, tfmode

tf = tfmode.activate("graph")
hub = tfmode.import_hub()
from tensorflow_hub import module_v2

loads = []
original = module_v2.load


def counted(handle, *args, **kwargs):
    loads.append(handle)
    return original(handle, *args, **kwargs)


module_v2.load = hub.load = counted  # hub.KerasLayer loads through module_v2.load, the framework through hub.load

from conformance.inputs import make_inputs
from conformance.runtime.apis import open_model

path, listed = sys.argv[1], json.loads(sys.argv[2])
cpu = devices.probe(tf)["cpu"]
loaded = open_model("hub.KerasLayer", tf, hub, path, lambda: path, ["serve"], device=cpu, listed=lambda: listed)
described = loaded.describe("serving_default")
outputs = loaded.call("serving_default", make_inputs("keras_saved", "serving_default", described["inputs"]), cpu)
with loaded.graph.as_default():
    variables = sorted(v.name for v in tf.compat.v1.global_variables())
print(json.dumps({"names": loaded.signature_names(), "loads": len(loads), "variables": variables,
                  "outputs": {name: list(value.shape) for name, value in outputs.items()}}))
"""


def open_in_graph_mode(path, listed):
    completed = subprocess.run([sys.executable, "-c", OPEN_IN_GRAPH_MODE, path, json.dumps(listed)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fitting(zoo_dir):
    return open_in_graph_mode(os.path.join(zoo_dir, "keras_saved"), ["serving_default"])


def test_the_layers_are_the_only_loads_and_describe_the_signatures(fitting):
    assert fitting["names"] == ["__call__", "serving_default"]
    assert fitting["loads"] == 2, "one load per layer (two signatures), none to list or describe them"
    assert fitting["outputs"] == {"scores": [2, 3], "value": [2, 1]}


def test_a_guess_that_does_not_fit_leaves_the_layers_graph_as_a_fitting_one_does(zoo_dir, fitting):
    """A wrong name from the files (the layer loads the model, then finds no such signature) costs loads, not
    the graph: the layers run in a new one, with the same variables as when the guess fits."""
    found = open_in_graph_mode(os.path.join(zoo_dir, "keras_saved"), ["not_in_the_model"])
    assert found["names"] == fitting["names"] and found["outputs"] == fitting["outputs"]
    assert found["variables"] == fitting["variables"] and fitting["variables"]
    assert found["loads"] > fitting["loads"]
