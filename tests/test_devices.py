"""Device detection and placement, GPU included: no GPU exists here, so a stand-in TensorFlow lists one.

Only the device list and the context managers are faked; the logic under test is the real
conformance.runtime.devices (which never imports TensorFlow itself).
"""
import contextlib

from conformance.compare.numeric import compare
from conformance.compare.tolerance import default_for, tolerance_for
from conformance.runtime import devices


class FakeTF(object):
    """Just enough of ``tensorflow`` for devices.probe / placement / compiled."""

    __version__ = "2.21.0"

    def __init__(self, names, eager=True):
        self.names, self.eager, self.placed, self.compiled = names, eager, [], []
        fake = self

        class Config(object):
            @staticmethod
            def list_logical_devices():
                return [type("D", (), {"name": n})() for n in fake.names]

        self.config = Config()

    def executing_eagerly(self):
        return self.eager

    def device(self, name):
        self.placed.append(name)
        return contextlib.nullcontext()

    def function(self, function, jit_compile=None, autograph=True):
        self.compiled.append((jit_compile, autograph))
        return function


def test_gpu_is_detected_and_calls_are_placed_on_it():
    tf = FakeTF(["/device:CPU:0", "/device:GPU:0"])
    found = devices.probe(tf)
    assert found["gpu"].available and found["gpu"].how == "/device:GPU:0"
    with devices.placement(tf, found["gpu"])():
        pass
    assert tf.placed == ["/device:GPU:0"]


def test_missing_gpu_is_unavailable_with_what_was_probed():
    tf = FakeTF(["/device:CPU:0"])
    gpu = devices.probe(tf)["gpu"]
    assert not gpu.available and gpu.probed == "local devices: CPU:0"


def test_xla_in_eager_tf2_is_a_compiled_function():
    tf = FakeTF(["/device:CPU:0"])
    xla = devices.probe(tf)["xla"]
    assert xla.available and xla.how == "tf.function(jit_compile=True)"
    devices.compiled(tf, xla, lambda: None)
    assert tf.compiled == [(True, False)], "compiled by XLA; the harness's glue not converted by AutoGraph"


def test_gpu_cells_get_gpu_float32_tolerances():
    assert (default_for("float32", "gpu").rtol, default_for("float32", "gpu").atol) == (1e-5, 1e-5)
    assert default_for("float32", "cpu").rtol == 1e-6 and default_for("int32", "gpu").exact
    gpu = tolerance_for("float32", "default.y", {}, "m", "gpu")
    drifted = compare("default.y", __import__("numpy").float32([1.000005]), __import__("numpy").float32([1.0]), gpu)
    assert drifted.ok, "cuBLAS-sized drift passes on gpu"
    assert not compare("default.y", __import__("numpy").float32([1.000005]), __import__("numpy").float32([1.0]),
                       tolerance_for("float32", "default.y", {}, "m", "cpu")).ok
