"""The worker side of a supervised runtime: TensorFlow work runs in an executor process with a wall-clock
limit that holds against native code.

A model that aborts its process (a CHECK failure in a kernel) or loops forever in a kernel kills or hangs
only the executor: the case gets status ``crash`` or ``timeout`` with the signal or the limit and the last
lines of the executor's stderr, the executor is started again, and every other model still runs. This
module imports no TensorFlow; pytest-xdist's own crash recovery is never needed.
"""
from __future__ import annotations

import collections
import fcntl
import os
import shutil
import tempfile
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from conformance import op_libraries
from conformance.blame import describe, raised_by_harness
from conformance.causes import Cause, classify_exception
from conformance.handles import HandleError, cache_dir, expand, hub_cache_entry, hub_cache_has, is_url, loadable
from conformance.matrix import load_matrix
from conformance.runtime import channel, sandbox as sandboxes
from conformance.runtime.child_process import HarnessError, signal_name, stderr_evidence
from conformance.runtime.forkserver import ForkedProcess, ForkServer
from conformance.runtime.memory import rss_mb
from conformance.runtime.not_applicable import NotApplicable

START_TIMEOUT = 600.0  # seconds for the fork server to import TensorFlow, or for an executor to be ready
# TensorFlow keeps something of every model it loaded in its process, so an executor grows with the models it
# has served although its cache holds one (on tf2.21: 692 MB after 12 models, 873 MB after 115). Between two
# models, an executor that has served RECYCLE_MODELS models, or grown by RECYCLE_GROWTH_MB since its first
# model, is replaced by a fresh one, forked from the worker's fork server (see forkserver.py), so its peak
# stays that of the default run's worker at any matrix size. Under `tox -p` a runtime's cases run in one
# process, so that worker serves the whole zoo (23 models): with 10, it forked two more executors, each
# faulting in its memory and warming TensorFlow up again. No recycling of the zoo against 10, the six runtimes
# at once in alternating pairs: 58.5 / 58.3 / 60.9 s against 61.3 / 62.3 / 60.8 s (CPU 114.6 / 113.9 / 118.7
# against 120.4 / 119.7 / 119.1 s); bench/whole_run.py 1.27x before, 1.22x and 1.26x in two sets after.
# The zoo x10 on tf2.21, 50 against 10: 204.1 / 216.5 s against 206.1 / 211.6 s; executors' peak 565 / 580
# against 513 / 499 MB.
# CONFORMANCE_RECYCLE_MB overrides the growth (0: a fresh executor for every model).
RECYCLE_MODELS = 25
RECYCLE_GROWTH_MB = 512.0
RECYCLE_ENV = "CONFORMANCE_RECYCLE_MB"

LOSSES_PER_MODEL = 2  # crashes or timeouts of one model before its remaining cases are not run


def recycle_limit_mb() -> float:
    """The growth in MB after which an executor is replaced: $CONFORMANCE_RECYCLE_MB or RECYCLE_GROWTH_MB."""
    text = os.environ.get(RECYCLE_ENV, "")
    try:
        limit = float(text) if text else RECYCLE_GROWTH_MB
    except ValueError:
        limit = -1.0
    if limit < 0:
        raise HarnessError("%s=%r: expected megabytes, a number of at least 0" % (RECYCLE_ENV, text))
    return limit


class ExecutorLost(Exception):
    """The executor died or hit the limit during a request: ``cause`` says which, with its evidence."""

    def __init__(self, status: str, cause: Cause):
        super(ExecutorLost, self).__init__(cause.diagnosis)
        self.status, self.cause = status, cause

    def fields(self) -> Dict[str, Any]:
        """What the case records: ``lost`` (its status) and the error, like a load error."""
        return {"lost": self.status, "error": {"stage": "executor", "type": self.status,
                                               "message": self.cause.diagnosis, "cause": self.cause.id,
                                               "diagnosis": self.cause.diagnosis}}


def _variant_flags(variant: str) -> Tuple[bool, bool]:
    """A cluster variant (``unshared``, ``shared``, ``estimator-unshared``, ...) as (shared, estimator)."""
    return variant.split("-")[-1] == "shared", variant.startswith("estimator-")


def _device_of(method: str, args: tuple) -> Optional[str]:
    """The device a request runs on (``probe_*(api, device, ...)``), None for one that is about the model."""
    return args[1] if method.startswith("probe_") and len(args) >= 2 else None


