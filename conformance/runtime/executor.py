"""The executor: the child process where a runtime worker's TensorFlow work runs, one request at a time.

The worker's fork server (:mod:`conformance.runtime.forkserver`) imports TensorFlow once (``preload``) and
forks each executor (``serve_forked``) with three descriptors: requests in, replies out, and a stderr file,
which fds 1 and 2 then point at, so whatever a model or TensorFlow prints cannot corrupt the channel. A
native crash or an endless loop here costs the worker nothing but this process: the supervisor kills it and
forks another.

Replies to one request: any number of ``("record", fields)`` (what the case saw, as it is seen), then one of
``("return", value)``, ``("not-applicable", reason)`` or ``("harness-error", traceback)``.
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any, Dict

from conformance.runtime import channel


class _RelayedRecord(object):
    """The ``record`` of a case: fields go to the supervisor at once, arrays straight to the run's folder."""

    def __init__(self, out_fd: int, store: Any):
        self.out_fd, self.store = out_fd, store

    def __call__(self, **fields: Any) -> None:
        channel.send(self.out_fd, ("record", fields))

    def save_outputs(self, name: str, arrays) -> str:
        return self.store.save_outputs(name, arrays)


# The matrix the fork server read (the worker sends it and its executors the same setup): its forks start with
# it. Read again by every executor, a matrix of 230 models cost each 58 ms (26 ms for 23), and the executors of
# a run grow with its models too.
_preloaded_matrix = None  # type: Any


def preload(setup: Dict[str, Any]) -> None:
    """What every executor needs, imported once in the fork server: TensorFlow in the runtime's mode,
    tensorflow_hub, the probes, the matrix. No op runs here: a fork copies one thread, and TensorFlow starts
    its thread pools with its eager context, which each executor creates (its device probe)."""
    global _preloaded_matrix
    from conformance.matrix import load_matrix
    from conformance.runtime import tfmode
    from conformance.runtime.memory import freeze

    importlib.import_module("conformance.runtime.probe")  # TensorFlow and the apis
    from conformance.runtime import op_scan

    op_scan.allow_list()  # read once here, not in every executor

    _preloaded_matrix = load_matrix(setup["matrix"])
    tfmode.activate(_preloaded_matrix.runtime(setup["runtime"]).mode)
    tfmode.import_hub()
    # hub.KerasLayer's first load imports the `keras` package even where the layer uses tf_keras (its
    # load_module tries `from keras.saving.legacy ...` first: 0.16 s and 562 modules of Keras 3 in tf2.21):
    # once here, not in every fresh executor.
    try:
        importlib.import_module("keras")
    except ImportError:
        pass
    freeze(collect_first=False)  # TensorFlow's objects: no collection walks them again, nor copies their pages


def _serve(in_fd: int, out_fd: int) -> None:
    setup = channel.receive(in_fd)  # type: Dict[str, Any]
    from conformance.matrix import load_matrix
    from conformance.observations import ArrayStore
    from conformance.runtime.apis import NotApplicable
    from conformance.runtime.probe import RuntimeSession

    matrix = _preloaded_matrix or load_matrix(setup["matrix"])
    session = RuntimeSession(matrix.runtime(setup["runtime"]), setup["places"])
    session.sandbox = setup.get("sandbox", "none")
    store = ArrayStore(setup["outputs"])
    session.recorder = store
    channel.send(out_fd, ("ready", {"devices": session.devices, "run_info": session.run_info(),
                                    "mismatches": session.mismatches(), "pid": os.getpid()}))
    while True:
        try:
            method, model_id, args = channel.receive(in_fd)
        except channel.ChannelClosed:
            return
        try:
            model = session.entry(matrix.model(model_id))
            if method == "probe_load":
                value = session.probe_load(model, *args, record=_RelayedRecord(out_fd, store))
            elif method == "probe_semantics":
                value = session.probe_semantics(model, *args)
            elif method == "probe_counter":
                value = session.probe_counter(model, *args)
            elif method == "probe_train":
                value = session.probe_train(model, *args)
            elif method == "resolve":
                value = session.resolved_directory(model)
            elif method == "fetch":
                value = session.fetch_failure(model)
            elif method == "cluster_fit":
                value = session.cluster_fit(model)
            else:
                raise ValueError("unknown executor request %r" % method)
            reply = ("return", value)
        except NotApplicable as reason:
            reply = ("not-applicable", str(reason))
        except Exception:  # noqa: BLE001 - the probe records the model's errors itself: this is ours
            reply = ("harness-error", traceback.format_exc()[-20000:])
        channel.send(out_fd, reply)


def serve_forked(in_fd: int, out_fd: int, stderr_fd: int, parent: int) -> int:
    """The executor's life in a child of the fork server ``parent``; returns its exit status."""
    from conformance.runtime.child_process import set_death_signal

    set_death_signal()
    if os.getppid() != parent:  # the fork server died before the death signal was set
        return 1
    os.dup2(stderr_fd, 2)
    os.dup2(stderr_fd, 1)
    os.close(stderr_fd)
    sys.stdout = sys.stderr
    try:
        _serve(in_fd, out_fd)
    except channel.ChannelClosed:
        return 0
    except Exception:  # noqa: BLE001 - a failed start-up is told to the supervisor, then we exit
        try:
            channel.send(out_fd, ("harness-error", traceback.format_exc()[-20000:]))
        except OSError:
            pass
        return 1
    finally:
        sys.stderr.flush()
    return 0
