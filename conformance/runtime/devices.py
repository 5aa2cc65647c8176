"""Which of cpu / xla / gpu this runtime has, and how a call is placed on each.

- cpu: ``/device:CPU:0``.
- xla: the same call compiled by XLA. Eager runtimes wrap the call in ``tf.function(jit_compile=True)``
  (``experimental_compile`` in TF 1.15). Graph runtimes place the call's ops on the ``XLA_CPU`` device where
  it is listed (TF 1.15), else build the call inside a compiled tf.function in the graph (TF 2 compat mode).
  Both are strict: an op XLA cannot compile fails the case instead of silently running on the CPU.
- gpu: ``/device:GPU:0`` when TensorFlow sees one.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Dict


@dataclass(frozen=True)
class Device:
    name: str
    available: bool
    how: str  # how calls are placed or compiled, or why the device is missing
    probed: str  # what was asked of TensorFlow

    def as_dict(self) -> Dict[str, Any]:
        return {"available": self.available, "how": self.how, "probed": self.probed}


def _local_device_names(tf: Any):
    if hasattr(tf.config, "list_logical_devices") and tf.__version__.startswith("2"):
        return [d.name for d in tf.config.list_logical_devices()]
    from tensorflow.python.client import device_lib

    return [d.name for d in device_lib.list_local_devices()]


def probe(tf: Any) -> Dict[str, Device]:
    names = _local_device_names(tf)
    short = [n.split("device:")[-1] for n in names]
    listed = "local devices: %s" % ", ".join(short)
    devices = {"cpu": Device("cpu", "CPU:0" in short, "/device:CPU:0", listed)}
    if tf.executing_eagerly():
        # TF 2: tf.function(jit_compile=True); TF 1.15: the same argument is called experimental_compile.
        devices["xla"] = Device("xla", True, "tf.function(%s=True)" % _compile_argument(tf),
                                "eager runtime: calls wrapped in a compiled tf.function")
    elif "XLA_CPU:0" in short:
        devices["xla"] = Device("xla", True, "XLA_CPU device", listed)
    else:
        # TF 2 in compat graph mode: the call is built inside tf.function(jit_compile=True) in the graph.
        devices["xla"] = Device("xla", True, "tf.function(%s=True) in the graph" % _compile_argument(tf),
                                "graph runtime without an XLA_CPU device (%s)" % listed)
    gpus = [n for n in short if n.startswith("GPU:")]
    devices["gpu"] = Device("gpu", bool(gpus), "/device:GPU:0" if gpus else "no GPU visible", listed)
    return devices


def _compile_argument(tf: Any) -> str:
    import inspect

    try:
        parameters = inspect.signature(tf.function).parameters
    except (TypeError, ValueError):
        return "jit_compile"
    return "jit_compile" if "jit_compile" in parameters else "experimental_compile"


def placement(tf: Any, device: Device) -> Callable[[], Any]:
    """A context-manager factory under which the calls (not the loading) of a case are built or run."""
    if device.name == "gpu":
        return lambda: tf.device("/device:GPU:0")
    if device.name == "xla" and device.how == "XLA_CPU device":
        return lambda: tf.device("/device:XLA_CPU:0")
    if device.name == "cpu":
        return lambda: tf.device("/device:CPU:0")
    return contextlib.nullcontext


def compiled(tf: Any, device: Device, function: Callable) -> Callable:
    """Wrap a call for ``device``: a compiled tf.function for xla without an XLA_CPU device.

    Without AutoGraph: ``function`` is the harness's glue around the model's own (already traced) functions,
    with no Python control flow on tensors, so converting it changes nothing in the compiled graph; but
    AutoGraph would convert the harness's modules it calls on every trace, which was a third of a TF 1.15
    eager executor's time (bench/overhead.py)."""
    if device.name == "xla" and device.how.startswith("tf.function"):
        return tf.function(function, autograph=False, **{_compile_argument(tf): True})
    return function


def session_config(tf: Any):
    """Graph-mode session options: no soft placement, so a call that cannot run where asked fails."""
    return tf.compat.v1.ConfigProto(allow_soft_placement=False)
