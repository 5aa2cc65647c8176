"""The executor: the child process where a runtime worker's TensorFlow work runs, one request at a time.

``python -m conformance.runtime.executor`` is started by :mod:`conformance.runtime.supervisor`. It reads
requests from stdin and answers on the original stdout; fd 1 is then pointed at stderr, so whatever a model
or TensorFlow prints cannot corrupt the channel. A native crash or an endless loop here costs the worker
nothing but this process: the supervisor kills it and starts another.

Replies to one request: any number of ``("record", fields)`` (what the case saw, as it is seen), then one of
``("return", value)``, ``("not-applicable", reason)`` or ``("harness-error", traceback)``.
"""
from __future__ import annotations

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


def _serve(in_fd: int, out_fd: int) -> None:
    setup = channel.receive(in_fd)  # type: Dict[str, Any]
    from conformance.matrix import load_matrix
    from conformance.observations import ArrayStore
    from conformance.runtime.apis import NotApplicable
    from conformance.runtime.memory import freeze
    from conformance.runtime.probe import RuntimeSession  # imports TensorFlow

    matrix = load_matrix(setup["matrix"])
    session = RuntimeSession(matrix.runtime(setup["runtime"]), setup["places"])
    freeze(collect_first=False)  # TensorFlow's objects: no collection walks them again
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
            model = matrix.model(model_id)
            if method == "probe_load":
                value = session.probe_load(model, *args, record=_RelayedRecord(out_fd, store))
            elif method == "probe_semantics":
                value = session.probe_semantics(model, *args)
            elif method == "probe_counter":
                value = session.probe_counter(model, *args)
            elif method == "probe_train":
                value = session.probe_train(model, *args)
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


def main() -> int:
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        _serve(sys.stdin.fileno(), out_fd)
    except channel.ChannelClosed:
        return 0
    except Exception:  # noqa: BLE001 - a failed start-up is told to the supervisor, then we exit
        try:
            channel.send(out_fd, ("harness-error", traceback.format_exc()[-20000:]))
        except OSError:
            pass
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    # Everything this process wrote is on disk (atomic .npz writes) and told to the supervisor: skip the
    # interpreter's teardown of TensorFlow (0.7 s per executor, measured on tf2.21).
    sys.stderr.flush()
    os._exit(code)
