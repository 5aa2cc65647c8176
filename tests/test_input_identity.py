"""The agreed inputs are byte-identical under Python 3.7 + numpy 1.18 (tests-py37, as in the TF 1.15
runtimes) and Python 3.11 + numpy 2 (tests): both envs must reproduce the same committed fingerprints.

Every run checks the same across its runtimes (``inputs[...]`` cases); this test pins it to a file, so a
numpy upgrade that changed the stream would fail here first. Regenerate only after review:
``CONFORMANCE_WRITE_FINGERPRINTS=1 pytest tests/test_input_identity.py``.
"""
import json
import os

import numpy as np

from conformance.inputs import fingerprint, make_inputs

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "input_fingerprints.json")

SIGNATURES = {
    "floats": {"x": {"dtype": "float32", "shape": [None, 4]}, "y": {"dtype": "float64", "shape": [3, None, 2]}},
    "halves": {"h": {"dtype": "float16", "shape": [5]}, "b": {"dtype": "bfloat16", "shape": [2, 2]}},
    "integers": {"ids": {"dtype": "int64", "shape": [None, None]}, "small": {"dtype": "int8", "shape": [7]},
                 "bytes": {"dtype": "uint8", "shape": [4]}},
    "booleans": {"mask": {"dtype": "bool", "shape": [None, 6]}},
    "strings": {"sentences": {"dtype": "string", "shape": [None]}, "grid": {"dtype": "string", "shape": [2, 3]}},
    "images": {"images": {"dtype": "float32", "shape": [None, 8, 8, 3]}},
}
SPECS = {"images": {"images": {"range": [0, 1]}}}


def fingerprints():
    return {name: fingerprint(make_inputs("zoo_model", name, described, SPECS.get(name), batch=2))
            for name, described in sorted(SIGNATURES.items())}


def test_inputs_match_the_committed_fingerprints():
    found = fingerprints()
    if os.environ.get("CONFORMANCE_WRITE_FINGERPRINTS"):
        with open(DATA, "w") as stream:
            json.dump(found, stream, indent=1, sort_keys=True)
            stream.write("\n")
    with open(DATA) as stream:
        committed = json.load(stream)
    assert found == committed, "numpy %s produced other inputs than the committed ones" % np.__version__


def test_same_process_same_bytes_and_dtype_exact():
    inputs = make_inputs("zoo_model", "floats", SIGNATURES["floats"], batch=2)
    assert inputs["x"].dtype == np.float32 and inputs["y"].dtype == np.float64
    assert fingerprints() == fingerprints()