class Unloadable(NotApplicable):
    """A model whose handle could not be unpacked or fetched before the sandbox: its load cases fail with that
    cause, its other cases are not applicable (the sandbox, which cannot write the model cache, never tries)."""

    def __init__(self, cause: Cause):
        super(Unloadable, self).__init__("did not load: %s" % cause.diagnosis)
        self.cause = cause

    def fields(self) -> Dict[str, Any]:
        return {"loaded": False, "error": {"stage": "handle", "type": "HandleError", "message": self.cause.diagnosis,
                                           "cause": self.cause.id, "diagnosis": self.cause.diagnosis}}


class _Executor(object):
    """One executor: a child of the fork server, and what the worker tracks of it."""

    def __init__(self, process: ForkedProcess):
        self.process = process
        self.pid = process.pid
        self.stderr = process.stderr
        self.ready = None  # type: Optional[Dict[str, Any]]
        self.baseline_rss_mb = None  # type: Optional[float]  # after its first model
        self.models = set()  # type: set

    def send(self, message: Any) -> None:
        channel.send(self.process.requests, message)

    def receive(self, deadline: float) -> Any:
        return channel.receive(self.process.replies, deadline)

    def rss_mb(self) -> Optional[float]:
        return rss_mb(self.pid)

    def kill(self) -> Optional[int]:
        return self.process.kill()

    def close(self) -> None:
        self.process.close()


