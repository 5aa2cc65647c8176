"""Bringing up TensorFlow in the mode a runtime declares, checking it is what matrix.yaml says,
and recording what the process actually runs (run info)."""
from __future__ import annotations

import os
import platform
import sys
from typing import Any, Dict, List

from packaging.version import InvalidVersion, Version

from conformance.matrix import Runtime
from conformance.versions import duplicates, family_versions


def activate(mode: str):
    """Import TensorFlow and put this process in ``mode`` (``graph`` or ``eager``); returns the module.

    Must run before any TensorFlow op is created: the plugin calls it at process start, xdist workers too.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)  # deprecation notices drown the output
    if mode == "eager" and not tf.executing_eagerly():
        tf.compat.v1.enable_eager_execution()
    elif mode == "graph" and tf.executing_eagerly():
        tf.compat.v1.disable_eager_execution()
    disable_tf32(tf)
    return tf


def disable_tf32(tf) -> bool:
    """Keep float32 matmuls and convolutions float32 on GPUs (TF >= 2.4 uses TensorFloat-32 by default),
    so gpu cells compare with cpu ones under float32 tolerances. Returns whether it was turned off."""
    switch = getattr(getattr(tf.config, "experimental", None), "enable_tensor_float_32_execution", None)
    if switch is None:
        return False
    switch(False)
    return True


def import_hub():
    import tensorflow_hub as hub

    from conformance.runtime import hub_archives

    hub_archives.install(hub)  # URL archives: folders made for files, and a size limit (unsafe-archive)
    return hub


def mismatches(runtime: Runtime, tf: Any, hub: Any) -> List[str]:
    """What differs between the declared runtime and this process (empty when all agree)."""
    found = []
    declared_python = runtime.python
    actual_python = "%d.%d" % sys.version_info[:2]
    if actual_python != declared_python:
        found.append("python %s declared, %s running" % (declared_python, actual_python))
    if runtime.tensorflow_version and not same_version(tf.__version__, runtime.tensorflow_version):
        found.append("tensorflow %s declared, %s imported" % (runtime.tensorflow_version, tf.__version__))
    if runtime.tensorflow_hub_version and hub.__version__ != runtime.tensorflow_hub_version:
        found.append("tensorflow-hub %s declared, %s imported" % (runtime.tensorflow_hub_version, hub.__version__))
    eager = tf.executing_eagerly()
    if eager != (runtime.mode == "eager"):
        found.append("mode %s declared, executing_eagerly() is %s" % (runtime.mode, eager))
    found.extend(duplicates())  # tf.__version__ is whichever copy's files won: the metadata says what is there
    return found


def same_version(imported: str, declared: str) -> bool:
    """Whether ``tf.__version__`` is the declared version: a nightly says ``2.23.0-dev20261026`` for the
    distribution's ``2.23.0.dev20261026`` (the same version once normalized, PEP 440)."""
    if imported == declared:
        return True
    try:
        return Version(imported) == Version(declared)
    except InvalidVersion:
        return False


def git_version(tf: Any) -> str:
    """The TensorFlow commit the build came from (a nightly's only exact identity)."""
    found = getattr(getattr(tf, "version", None), "GIT_VERSION", None) or getattr(tf, "__git_version__", "")
    return found.decode("utf-8", "replace") if isinstance(found, bytes) else str(found)


def _cpu_flags() -> List[str]:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    wanted = ("avx", "avx2", "avx512f", "fma", "sse4_2", "amx_tile", "avx512_bf16")
                    return sorted(set(line.split(":", 1)[1].split()) & set(wanted))
    except OSError:
        pass
    return []


def run_info(runtime: Runtime, tf: Any, hub: Any, devices: Dict[str, Any]) -> Dict[str, Any]:
    import numpy

    return {
        "runtime": runtime.id,
        "mode": runtime.mode,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tensorflow_git_version": git_version(tf),
        "tensorflow_hub": hub.__version__,
        "distributions": family_versions(),  # every TensorFlow-family distribution installed, and its version
        "numpy": numpy.__version__,
        "executing_eagerly": bool(tf.executing_eagerly()),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpu_flags": _cpu_flags(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(default)"),
        "tensor_float_32": bool(getattr(getattr(tf.config, "experimental", None),
                                        "tensor_float_32_execution_enabled", lambda: False)()),
        "tfhub_cache_dir": os.environ.get("TFHUB_CACHE_DIR", ""),
        "devices": devices,
    }
