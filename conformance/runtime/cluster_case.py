"""Runs the parameter-server cases (:mod:`conformance.runtime.cluster`) of one model after another in a process
group of their own, each model within a time limit. Plain Python: the pytest worker calls it without importing
TensorFlow.

A TF1 ``Server`` cannot be stopped, so the servers of every case stay up until their process ends: the group is
killed when a model passes its limit (its cases: ``timeout``), when it dies (``crash``), after
``MODELS_PER_PROCESS`` models (the servers and their threads add up) and when the session closes it. No process
or port outlives the session. One process serves the models in between.

The worker forks that process from its fork server (``fork``), which has imported TensorFlow already: a fresh
cluster process then costs a fork, not an import of TensorFlow (3 to 4 CPU-seconds, once per worker and runtime
in the default run). Without a fork server (``fork`` None) it starts a new interpreter.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from conformance.runtime.cluster import RESULT_PREFIX, variant_key
from conformance.runtime.child_process import StderrFile, set_death_signal, stderr_evidence

MODELS_PER_PROCESS = 10
Variant = Tuple[str, bool, bool]  # api, shared, estimator


class _Spawned(object):
    """The cluster process as a new interpreter, ``python -m conformance.runtime.cluster``."""

    def __init__(self, env: Mapping[str, str]):
        self.stderr = StderrFile()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "conformance.runtime.cluster"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, env=dict(env), start_new_session=True, preexec_fn=set_death_signal, close_fds=True)
        self.pid, self.replies = self._process.pid, self._process.stdout.fileno()

    def send(self, data: bytes) -> None:
        self._process.stdin.write(data)
        self._process.stdin.flush()

    def ended(self) -> Optional[int]:
        """Its exit status, once its replies have ended."""
        return self._process.wait()

    def end(self) -> Optional[int]:
        """Kill its process group, servers included; its exit status."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        returncode = self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.stderr.close()
        return returncode


class _Forked(object):
    """The cluster process as a child of the worker's fork server (a ``forkserver.ForkedProcess``)."""

    def __init__(self, forked: Any):
        self._forked = forked
        self.pid, self.replies, self.stderr = forked.pid, forked.replies, forked.stderr

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._forked.requests, view):]

    def ended(self) -> Optional[int]:
        return self._forked.kill()  # reaped through the fork server; the kill finds it ended

    def end(self) -> Optional[int]:
        returncode = self._forked.kill()  # its process group, servers included
        self._forked.close()
        return returncode


class ClusterProcess(object):
    """The cluster process of one pytest process, started when a model first needs it: forked by ``fork()``
    (a ``forkserver.ForkedProcess`` of kind ``cluster``) if given, else a new interpreter with ``env``."""

    def __init__(self, env: Optional[Mapping[str, str]] = None, models_per_process: int = MODELS_PER_PROCESS,
                 fork: Optional[Callable[[], Any]] = None):
        self.env = dict(env if env is not None else os.environ)
        self.models_per_process = models_per_process
        self.fork = fork
        self.process = None  # type: Any  # _Spawned or _Forked
        self.models = 0  # served by the current process
        self.started = 0  # processes started, for the record
        self.returncode = None  # type: Optional[int]  # of the last process ended
        self._pending = b""

    def run(self, handle: str, tags: Optional[Sequence[str]], variants: Sequence[Variant], timeout: float,
            imports: Sequence[str] = ()) -> Dict[str, Dict[str, Any]]:
        """Each variant's record (by ``variant_key``): ``outcome`` ok | error | skip | harness-error, or for
        all of them timeout | crash, and the ``pid`` of the process that ran them."""
        if self.process is None:
            self._start()
        process = self.process
        request = json.dumps({"handle": handle, "tags": None if tags is None else list(tags),
                              "imports": list(imports),
                              "variants": [[api, bool(shared), bool(estimator)] for api, shared, estimator in variants]})
        process.stderr.clear()
        try:
            process.send((request + "\n").encode("utf-8"))
            line = self._result_line(time.monotonic() + timeout)
        except BrokenPipeError:
            line = None
        except TimeoutError:
            self.close()
            return _everyone(variants, {"outcome": "timeout", "pid": process.pid, "message": "the cluster cases "
                                        "passed their limit of %gs and were killed (their process group, servers "
                                        "included)" % timeout})
        if line is None:
            returncode = process.ended()
            evidence = stderr_evidence(process.stderr.tail())
            self.close()
            return _everyone(variants, {"outcome": "crash", "pid": process.pid, "message": "the cluster process "
                                        "ended (exit status %s) without a result: %s" % (returncode, evidence)})
        results = json.loads(line[len(RESULT_PREFIX):])
        for result in results.values():
            result["pid"] = process.pid
        self.models += 1
        if self.models >= self.models_per_process:
            self.close()
        return results

    def close(self) -> None:
        """Ends the process group, servers included."""
        if self.process is None:
            return
        process, self.process = self.process, None
        self.returncode = process.end()
        self._pending = b""

    def _start(self) -> None:
        self.process = _Forked(self.fork()) if self.fork is not None else _Spawned(self.env)
        self.models, self.started = 0, self.started + 1

    def _result_line(self, deadline: float) -> Optional[str]:
        """The next result line, or None if the process ended first; TimeoutError past the deadline."""
        fd = self.process.replies
        while True:
            if b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                if text.startswith(RESULT_PREFIX):
                    return text
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError()
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._pending += chunk

def run_cluster(handle: str, tags: Optional[Sequence[str]], variants: Sequence[Variant], timeout: float,
                env: Optional[Mapping[str, str]] = None) -> Dict[str, Dict[str, Any]]:
    """One model's cases in a process of their own, ended with them."""
    cluster = ClusterProcess(env)
    try:
        return cluster.run(handle, tags, variants, timeout)
    finally:
        cluster.close()


def _everyone(variants: Sequence[Variant], result: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {variant_key(*variant): dict(result) for variant in variants}
