"""One worker's view of its runtime: TensorFlow brought up once, models loaded once per api, and the
loadability probe of a case (load, describe, call every declared signature on the agreed inputs)."""
from __future__ import annotations

import time
import traceback
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from conformance.causes import Cause, classify_exception
from conformance.handles import expand, is_url, loadable
from conformance.inputs import fingerprint, make_inputs
from conformance.matrix import Model, Runtime
from conformance.runtime import apis, devices, tfmode


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


def _identical(first: np.ndarray, second: Optional[np.ndarray]) -> bool:
    """Bitwise agreement of two calls (NaN equal to NaN): the self-consistency check."""
    if second is None or first.shape != second.shape or first.dtype != second.dtype:
        return False
    if first.dtype == object:
        return [bytes(v) for v in first.reshape(-1)] == [bytes(v) for v in second.reshape(-1)]
    return first.tobytes() == second.tobytes()


class RuntimeSession(object):
    """TensorFlow, tensorflow_hub and the devices of this process, set up once per worker."""

    def __init__(self, runtime: Runtime, places: Mapping[str, str]):
        self.runtime = runtime
        self.tf = tfmode.activate(runtime.mode)
        self.hub = tfmode.import_hub()
        self.places = dict(places)
        self.devices = devices.probe(self.tf)
        self._loaded = {}  # type: Dict[Tuple[str, str, str], Tuple[Optional[apis.Loaded], Optional[Dict], float, bool]]

    def mismatches(self):
        return tfmode.mismatches(self.runtime, self.tf, self.hub)

    def run_info(self) -> Dict[str, Any]:
        return tfmode.run_info(self.runtime, self.tf, self.hub,
                               {name: device.as_dict() for name, device in self.devices.items()})

    def encode_example(self, values: Mapping[str, np.ndarray]) -> bytes:
        train = self.tf.train
        features = {}
        for name, value in values.items():
            flat = value.reshape(-1)
            if value.dtype == object:
                features[name] = train.Feature(bytes_list=train.BytesList(value=[bytes(v) for v in flat]))
            elif value.dtype.kind == "f":
                features[name] = train.Feature(float_list=train.FloatList(value=[float(v) for v in flat]))
            else:
                features[name] = train.Feature(int64_list=train.Int64List(value=[int(v) for v in flat]))
        example = train.Example(features=train.Features(feature=features))
        return example.SerializeToString(deterministic=True)

    def _handle(self, model: Model) -> str:
        return loadable(expand(model.handle, self.places, model.id))

    def load(self, model: Model, api: str, device: devices.Device):
        """The model loaded through ``api``, once per worker; the cache holds only the current model."""
        key = (model.id, api, device.name if apis.loads_per_device(api, self.tf) else "")
        if key not in self._loaded:
            for old in [k for k in self._loaded if k[0] != model.id]:
                loaded = self._loaded.pop(old)[0]
                if loaded is not None:
                    loaded.close()
            started = time.perf_counter()
            try:
                handle = self._handle(model)
                loaded = apis.open_model(
                    api, self.tf, self.hub, handle,
                    resolved_path=lambda: self.hub.resolve(handle) if is_url(handle) else handle,
                    tags=model.tags, signatures=list(model.signatures) or None, device=device)
                self._loaded[key] = (loaded, None, time.perf_counter() - started, False)
            except apis.NotApplicable:
                raise
            except Exception as error:  # noqa: BLE001 - every load error is an outcome to record
                cause = classify_exception(error)
                self._loaded[key] = (None, _error_record("load", error, cause), time.perf_counter() - started,
                                     False)
            return self._loaded[key]
        loaded, error, seconds, _ = self._loaded[key]
        return loaded, error, seconds, True

    def probe_load(self, model: Model, api: str, device_name: str, record) -> Optional[Cause]:
        """Load and call; returns the cause of the first failure (None when all worked).

        ``record(**fields)`` stores what was seen, as it is seen.
        """
        device = self.devices[device_name]
        loaded, load_error, load_seconds, cached = self.load(model, api, device)
        record(load_seconds=round(load_seconds, 6), load_cached=cached)
        if load_error is not None:
            record(loaded=False, error=load_error)
            return Cause(load_error["cause"], load_error["diagnosis"])
        record(loaded=True, signatures_seen=loaded.signature_names())
        first_failure = None  # type: Optional[Cause]
        signatures = {}  # type: Dict[str, Any]
        for signature in model.signatures or loaded.signature_names():
            seen = signatures[signature] = {}  # type: Dict[str, Any]
            stage = "describe"
            try:
                description = loaded.describe(signature)
                seen["description"] = description
                stage = "inputs"
                # A planted-change twin is fed its twin's inputs, so their outputs are comparable.
                inputs = make_inputs(model.twin or model.id, signature, description["inputs"],
                                     model.inputs.get(signature), model.batch, self.encode_example)
                seen["inputs_fingerprint"] = fingerprint(inputs)
                fetch = model.fetch.get(signature) if self.runtime.mode == "graph" else None
                seen["fetched"] = list(fetch) if fetch else "all"
                cell_name = "%s-%s-%s-%s" % (model.id, device_name, api.replace(".", "_"), signature.strip("_"))
                seen["inputs_file"] = record.save_outputs(cell_name + ".inputs", inputs)
                stage = "call"
                started = time.perf_counter()
                outputs = loaded.call(signature, inputs, device, fetch)
                seen["call_seconds"] = round(time.perf_counter() - started, 6)
                seen["outputs"] = {name: _summary(value) for name, value in sorted(outputs.items())}
                seen["outputs_file"] = record.save_outputs(cell_name, outputs)
                stage = "repeat"
                started = time.perf_counter()
                again = loaded.call(signature, inputs, device, fetch)
                seen["repeat_seconds"] = round(time.perf_counter() - started, 6)
                seen["repeat_differs"] = sorted(name for name in outputs
                                                if not _identical(outputs[name], again.get(name)))
            except Exception as error:  # noqa: BLE001
                cause = classify_exception(error)
                seen["error"] = _error_record(stage, error, cause)
                first_failure = first_failure or Cause(cause.id, "signature %s: %s" % (signature, cause.diagnosis))
            record(signatures=signatures)
        return first_failure
