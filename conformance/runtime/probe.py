"""One worker's view of its runtime: TensorFlow brought up once, models loaded once per api, and the
loadability probe of a case (load, describe, call every declared signature on the agreed inputs)."""
from __future__ import annotations

import dataclasses
import gc
import importlib
import os
import sys
import time
import traceback
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from conformance.blame import HarnessBug, describe, raised_by_harness
from conformance.causes import Cause, classify_exception, unregistered_op
from conformance.handles import expand, is_url, loadable
from conformance.inputs import Candidate, InputsUnknown, candidates, fingerprint, make_inputs
from conformance.matrix import Model, Runtime
from conformance.observations import safe_stem
from conformance import op_libraries, saved_model_header, tf_example
from conformance.runtime import apis, composite_spec, devices, example_spec, op_scan, tfmode
from conformance.runtime.memory import freeze, rss_mb
from conformance.runtime.apis.tensors import component_feeds, identical, to_tensors
from conformance.runtime.training import NotFineTunable
from conformance.semantics import migration_snippet
from conformance.versions import installed_version

TIMING_REPEATS = 3
# Failures after which the next input candidate is tried (a shape or a batch that does not fit, an index out
# of range, an error nothing names); any other cause is the model's, whatever the inputs.
SEARCHED_CAUSES = ("shape-mismatch", "index-out-of-range", "inputs-unknown", "error")


def _error_record(stage: str, error: BaseException, cause: Cause) -> Dict[str, Any]:
    return {"stage": stage, "type": type(error).__name__, "message": str(error)[:20000],
            "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__))[-20000:],
            "cause": cause.id, "diagnosis": cause.diagnosis}


def _summary(array: np.ndarray) -> Dict[str, Any]:
    summary = {"dtype": "string" if array.dtype.kind in "OSU" else str(array.dtype), "shape": list(array.shape)}
    if array.dtype.kind in "fiub" and array.size:
        summary.update(min=float(np.min(array)), max=float(np.max(array)),
                       finite=bool(np.all(np.isfinite(array))) if array.dtype.kind == "f" else True)
    return summary


def _cell_name(model: Model, device_name: str, api: str, signature: str) -> str:
    """File-name stem of one cell's signature: ``<model>-<device>-<api>-<signature>``."""
    return safe_stem("%s-%s-%s-%s" % (model.id, device_name, api.replace(".", "_"), signature.strip("_")))


# What a model leaves behind when the cache drops it is partly held in reference cycles (TensorFlow's
# functions and their graphs), which Python's collector frees late: measured on tf2.21's zoo, four rounds of
# loads grew 561 -> 583 MB, and 545 -> 547 MB with a collection after each model. A collection is made once
# the process has grown by COLLECT_GROWTH_MB since the last (the replacement of an executor at
# supervisor.RECYCLE_GROWTH_MB or RECYCLE_MODELS stays the bound).
COLLECT_GROWTH_MB = 128.0


class _Skip(Exception):
    """A finding that cannot be measured in this cell; the message says why."""