class SupervisedSession(object):
    """What the cases use of their runtime (devices, probes), with each probe run in the executor.

    ``limit_of(model)`` gives the wall-clock seconds one request about ``model`` may take.
    """

    def __init__(self, runtime: Any, matrix_path: str, places: Mapping[str, str], outputs: str, limit_of):
        self.runtime = runtime
        self.limit_of = limit_of
        self._handles, handle_errors, self._urls = self._local_handles(matrix_path, places)
        # model id -> our own bug met while unpacking its handle: its cases are errors, never its failure
        self._harness_bugs = {model_id: describe(error) for model_id, error in handle_errors.items()
                              if raised_by_harness(error)}
        self._scratch = tempfile.mkdtemp(prefix="hub-conformance-executor-")
        os.makedirs(cache_dir(), exist_ok=True)  # read in the sandbox, filled by fetches outside it
        self.sandbox = sandboxes.choose(
            [os.path.dirname(os.path.abspath(matrix_path)), os.getcwd(), cache_dir()]
            + [place for place in places.values() if not is_url(place)] + list(self._handles.values()),
            [self._scratch, outputs])
        self._setup = {"matrix": os.path.abspath(matrix_path), "runtime": runtime.id, "places": dict(places),
                       "outputs": outputs, "sandbox": self.sandbox.kind}
        self._env = dict(os.environ, **dict(runtime.env))  # the runtime as declared, also run outside tox
        self._forkserver = None  # type: Optional[ForkServer]  # started with the first executor
        self._executor = None  # type: Optional[_Executor]
        self._fetcher = None  # type: Optional[Tuple[ForkServer, _Executor]]  # fetches URLs outside the sandbox
        self._urls_fetched = False
        # model id -> why its handle could not be unpacked or fetched outside the sandbox (it does not try again)
        self._unloadable = {model_id: classify_exception(error) for model_id, error in handle_errors.items()
                            if model_id not in self._harness_bugs} if self.sandbox.in_force else {}
        # type: Dict[str, Cause]
        self._kept = ("", {})  # type: Tuple[str, Dict[Any, Any]]  # see _kept_for
        self._cluster_process = None  # type: Any  # cluster_case.ClusterProcess, started by the first cluster case
        # (model, device or None) -> its losses: an xla crash does not cost the model's cpu cases
        self._losses = collections.defaultdict(list)  # type: Dict[Tuple[str, Optional[str]], List[ExecutorLost]]
        self.restarts = 0
        self.recycled = 0  # executors replaced because they had grown (not lost)
        self.recycle_mb = recycle_limit_mb()
        first = self._start()
        self.devices = first.ready["devices"]
        self._run_info = first.ready["run_info"]
        self._mismatches = first.ready["mismatches"]

    # ------------------------------------------------------------------ the executor's life
    def _live_forkserver(self) -> ForkServer:
        """The worker's fork server, started again if it has died (a TensorFlow import)."""
        if self._forkserver is not None and not self._forkserver.alive():
            self._forkserver.close()
            self._forkserver = None
        if self._forkserver is None:
            self._forkserver = ForkServer(self._setup, self._env, START_TIMEOUT, self.sandbox)
        return self._forkserver

    @staticmethod
    def _local_handles(matrix_path: str, places: Mapping[str, str]
                       ) -> Tuple[Dict[str, str], Dict[str, Exception], Dict[str, Tuple[Any, str]]]:
        """The models' local handles (what the sandbox lets them read), their archives unpacked here first
        (the sandbox cannot write the model cache), the errors of those that do not resolve, and the models
        whose handle is a URL (model, URL) by id."""
        found, errors, urls = {}, {}, {}  # type: Dict[str, str], Dict[str, Exception], Dict[str, Tuple[Any, str]]
        for model in load_matrix(matrix_path).models:
            try:
                handle = expand(model.handle, places, model.id)
                if is_url(handle):
                    urls[model.id] = (model, handle)
                else:
                    found[model.id] = loadable(handle)
            except Exception as error:  # noqa: BLE001 - a handle that does not resolve: its load case says why
                errors[model.id] = error
        return found, errors, urls

    def _fork_cluster(self) -> Any:
        return self._live_forkserver().fork("cluster")

    def _start(self, server: Optional[ForkServer] = None) -> _Executor:
        keep = server is None
        executor = _Executor((server or self._live_forkserver()).fork())
        try:
            executor.send(self._setup)
            kind, value = executor.receive(time.monotonic() + START_TIMEOUT)
        except (channel.ChannelClosed, channel.DeadlineExceeded, OSError) as problem:
            returncode = executor.kill()
            text = executor.stderr.tail()
            executor.close()
            why = ("did not start within %ds" % START_TIMEOUT if isinstance(problem, channel.DeadlineExceeded)
                   else "died while starting (%s)" % signal_name(returncode))
            raise HarnessError("the executor of runtime %s %s: %s" % (self.runtime.id, why, stderr_evidence(text)))
        except BaseException:  # interrupted while waiting: the starting process must not outlive us
            executor.kill()
            executor.close()
            raise
        if kind != "ready":
            executor.close()
            raise HarnessError("the executor of runtime %s failed to start: %s" % (self.runtime.id, value))
        executor.ready = value
        if keep:
            self._executor = executor
        return executor

    def _fetch_executor(self) -> _Executor:
        """An executor of a fork server outside the sandbox, for fetching URL handles only: the sandbox has no
        network. It resolves handles with tensorflow_hub and never loads a model."""
        if self._fetcher is None:
            server = ForkServer(dict(self._setup, sandbox="none"), self._env, START_TIMEOUT)
            self._fetcher = (server, self._start(server))
        return self._fetcher[1]

    def _fetch_urls(self) -> None:
        """Once per worker, before a sandboxed executor needs them: the matrix's URL handles that are not in the
        TF Hub cache yet are fetched outside the sandbox, one worker of the machine at a time (a lock in the
        cache: the runtimes of ``tox -p`` share one cache, so the first fetches and the others find the files),
        then the fetching process ends. A URL that does not fetch is its model's load cause."""
        if not self.sandbox.in_force or self._urls_fetched:
            return
        self._urls_fetched = True
        if all(hub_cache_has(url) for _, url in self._urls.values()):
            return
        with open(os.path.join(cache_dir(), ".hub-conformance-fetch.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for model, url in self._urls.values():
                if hub_cache_has(url):
                    continue
                try:
                    failure = self._request("fetch", model, ())
                except (ExecutorLost, NotApplicable) as lost:
                    failure = (lost.cause.id, lost.cause.diagnosis) if isinstance(lost, ExecutorLost) else None
                if failure:
                    self._unloadable[model.id] = Cause(*failure)
        self._close_fetcher()  # its TensorFlow is not needed again in this worker

    def _close_fetcher(self) -> None:
        if self._fetcher is not None:
            self._fetcher[1].close()
            self._fetcher[0].close()
            self._fetcher = None

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
        self._close_fetcher()
        if self._cluster_process is not None:  # a child of the fork server, reaped through it
            self._cluster_process.close()
        if self._executor is not None:
            self._executor.close()
            self._executor = None
        if self._forkserver is not None:
            self._forkserver.close()
            self._forkserver = None

    def mismatches(self) -> List[str]:
        return list(self._mismatches)

    def run_info(self) -> Dict[str, Any]:
        return dict(self._run_info, executor_restarts=self.restarts, sandbox=self.sandbox.run_info())

    # ------------------------------------------------------------------ requests
    def _request(self, method: str, model: Any, args: tuple, record=None) -> Any:
        device = _device_of(method, args)
        earlier = self._losses.get((model.id, None), []) + (self._losses.get((model.id, device), []) if device else [])
        if len(earlier) >= LOSSES_PER_MODEL:
            last = earlier[-1]
            raise ExecutorLost(last.status, Cause(last.cause.id, "not run: model %s already lost its executor %d "
                                                  "times%s in this worker; last: %s"
                                                  % (model.id, len(earlier), " on %s" % device if device else "",
                                                     last.cause.diagnosis)))
        fetching = method == "fetch"
        if fetching:
            executor = self._fetch_executor()
        else:
            if self.sandbox.in_force and model.id in self._harness_bugs:
                raise HarnessError("unpacking the handle of model %s before the sandbox: %s"
                                   % (model.id, self._harness_bugs[model.id]))
            self._fetch_urls()
            if model.id in self._unloadable:
                raise Unloadable(self._unloadable[model.id])
            self._recycle_before(model.id)
            executor = self._executor or self._start()
        executor.models.add(model.id)
        executor.stderr.clear()
        limit = float(self.limit_of(model))
        deadline = time.monotonic() + limit
        sent = False
        while True:
            try:
                if not sent:  # an executor that died since its last request fails here (a broken pipe)
                    executor.send((method, model.id, args))
                    sent = True
                kind, value = executor.receive(deadline)
            except (channel.ChannelClosed, channel.DeadlineExceeded, OSError) as problem:
                raise self._lost(executor, method, model, args, timed_out=isinstance(problem,
                                                                                      channel.DeadlineExceeded),
                                 limit=limit)
            if kind == "record":
                if record is not None:
                    record(**value)
                continue
            if kind == "return":
                return value
            if kind == "not-applicable":
                raise NotApplicable(value)
            raise HarnessError(value)

    def _recycle_before(self, model_id: str) -> None:
        """Replace the executor by a fresh one before a new model when it has served RECYCLE_MODELS models or
        grown by ``recycle_mb`` since its first one (which brings what TensorFlow imports lazily)."""
        executor = self._executor
        if executor is None or model_id in executor.models or not executor.models:
            return
        now = executor.rss_mb()
        if executor.baseline_rss_mb is None:
            executor.baseline_rss_mb = now
        grown = now is not None and executor.baseline_rss_mb is not None and \
            now - executor.baseline_rss_mb >= self.recycle_mb
        if grown or len(executor.models) >= RECYCLE_MODELS:
            executor.close()
            self._executor = None
            self.recycled += 1

    def _lost(self, executor: _Executor, method: str, model: Any, args: tuple, timed_out: bool, limit: float
              ) -> ExecutorLost:
        returncode = executor.kill()
        evidence = stderr_evidence(executor.stderr.tail())
        executor.close()
        if self._fetcher is not None and executor is self._fetcher[1]:
            self._fetcher[0].close()
            self._fetcher = None
        else:
            self._executor = None
        self.restarts += 1
        what = "%s of %s (%s)" % (method, model.id, ", ".join(str(a) for a in args))
        server = self._forkserver
        if not timed_out and server is not None and not server.alive():  # its executor died with it
            raise HarnessError("the fork server of runtime %s ended (%s) during %s, and its executor with it: "
                               "not the model's doing. stderr: %s"
                               % (self.runtime.id, signal_name(server.process.returncode), what,
                                  stderr_evidence(server.stderr_tail())))
        if timed_out:
            lost = ExecutorLost("timeout", Cause("timeout", "%s did not finish within its %gs limit; killed. "
                                                            "stderr: %s" % (what, limit, evidence)))
        else:
            lost = ExecutorLost("crash", Cause("crash", "the runtime process died (%s) during %s. stderr: %s"
                                                        % (signal_name(returncode), what, evidence)))
        self._losses[(model.id, _device_of(method, args))].append(lost)
        return lost

    def resolve(self, model: Any) -> Optional[str]:
        """The local directory of a model's handle (a URL, fetched and unpacked by the runtime), or None where
        it does not resolve (its load case then says why). In the sandbox, a URL's files are fetched outside
        it into the TF Hub cache, and read from there."""
        if model.id in self._unloadable or (self.sandbox.in_force and model.id in self._harness_bugs):
            return None  # its archive did not unpack (or its URL fetch) outside the sandbox: its load case says why
        if self.sandbox.in_force and model.id in self._urls:
            self._fetch_urls()
            url = self._urls[model.id][1]
            return hub_cache_entry(url) if model.id not in self._unloadable and hub_cache_has(url) else None
        try:
            return self._request("resolve", model, ())
        except (ExecutorLost, NotApplicable):
            return None

    def probe_load(self, model: Any, api: str, device_name: str, record) -> Optional[Cause]:
        """The cause of the case's failure (None when it all worked), crash and timeout included."""
        try:
            try:
                cause = self._request("probe_load", model, (api, device_name), record)
            except Unloadable as unloadable:
                record(**unloadable.fields())
                return unloadable.cause
            record(executor_pid=self._executor.pid)  # which process ran it (executors are recycled)
            return cause
        except ExecutorLost as lost:
            record(**lost.fields())
            return lost.cause

    def probe_cluster(self, model: Any, api: str, variant: str) -> Dict[str, Any]:
        """The parameter-server case: every variant of a model runs in the cluster process (not the executor:
        its servers cannot be stopped, so its process group is ended when done), forked from the fork server,
        within the model's time limit; the worker keeps the results of the current model."""
        from conformance.cases import CLUSTER_APIS, CLUSTER_VARIANTS
        from conformance.handles import expand, loadable
        from conformance.runtime.cluster import variant_key
        from conformance.runtime.cluster_case import ClusterProcess

        kept = self._kept_for(model)
        if "cluster" not in kept:
            variants = [(a,) + _variant_flags(v) for a in CLUSTER_APIS for v in CLUSTER_VARIANTS]
            misfit = self._findings("cluster_fit", model, ())
            if misfit is not None and not isinstance(misfit, str):  # the executor was lost
                lost = {"outcome": misfit["lost"]["lost"], "message": misfit["cause"].diagnosis}
                results = {variant_key(*v): dict(lost) for v in variants}
            elif misfit:
                results = {variant_key(*v): {"outcome": "skip", "why": misfit} for v in variants}
            else:
                handle = loadable(expand(model.handle, self._setup["places"], model.id))
                if self._cluster_process is None:
                    self._cluster_process = ClusterProcess(self._env, fork=self._fork_cluster)
                imports = [op_libraries.by_name(name).module for name in model.requires]
                results = self._cluster_process.run(handle, model.tags, variants, self.limit_of(model), imports)
            kept["cluster"] = results  # the model's other variants ask the executor no more
        return kept["cluster"][variant_key(api, *_variant_flags(variant))]

    def probe_train(self, model: Any, api: str, device_name: str, variant: Optional[str] = None
                    ) -> Dict[str, Any]:
        return self._findings("probe_train", model, (api, device_name, variant))

    def probe_semantics(self, model: Any, api: str, device_name: str, signature: str) -> Dict[str, Any]:
        """The semantics and the cost case of a signature read one record: the worker keeps the current
        model's, so the second asks the executor no more (a round trip between two processes per case, which
        costs most when every core is busy). A lost executor's answer is not kept: the next case asks again."""
        kept = self._kept_for(model)
        key = ("semantics", api, device_name, signature)
        if key not in kept:
            found = self._findings("probe_semantics", model, key[1:])
            if "lost" in found:
                return found
            kept[key] = found
        return kept[key]

    def _kept_for(self, model: Any) -> Dict[Any, Any]:
        """What the worker keeps of the current model, to answer its later cases without the executor (its
        cluster results, its semantics records); another model's is dropped."""
        if self._kept[0] != model.id:
            self._kept = (model.id, {})
        return self._kept[1]

    def probe_counter(self, model: Any, api: str, device_name: str, signature: str) -> Dict[str, Any]:
        return self._findings("probe_counter", model, (api, device_name, signature))

    def _findings(self, method: str, model: Any, args: tuple) -> Dict[str, Any]:
        """A probe's findings, or ``{"lost": fields, "cause": Cause}`` when its executor was lost."""
        try:
            return self._request(method, model, args)
        except ExecutorLost as lost:
            return {"lost": lost.fields(), "cause": lost.cause}
        except Unloadable as unloadable:  # its load case fails with the cause; the others cannot apply
            return str(unloadable) if method == "cluster_fit" else {"skip": str(unloadable)}
