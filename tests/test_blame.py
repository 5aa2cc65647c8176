"""Whose fault an exception is: the harness's own bugs are never the model's failures."""
import os

import pytest

from conformance.blame import PACKAGE_DIR as PACKAGE, HarnessBug, describe, raised_by_harness
from conformance.runtime.apis import SignatureNotFound


def _raise_from(filename, source):
    """Run ``source`` as if it were a line of ``filename`` and return what it raised."""
    try:
        exec(compile(source, filename, "exec"), {})
    except Exception as error:  # noqa: BLE001
        return error
    raise AssertionError("nothing raised")


def test_a_builtin_exception_from_the_harness_is_ours():
    try:
        {}["missing"]
    except KeyError as error:
        assert raised_by_harness(error) is False, "raised in tests/, not in the conformance package"
    from conformance.observations import load_document

    with pytest.raises(OSError) as info:
        load_document("/nonexistent/observations.json")
    assert raised_by_harness(info.value) is True, "a path the harness chose (e.g. from a signature name)"
    error = _raise_from(os.path.join(PACKAGE, "probe_like.py"),
                        "{}['description']['inputs']")
    assert raised_by_harness(error) is True
    assert describe(error).startswith("KeyError: 'description' at conformance/probe_like.py:1")


def test_errors_raised_inside_tensorflow_are_the_models():
    error = _raise_from("/venv/lib/python3.11/site-packages/tensorflow/python/framework/ops.py",
                        "raise ValueError('Shapes (2,) and (3,) are incompatible')")
    assert raised_by_harness(error) is False
    error = _raise_from("/venv/lib/python3.7/site-packages/tensorflow_core/python/ops/array_ops.py",
                        "raise TypeError('bad dtype')")
    assert raised_by_harness(error) is False


def test_named_findings_and_absent_apis_are_outcomes():
    assert raised_by_harness(SignatureNotFound("signature 'x' is not found")) is False
    module_file = os.path.join(PACKAGE, "apis_like.py")
    absent = _raise_from(module_file, "import types\nhub = types.ModuleType('tensorflow_hub')\nhub.Module")
    assert "has no attribute 'Module'" in str(absent)
    assert raised_by_harness(absent) is False, "hub.Module missing in hub >= 0.16 is the runtime's fact"
    assert raised_by_harness(HarnessBug("x")) is False, "the carrier of a bug already recorded"