class RuntimeSession(object):
    """TensorFlow, tensorflow_hub and the devices of this process, set up once per worker."""

    def __init__(self, runtime: Runtime, places: Mapping[str, str]):
        self.runtime = runtime
        self.tf = tfmode.activate(runtime.mode)
        self.hub = tfmode.import_hub()
        self.places = dict(places)
        self.sandbox = "none"  # the protection this process runs under (sandbox.py), set by the executor
        self.devices = devices.probe(self.tf)
        self.recorder = None  # the worker's Recorder, set by the plugin: where .npz files of findings go
        # What is known of the current model only (see _enter): the others' would add up
        self._current = None  # type: Optional[str]
        self._loaded = {}  # type: Dict[Tuple[str, str], Tuple[Optional[apis.Loaded], Optional[Dict], float, bool]]
        self._findings = {}  # type: Dict[Tuple[Any, ...], Dict[str, Any]]
        self._untrusted = None  # type: Optional[List[op_scan.UntrustedOp]]
        self._entry = None  # type: Optional[Model]
        self._graph_facts = {}  # type: Dict[str, Dict[str, Any]]
        self._frozen_first_model = False
        self._collected_at_mb = None  # type: Optional[float]

    def mismatches(self):
        return tfmode.mismatches(self.runtime, self.tf, self.hub)

    def run_info(self) -> Dict[str, Any]:
        info = tfmode.run_info(self.runtime, self.tf, self.hub,
                               {name: device.as_dict() for name, device in self.devices.items()})
        installed = {name: installed_version(name) for name in op_libraries.NAMES}
        info["op_libraries"] = {name: version for name, version in installed.items() if version}
        return info

    def _specs(self, model: Model, signature: str, description: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
        """matrix.yaml's ``inputs:`` for the signature, and the tf.Example parse spec read from the graph for the
        one string input of a signature that parses examples (where matrix.yaml does not give it)."""
        specs = dict(model.inputs.get(signature) or {})
        parsed = self.parse_specs(model).get(signature)
        strings = [name for name, info in description["inputs"].items() if info["dtype"] == "string"]
        if parsed and len(strings) == 1 and strings[0] not in specs:
            specs[strings[0]] = {"tf_example": parsed}
        return specs

    def input_candidates(self, model: Model, signature: str, description: Dict[str, Any]) -> List[Candidate]:
        """How the signature's inputs may be made, in the order tried (:func:`conformance.inputs.candidates`);
        once one has run, only that one."""
        found = self._graph_facts.setdefault("found_inputs", {}).get(signature)
        if found is not None:
            return [found]
        return candidates(description["inputs"], self._specs(model, signature, description), model.batch)

    def agreed_inputs(self, model: Model, signature: str, description: Dict[str, Any],
                      candidate: Optional[Candidate] = None) -> Dict[str, np.ndarray]:
        """The signature's agreed inputs; a planted-change twin gets its twin's, so outputs are comparable.

        Precedence: matrix.yaml's ``inputs:`` > the tf.Example parse spec read from the graph (for the one
        string input of a signature that parses examples) > generated from the description, shaped by
        ``candidate`` (default: the one that ran for this signature, else the first to try).
        """
        candidate = candidate or self.input_candidates(model, signature, description)[0]
        specs = self._specs(model, signature, description)
        for name, spec in list(specs.items()):
            if "tf_example" in spec and name not in (model.inputs.get(signature) or {}):
                specs[name] = dict(spec, tf_example={
                    key: dict(feature, shape=[candidate.varlen]) if feature.get("kind") in ("sparse", "ragged")
                    else feature for key, feature in spec["tf_example"].items()})
        for name, shape in candidate.shapes:
            specs[name] = dict(specs.get(name) or {}, shape=list(shape))
        return make_inputs(model.twin or model.id, signature, description["inputs"], specs, candidate.batch,
                           tf_example.encode)

    def _first_call_that_runs(self, model: Model, signature: str, description: Dict[str, Any], loaded: apis.Loaded,
                              device: devices.Device, fetch, seen: Dict[str, Any], cell_name: str, record,
                              stage: Dict[str, str]):
        """The signature called on its agreed inputs: where nothing states them all, each candidate in turn
        until one runs (kept for the model's later checks, recorded as ``inputs_found``). Returns the inputs,
        their feeds and the outputs; raises the first candidate's error when none runs, or InputsUnknown
        (listing what was tried) for an input of unknown rank."""
        tried = self.input_candidates(model, signature, description)
        failures = []  # type: List[Tuple[Candidate, BaseException]]
        for candidate in tried:
            stage["now"] = "inputs"
            inputs = self.agreed_inputs(model, signature, description, candidate)
            seen["inputs_fingerprint"] = fingerprint(inputs)
            seen["inputs_file"] = record.save_outputs(cell_name + ".inputs", inputs)
            feeds = component_feeds(inputs, description["inputs"])
            stage["now"] = "call"
            started = time.perf_counter()
            try:
                outputs = loaded.call(signature, feeds, device, fetch)
            except Exception as error:  # noqa: BLE001 - the next candidate, or the model's failure
                if raised_by_harness(error) or len(tried) == 1:
                    raise
                failures.append((candidate, error))
                if classify_exception(error).id not in SEARCHED_CAUSES:
                    break
                continue
            seen["call_seconds"] = round(time.perf_counter() - started, 6)
            self._graph_facts["found_inputs"][signature] = candidate
            if failures or candidate.shapes or candidate != candidates(
                    description["inputs"], self._specs(model, signature, description), model.batch)[0]:
                seen["inputs_found"] = dict(candidate.as_dict(), tried=[
                    "%s: %s" % (c.label(), classify_exception(e).id) for c, e in failures])
            return inputs, feeds, outputs
        first = failures[0][1]
        if tried[0].shapes:
            raise InputsUnknown("%s of signature %s %s unknown rank and no shape tried ran (%s); the first error: "
                                "%s. Give the shape in matrix.yaml `inputs:`"
                                % (", ".join(name for name, _ in tried[0].shapes), signature,
                                   "has" if len(tried[0].shapes) == 1 else "have",
                                   "; ".join("%s: %s" % (c.label(), classify_exception(e).id) for c, e in failures),
                                   classify_exception(first).diagnosis))
        raise first

    def entry(self, model: Model) -> Model:
        """The model as the apis load it: an entry without ``tags`` gets the graph variant its files hold
        (:meth:`~conformance.saved_model_header.Header.default_tags`), read once per model. Files that cannot
        be read leave the loaders' own default (the load case says what is wrong with them)."""
        if model.tags is not None:
            return model
        self._enter(model)
        if self._entry is None:
            tags = None
            try:
                pb = self._saved_model_pb(model)
                if pb:
                    tags = tuple(saved_model_header.read(os.path.dirname(pb)).default_tags())
            except (saved_model_header.NotAModel, OSError):
                pass
            except Exception as error:  # noqa: BLE001 - unresolvable: loading says why
                if raised_by_harness(error):
                    raise
            self._entry = dataclasses.replace(model, tags=tags, tags_from_files=tags is not None)
        return self._entry

    def resolved_directory(self, model: Model) -> Optional[str]:
        """The local directory of the model's handle (a URL resolved by tensorflow_hub into its cache), or None
        where it does not resolve to a SavedModel (its load case says why)."""
        try:
            pb = self._saved_model_pb(model)
        except Exception as error:  # noqa: BLE001 - unresolvable: the load case records the error
            if raised_by_harness(error):
                raise
            return None
        return os.path.dirname(pb) if pb else None

    def fetch_failure(self, model: Model) -> Optional[Tuple[str, str]]:
        """None where the model's URL handle is now in the TF Hub cache, else its cause (id, diagnosis). Run
        outside the sandbox, which has no network (sandbox.py)."""
        try:
            self.hub.resolve(self._handle(model))
            return None
        except Exception as error:  # noqa: BLE001 - the model's handle: classified like a load error
            if raised_by_harness(error):
                raise
            cause = classify_exception(error)
            return cause.id, cause.diagnosis

    def _saved_model_pb(self, model: Model) -> Optional[str]:
        handle = self._handle(model)
        return op_scan.graph_file(self.hub.resolve(handle) if is_url(handle) else handle)

    def _read_graph(self, model: Model, name: str, read) -> Dict[str, Any]:
        """What ``read(saved_model_pb, tags)`` finds in the model's graph, cached for the current model; a
        model without a readable saved_model.pb has nothing to find (its load says why)."""
        self._enter(model)
        facts = self._graph_facts
        if name not in facts:
            try:
                pb = self._saved_model_pb(model)
                facts[name] = read(pb, model.tags) if pb else {}
            except Exception as error:  # noqa: BLE001 - nothing found: inputs are generated from the description
                if raised_by_harness(error):
                    raise
                facts[name] = {}
        return facts[name]

    def listed_signatures(self, model: Model) -> List[str]:
        """The signatures the model's saved_model.pb names for its tags, read without loading it."""
        return self._read_graph(model, "signature_names", saved_model_header.signature_names).get("names", [])

    def variable_writes(self, model: Model) -> Dict[str, List[str]]:
        """The signatures that write state (a variable, a table), with the writing ops, read from the graph."""
        return self._read_graph(model, "variable_writes", op_scan.variable_writes)

    def parse_specs(self, model: Model) -> Dict[str, Dict[str, Any]]:
        """The tf.Example features each signature parses, read from the graph."""
        return self._read_graph(model, "parse_specs", example_spec.parse_specs)

    def describe(self, model: Model, loaded: apis.Loaded, signature: str) -> Dict[str, Any]:
        """The signature as the api describes it, with the dense components TF2 made of a sparse or ragged
        input regrouped into that input (its ``components`` are what the call is fed)."""
        composites = self._read_graph(model, "composite_inputs", composite_spec.composite_inputs).get(signature)
        return composite_spec.regroup(loaded.describe(signature), composites or {},
                                      lambda enum: self.tf.as_dtype(enum).name)

    def _loaded_or_skip(self, model: Model, api: str, device: devices.Device) -> apis.Loaded:
        untrusted = self._untrusted_cause(model)
        if untrusted is not None:
            raise _Skip(untrusted.diagnosis)
        try:
            loaded, load_error, _, _ = self.load(model, api, device)
        except apis.NotApplicable as reason:
            raise _Skip(str(reason))
        if load_error is not None:
            raise _Skip("did not load through %s: %s" % (api, load_error["diagnosis"]))
        return loaded

    def _handle(self, model: Model) -> str:
        return loadable(expand(model.handle, self.places, model.id))

    def _load_arguments(self, model: Model) -> Dict[str, Any]:
        """What a failed load was given (so that bench/twin.py can try it too); nothing where the handle itself
        did not resolve (the load error says so)."""
        try:
            handle = self._handle(model)
        except Exception:  # noqa: BLE001 - recorded as the load's error already
            return {}
        return {"handle": handle, "tags": None if model.tags is None else list(model.tags),
                "clear_devices": model.clear_devices}

    def untrusted_ops(self, model: Model) -> List[op_scan.UntrustedOp]:
        """The ops reaching outside the model that its signatures can run, found before anything runs
        (cached per model); empty for a model with ``trust: true``."""
        if model.trust:
            return []
        self._enter(model)
        if self._untrusted is None:
            try:
                pb = self._saved_model_pb(model)
                self._untrusted = op_scan.scan(pb) if pb else []
            except Exception as error:  # noqa: BLE001 - unresolvable or corrupt: loading will say which
                if raised_by_harness(error):
                    raise
                self._untrusted = []
        return self._untrusted

    def op_library_cause(self, model: Model) -> Optional[Cause]:
        """Imports the op libraries the model requires (``requires:``) or its graph's ops show it needs, once per
        model; the cause when one cannot be imported (not installed here: no build for this TensorFlow, or not
        required; or a build that does not load in this TensorFlow)."""
        self._enter(model)
        if "op_library_cause" not in self._graph_facts:
            self._graph_facts["op_library_cause"] = self._import_op_libraries(model)
        return self._graph_facts["op_library_cause"]

    def _import_op_libraries(self, model: Model) -> Optional[Cause]:
        detected = self._read_graph(model, "op_libraries",
                                    lambda pb, tags: op_libraries.needed_by(op_scan.op_types(pb, tags)))
        for name in list(model.requires) + [n for n in sorted(detected) if n not in model.requires]:
            library = op_libraries.by_name(name)
            try:
                importlib.import_module(library.module)
            except Exception as error:  # noqa: BLE001 - ImportError, or its ops failing to load (undefined symbol)
                installed = installed_version(library.name)
                uses = " (its graph uses %s)" % ", ".join(detected[name][:3]) if name in detected else ""
                if installed:
                    why = ("%s %s is installed but does not load in TensorFlow %s: %s"
                           % (library.name, installed, self.tf.__version__, classify_exception(error).diagnosis))
                elif name not in model.requires:
                    why = ("%s is not installed in runtime %s: declare `requires: [%s]` for model %s in "
                           "matrix.yaml" % (library.name, self.runtime.id, library.name, model.id))
                else:
                    why = ("%s publishes no build for TensorFlow %s (builds for TensorFlow %s)"
                           % (library.name, self.tf.__version__, library.published_for()))
                return Cause("op-library-unavailable", "model %s needs %s%s: %s" % (model.id, library.name, uses,
                                                                                  why))
        return None

    def _imported_library_lacks_op(self, cause: Cause, error: BaseException) -> Cause:
        """An op of a known library unregistered although the library was imported: its build here lacks the
        op (added in a later release), which the generic diagnosis cannot know."""
        op = unregistered_op(str(error))
        library = op_libraries.owner_of(op) if op else None
        if cause.id != "op-library-unavailable" or library is None or library.module not in sys.modules:
            return cause
        return Cause(cause.id, "op %s is not registered by %s %s, imported here: that build lacks it (the op was "
                               "added in a later release; %s's builds: TensorFlow %s)"
                     % (op, library.name, installed_version(library.name) or "?", library.name,
                        library.published_for()))

    def _untrusted_cause(self, model: Model) -> Optional[Cause]:
        """``untrusted-op`` for a model with ops outside the allow list, unless the sandbox is in force (then
        they run there, and the load case records them)."""
        found = self.untrusted_ops(model)
        if not found or self.sandbox != "none":
            return None
        return Cause("untrusted-op", "not run: %s%s; set `trust: true` for model %s in matrix.yaml to run it"
                     % (found[0].line(), " (and %d more)" % (len(found) - 1) if len(found) > 1 else "", model.id))

    def load(self, model: Model, api: str, device: devices.Device):
        """The model loaded through ``api``, once per worker; the cache holds only the current model."""
        self._enter(model)
        # A model whose signatures write state gets a fresh load per device: every cell then calls its
        # signatures in the same order from the same state, in every runtime.
        per_device = apis.loads_per_device(api, self.tf) or bool(self.variable_writes(model))
        key = (api, device.name if per_device else "")
        if key not in self._loaded:
            unavailable = self.op_library_cause(model)  # imported before any api reads the graph
            started = time.perf_counter()
            try:
                handle = self._handle(model)
                loaded = apis.open_model(
                    api, self.tf, self.hub, handle,
                    resolved_path=lambda: self.hub.resolve(handle) if is_url(handle) else handle,
                    tags=model.tags, signatures=list(model.signatures) or None, device=device,
                    clear_devices=model.clear_devices, listed=lambda: self.listed_signatures(model))
                self._loaded[key] = (loaded, None, time.perf_counter() - started, False)
            except apis.NotApplicable:
                raise
            except Exception as error:  # noqa: BLE001 - every load error is an outcome to record
                if raised_by_harness(error):
                    raise
                cause = self._imported_library_lacks_op(classify_exception(error), error)
                if unavailable is not None and cause.id in ("op-library-unavailable", "op-not-registered"):
                    cause = unavailable  # why the op is missing; an api's own refusal (api-absent) stays first
                self._loaded[key] = (None, _error_record("load", error, cause), time.perf_counter() - started,
                                     False)
            return self._loaded[key]
        loaded, error, seconds, _ = self._loaded[key]
        return loaded, error, seconds, True

    def _enter(self, model: Model) -> None:
        """Make ``model`` the current one: what the worker knows of another (its loads, closed; its findings,
        which hold output arrays; its graph facts and scan) is dropped, and collected between the two.
        Kept for every model, the findings alone grew an executor serving the zoo x10 (tf2.21, 50 models
        before its replacement) to a peak of 763 MB; 730 MB without them."""
        if model.id == self._current:
            return
        for loaded, _, _, _ in self._loaded.values():
            if loaded is not None:
                loaded.close()
        self._loaded, self._findings, self._graph_facts, self._untrusted, self._entry = {}, {}, {}, None, None
        if self._current is not None:
            self._collect_between_models()
        self._current = model.id

    def _collect_between_models(self) -> None:
        """After the first model its survivors (TensorFlow's lazy imports) are frozen (memory.freeze); later,
        a collection once the process has grown by COLLECT_GROWTH_MB since the last."""
        if not self._frozen_first_model:
            freeze()
            self._frozen_first_model = True
            self._collected_at_mb = rss_mb()
            return
        now = rss_mb()
        if now is not None and self._collected_at_mb is not None and now - self._collected_at_mb > COLLECT_GROWTH_MB:
            gc.collect()
            self._collected_at_mb = rss_mb()

    def probe_load(self, model: Model, api: str, device_name: str, record) -> Optional[Cause]:
        """Load and call; returns the cause of the first failure (None when all worked).

        ``record(**fields)`` stores what was seen, as it is seen. A model whose ops outside the allow list ran
        in the sandbox says so (``untrusted_ops``, ``sandbox``); if it then fails, its cause is
        ``sandbox-denied``, naming the first such op.
        """
        # An unreadable graph file runs in the sandbox too, but its failure is the load's own (corrupt-model).
        outside = [finding for finding in self.untrusted_ops(model) if finding.where != op_scan.UNREADABLE] \
            if self.sandbox != "none" else []
        if outside:
            record(untrusted_ops=[finding.line() for finding in outside], sandbox=self.sandbox)
        cause = self._probe_load(model, api, device_name, record)
        if outside and cause is not None:
            return Cause("sandbox-denied", "ran in the %s sandbox with %s%s: %s"
                         % (self.sandbox, outside[0].line(),
                            " (and %d more)" % (len(outside) - 1) if len(outside) > 1 else "", cause.diagnosis))
        return cause

    def _probe_load(self, model: Model, api: str, device_name: str, record) -> Optional[Cause]:
        device = self.devices[device_name]
        untrusted = self._untrusted_cause(model)
        if untrusted is not None:
            record(loaded=False, untrusted_ops=[finding.line() for finding in self.untrusted_ops(model)],
                   error={"stage": "scan", "type": "UntrustedOp", "message": untrusted.diagnosis,
                          "cause": untrusted.id, "diagnosis": untrusted.diagnosis})
            return untrusted
        loaded, load_error, load_seconds, cached = self.load(model, api, device)
        record(load_seconds=round(load_seconds, 6), load_cached=cached)
        if load_error is not None:
            record(loaded=False, error=load_error, **self._load_arguments(model))
            return Cause(load_error["cause"], load_error["diagnosis"])
        record(loaded=True, signatures_seen=loaded.signature_names(), handle=self._handle(model),
               tags=None if model.tags is None else list(model.tags), tags_from_files=model.tags_from_files,
               clear_devices=model.clear_devices)
        failures = []  # type: List[Tuple[str, Cause]]
        harness_bugs = []
        signatures = {}  # type: Dict[str, Any]
        for signature in model.signatures or loaded.signature_names():
            seen = signatures[signature] = {}  # type: Dict[str, Any]
            if self.variable_writes(model).get(signature):
                seen["writes_state"] = self.variable_writes(model)[signature][:20]
            stage = {"now": "describe"}
            try:
                description = self.describe(model, loaded, signature)
                seen["description"] = description
                fetch = model.fetch.get(signature) if self.runtime.mode == "graph" else None
                seen["fetched"] = list(fetch) if fetch else "all"
                cell_name = _cell_name(model, device_name, api, signature)
                inputs, feeds, outputs = self._first_call_that_runs(model, signature, description, loaded, device,
                                                                    fetch, seen, cell_name, record, stage)
                seen["outputs"] = {name: _summary(value) for name, value in sorted(outputs.items())}
                seen["outputs_file"] = record.save_outputs(cell_name, outputs)
                stage["now"] = "repeat"
                started = time.perf_counter()
                again = loaded.call(signature, feeds, device, fetch)
                seen["repeat_seconds"] = round(time.perf_counter() - started, 6)
                seen["repeat_differs"] = sorted(name for name in outputs
                                                if not identical(outputs[name], again.get(name)))
            except Exception as error:  # noqa: BLE001
                if raised_by_harness(error):  # ours: recorded, the other signatures still run
                    seen["harness_error"] = _error_record(stage["now"], error, Cause("harness-error", describe(error)))
                    harness_bugs.append("signature %s, %s: %s" % (signature, stage["now"], describe(error)))
                else:
                    cause = classify_exception(error)
                    seen["error"] = _error_record(stage["now"], error, cause)
                    failures.append((signature, cause))
            record(signatures=signatures)
        if harness_bugs:
            raise HarnessBug("; ".join(harness_bugs))
        if not failures:
            return None
        (signature, cause), others = failures[0], failures[1:]
        also = "; also failing: %s" % ", ".join("%s (%s)" % (s, c.id) for s, c in others) if others else ""
        return Cause(cause.id, "signature %s: %s%s" % (signature, cause.diagnosis, also))

    def probe_train(self, model: Model, api: str, device_name: str, variant: Optional[str] = None
                    ) -> Dict[str, Any]:
        """One fine-tuning step through ``api`` (see :mod:`conformance.runtime.training`); ``variant`` (Keras:
        ``signature``, ``frozen``) as in :data:`conformance.cases.TRAIN_VARIANTS`; cached per worker."""
        self._enter(model)
        findings = self._findings
        key = ("train", api, device_name, variant)
        if key not in findings:
            record = {}  # type: Dict[str, Any]
            try:
                self._train(model, api, self.devices[device_name], record, variant)
            except (_Skip, apis.NotApplicable) as reason:
                record["skip"] = str(reason)
            except NotFineTunable as limit:
                cause = Cause("fine-tune-unsupported", str(limit))
                record.update(error=_error_record("train", limit, cause), cause=cause.id)
            except Exception as error:  # noqa: BLE001 - a step that fails is a finding
                if raised_by_harness(error):
                    raise
                cause = classify_exception(error)
                record["error"] = _error_record("train", error, cause)
                record["cause"] = cause.id
            findings[key] = record
        return findings[key]

    def _train(self, model: Model, api: str, device: devices.Device, record: Dict[str, Any],
               variant: Optional[str] = None) -> None:
        from conformance.runtime import training

        loaded = self._loaded_or_skip(model, api, device)
        names = loaded.signature_names()
        signature = apis.CALL if apis.CALL in names else "default" if "default" in names else None
        if variant is not None:
            signature = self._named_signature(names, signature, variant)
        elif signature is None and api in ("hub.load", "saved_model"):  # a TF1 SavedModel's serving signature
            signature = self._named_signature(names, None, None)
        elif signature is None:
            raise _Skip("no __call__ or default signature to fine-tune through (the named ones are tried by "
                        "train[...-hub.KerasLayer-signature] and -frozen)")
        description = self.describe(model, loaded, signature)
        if any(info.get("kind", "dense") != "dense" for info in description["inputs"].values()):
            raise _Skip("the training check feeds dense inputs; %s takes composite ones" % signature)
        record.update(signature=signature, mode=self.runtime.mode)
        if self.variable_writes(model).get(signature):  # its calls move its state: losses are not comparable
            record["writes_state"] = self.variable_writes(model)[signature][:20]

        def agreed() -> Dict[str, np.ndarray]:  # made once the api has taken the model (its refusal comes first)
            inputs = self.agreed_inputs(model, signature, description)
            record.update(inputs_fingerprint=fingerprint(inputs))
            return inputs

        handle, tf, hub = self._handle(model), self.tf, self.hub
        kwargs = {} if model.tags is None else {"tags": list(model.tags)}
        eager = tf.executing_eagerly()
        if device.name == "xla" and not eager and device.how != "XLA_CPU device":
            raise _Skip("TF 2 in graph mode has no XLA_CPU device to place a training step on (a compiled "
                        "tf.function cannot hold an optimizer's graph step); XLA training is measured in the "
                        "eager runtimes")
        with devices.placement(tf, device)():
            if api == "hub.Module":
                result = training.hub_module(tf, hub, handle, model.tags, signature, description["inputs"], agreed,
                                             device)
            elif variant == "frozen":
                result = training.keras_frozen(tf, hub, handle, model.tags, signature, description, agreed, device)
            elif api == "hub.KerasLayer":
                result = training.keras_model(tf, hub, handle, model.tags, signature, description["inputs"], agreed,
                                              device)
            elif api == "hub.load" and not eager:
                result = training.graph_object(tf, lambda: hub.load(handle, **kwargs), signature,
                                               description["inputs"], agreed, device)
            elif eager:
                obj = hub.load(handle, **kwargs) if api == "hub.load" else tf.compat.v2.saved_model.load(
                    self.hub.resolve(handle) if is_url(handle) else handle, **kwargs)
                result = training.eager_object(tf, obj, signature,
                                               lambda: to_tensors(tf, agreed(), description["inputs"]), api, device)
            else:
                raise _Skip("the TF1 loader restores a serving graph; fine-tune through hub.Module (TF1 Hub "
                            "format) or hub.load (TF2 SavedModels)")
        arrays = result.pop("arrays")
        cell = _cell_name(model, device.name, api, "train" if variant is None else "train-" + variant)
        record.update(result, gradient_file=self.recorder.save_outputs(cell + ".gradient", arrays["gradient"])
                      if arrays["gradient"] else None,
                      after_file=self.recorder.save_outputs(cell + ".after", arrays["after"]))

    @staticmethod
    def _named_signature(names: List[str], base: Optional[str], variant: Optional[str]) -> str:
        """The named signature a step goes through: ``default`` (TF1 Hub format), else ``serving_default``,
        else the first by name."""
        named = sorted(n for n in names if n != apis.CALL)
        if not named:
            raise _Skip("the model has no __call__ and no signature to fine-tune through" if variant is None
                        else "the model has no named signature for hub.KerasLayer(signature=...)")
        signature = "default" if "default" in named else "serving_default" if "serving_default" in named \
            else named[0]
        if variant == "signature" and signature == base:
            raise _Skip("train[...-hub.KerasLayer] already fine-tunes through signature %s" % signature)
        return signature

    def cluster_fit(self, model: Model) -> Optional[str]:
        """Why the parameter-server case cannot call this model (it calls ``__call__(x[, training])`` with one
        float tensor), or None: asked here, where TensorFlow is up, before a cluster process starts."""
        try:
            loaded, error, _, _ = self.load(model, "hub.load", self.devices["cpu"])
        except apis.NotApplicable:
            return None
        if loaded is None:
            return "did not load through hub.load: %s" % error["diagnosis"]  # its load case says so
        if apis.CALL not in loaded.signature_names():
            return "the model has no __call__ (the cluster case trains through __call__(x[, training]))"
        try:
            inputs = loaded.describe(apis.CALL)["inputs"]
        except Exception as failure:  # noqa: BLE001 - the cluster case reports the model's own failures
            if raised_by_harness(failure):
                raise
            return None
        floats = [n for n, i in inputs.items() if i["kind"] == "dense" and i["dtype"].startswith(("float", "bfloat"))
                  and i["shape"]]
        if len(inputs) != 1 or len(floats) != 1:
            return ("the cluster case calls __call__(x[, training]) with one float tensor x; this model's __call__ "
                    "takes %s" % ", ".join("%s (%s %s)" % (n, i["kind"], i["dtype"]) for n, i in sorted(inputs.items())))
        return None

    # ------------------------------------------------------------------ eager-computes-all-outputs
    def _measure(self, compute) -> Dict[str, Any]:
        """Run ``compute`` once to warm up, then time it; record error, finiteness and the best time."""
        try:
            value = compute()
        except apis.NotApplicable as reason:
            return {"measured": False, "why": str(reason)}
        except Exception as error:  # noqa: BLE001 - a failing output is a finding
            if raised_by_harness(error):
                raise
            cause = classify_exception(error)
            return {"measured": True, "error": "%s: %s" % (cause.id, cause.diagnosis), "cause": cause.id}
        seconds = []
        for _ in range(TIMING_REPEATS):
            started = time.perf_counter()
            compute()
            seconds.append(time.perf_counter() - started)
        values = list(value.values()) if isinstance(value, dict) else [value]
        finite = all(bool(np.all(np.isfinite(v))) for v in values if v.dtype.kind == "f")
        return {"measured": True, "seconds": round(min(seconds), 6), "repeats": TIMING_REPEATS, "finite": finite,
                "value": value}

    def probe_semantics(self, model: Model, api: str, device_name: str, signature: str) -> Dict[str, Any]:
        """All outputs together and each output alone, with timings and op counts; cached per worker."""
        self._enter(model)
        findings = self._findings
        key = ("semantics", api, device_name, signature)
        if key not in findings:
            record = {"signature": signature, "mode": self.runtime.mode}  # type: Dict[str, Any]
            try:
                self._measure_semantics(model, api, self.devices[device_name], signature, record)
            except _Skip as reason:
                record["skip"] = str(reason)
            findings[key] = record
        return findings[key]

    def _measure_semantics(self, model: Model, api: str, device: devices.Device, signature: str,
                           record: Dict[str, Any]) -> None:
        loaded = self._loaded_or_skip(model, api, device)
        try:
            description = self.describe(model, loaded, signature)
        except Exception as error:  # noqa: BLE001
            if raised_by_harness(error):
                raise
            raise _Skip("signature %s not available: %s" % (signature, classify_exception(error).diagnosis))
        outputs = record["outputs"] = sorted(description["outputs"])
        if len(outputs) < 2:
            raise _Skip("signature %s has one output: nothing is computed unasked" % signature)
        inputs = self.agreed_inputs(model, signature, description)
        record["inputs_fingerprint"] = fingerprint(inputs)
        feeds = component_feeds(inputs, description["inputs"])
        everything = self._measure(lambda: loaded.call(signature, feeds, device, None))
        alone = {name: self._measure(lambda name=name: loaded.call_alone(signature, feeds, device, name))
                 for name in outputs}
        record["all"] = {k: v for k, v in everything.items() if k != "value"}
        record["alone"] = {name: {k: v for k, v in result.items() if k != "value"} for name, result in alone.items()}
        values = {name: result["value"] for name, result in alone.items() if "value" in result}
        if values:
            record["alone_file"] = self.recorder.save_outputs(
                _cell_name(model, device.name, api, signature) + ".alone", values)
        try:
            record["ops"] = loaded.op_counts(signature, device)
        except apis.NotApplicable as reason:
            record["ops_unavailable"] = str(reason)
        except Exception as error:  # noqa: BLE001 - a cost we cannot count is recorded, not fatal
            if raised_by_harness(error):
                raise
            record["ops_unavailable"] = classify_exception(error).diagnosis
        needed = list(model.fetch.get(signature) or [])
        try:
            prune = loaded.prune_names(signature, (needed or outputs)[0])
        except apis.NotApplicable:
            prune = None
        record["snippet"] = migration_snippet(model.handle, model.tags, signature, sorted(description["inputs"]),
                                              needed, prune)

    def probe_counter(self, model: Model, api: str, device_name: str, signature: str, calls: int = 2
                      ) -> Dict[str, Any]:
        """Counter before and after ``calls`` calls of ``signature`` that use only the fetched outputs."""
        if api == "hub.KerasLayer":
            return {"skip": "each hub.KerasLayer loads its own copy of the model: a layer for the counter "
                            "signature cannot see the variables another layer's calls change"}
        device = self.devices[device_name]
        try:
            loaded = self._loaded_or_skip(model, api, device)
        except _Skip as reason:
            return {"skip": str(reason)}
        fetch = list(model.fetch.get(signature) or [])
        try:
            description = self.describe(model, loaded, signature)
            inputs = component_feeds(self.agreed_inputs(model, signature, description), description["inputs"])

            def read():
                return float(np.asarray(loaded.call(model.counter, {}, device, None)["default"]))

            before = read()
            for _ in range(calls):
                loaded.call(signature, inputs, device, fetch or None)
            after = read()
        except Exception as error:  # noqa: BLE001
            if raised_by_harness(error):
                raise
            return {"skip": "could not measure the counter: %s" % classify_exception(error).diagnosis}
        return {"before": before, "after": after, "delta": after - before, "calls": calls, "used": fetch,
                "counter": model.counter}
