"""matrix.yaml: loading, validation and the objects the rest of the framework uses."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from conformance import schema
from conformance.expectations import Expectation, load_expectations
from conformance.validation import check
from conformance.yaml_source import Located, SourceError, load, where

DEFAULT_MATRIX = "matrix.yaml"


@dataclass(frozen=True)
class Runtime:
    id: str
    python: str
    tensorflow: str  # a requirement, e.g. "tensorflow-cpu==2.21.0"
    tensorflow_hub: str
    mode: str
    extras: Tuple[str, ...] = ()
    env: Tuple[Tuple[str, str], ...] = ()
    labels: Tuple[str, ...] = ()
    devices: Tuple[str, ...] = ()

    @property
    def requirements(self) -> List[str]:
        return [self.tensorflow, self.tensorflow_hub] + list(self.extras)

    @property
    def tensorflow_version(self) -> Optional[str]:
        """The pinned version, or None when the requirement is not pinned (e.g. tf-nightly)."""
        return pinned_version(self.tensorflow)

    @property
    def tensorflow_hub_version(self) -> Optional[str]:
        return pinned_version(self.tensorflow_hub)

    @property
    def is_default(self) -> bool:
        return "default" in self.labels


@dataclass(frozen=True)
class Model:
    id: str
    handle: str
    format: Optional[str] = None
    tags: Optional[Tuple[str, ...]] = None
    signatures: Tuple[str, ...] = ()
    inputs: Dict[str, Dict[str, Dict[str, Any]]] = field(default_factory=dict, hash=False, compare=False)
    fetch: Dict[str, Tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)
    reference: Optional[str] = None
    runtimes: Tuple[str, ...] = ()
    devices: Tuple[str, ...] = ()
    apis: Tuple[str, ...] = ()
    batch: int = 2
    tolerances: Dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    twin: Optional[str] = None  # compare with this model's reference instead (a planted-change variant)
    counter: Optional[str] = None  # a signature reading state that other signatures change (semantics proof)
    overhead_threshold: Optional[float] = None


@dataclass
class Matrix:
    path: str
    runtimes: List[Runtime]
    models: List[Model]
    devices: List[str]
    apis: List[str]
    expectations: List[Expectation]
    overhead_threshold: float = 5.0

    def threshold_of(self, model: Model) -> float:
        return model.overhead_threshold or self.overhead_threshold

    def runtime(self, runtime_id: str) -> Runtime:
        for runtime in self.runtimes:
            if runtime.id == runtime_id:
                return runtime
        raise SourceError("%s: no runtime %r (declared: %s)"
                          % (self.path, runtime_id, ", ".join(r.id for r in self.runtimes)))

    def model(self, model_id: str) -> Model:
        for model in self.models:
            if model.id == model_id:
                return model
        raise SourceError("%s: no model %r (declared: %s)"
                          % (self.path, model_id, ", ".join(m.id for m in self.models)))

    def devices_of(self, model: Model, runtime: Runtime) -> List[str]:
        return [d for d in self.devices
                if (not model.devices or d in model.devices) and (not runtime.devices or d in runtime.devices)]

    def apis_of(self, model: Model) -> List[str]:
        return [a for a in self.apis if not model.apis or a in model.apis]

    def runs_on(self, model: Model, runtime: Runtime) -> bool:
        return not model.runtimes or runtime.id in model.runtimes


def pinned_version(requirement: str) -> Optional[str]:
    match = re.search(r"==\s*([A-Za-z0-9.+!-]+)\s*$", requirement)
    return match.group(1) if match else None


def _tuple(value: Any) -> Tuple[str, ...]:
    return tuple(value or ())


def _check_unique(items: List[Located], kind: str) -> None:
    seen = {}  # type: Dict[str, Located]
    for item in items:
        if item["id"] in seen:
            raise SourceError("%s: %s id %r is declared twice (first at line %d)"
                              % (where(item, "id"), kind, item["id"], seen[item["id"]].line_of("id")))
        seen[item["id"]] = item


def _check_refs(node: Located, key: str, allowed: List[str], what: str) -> None:
    values = node.get(key)
    for value in ([values] if isinstance(values, str) else values or []):
        if value not in allowed:
            raise SourceError("%s: %s %r is not declared (declared %ss: %s)"
                              % (where(node, key), key, value, what, ", ".join(allowed)))


def _check_meaning(document: Located) -> None:
    runtimes, models = document["runtimes"], document["models"]
    _check_unique(runtimes, "runtime")
    _check_unique(models, "model")
    runtime_ids = [r["id"] for r in runtimes]
    devices = document.get("devices") or list(schema.DEVICES)
    apis = document.get("apis") or list(schema.APIS)
    for runtime in runtimes:
        _check_refs(runtime, "devices", devices, "device")
    model_ids = [m["id"] for m in models]
    for model in models:
        _check_refs(model, "reference", runtime_ids, "runtime")
        _check_refs(model, "twin", model_ids, "model")
        if model.get("counter") and model.get("signatures") and model["counter"] in model["signatures"]:
            raise SourceError("%s: counter %r of model %r must not be one of its tested `signatures`"
                              % (where(model, "counter"), model["counter"], model["id"]))
        _check_refs(model, "runtimes", runtime_ids, "runtime")
        _check_refs(model, "devices", devices, "device")
        _check_refs(model, "apis", apis, "api")
        declared = model.get("signatures")
        for key in ("inputs", "fetch"):
            section = model.get(key) or {}
            for signature in section if declared else ():
                if signature not in declared:
                    raise SourceError("%s: %s: signature %r of model %r is not in its `signatures` (%s)"
                                      % (where(section, signature), key, signature, model["id"],
                                         ", ".join(declared)))
    for runtime in runtimes:
        if not any(not m.get("runtimes") or runtime["id"] in m["runtimes"] for m in models):
            raise SourceError("%s: runtime %r is used by no model (each model's `runtimes` leaves it out)"
                              % (where(runtime, "id"), runtime["id"]))
    for device in devices:
        usable = any((not m.get("devices") or device in m["devices"]) for m in models) and any(
            (not r.get("devices") or device in r["devices"]) for r in runtimes)
        if not usable:
            raise SourceError("%s: device %r is used by no model or no runtime (their `devices` leave it out)"
                              % (where(document, "devices"), device))


def _runtime(node: Located) -> Runtime:
    return Runtime(id=node["id"], python=node["python"], tensorflow=node["tensorflow"],
                   tensorflow_hub=node["tensorflow_hub"], mode=node["mode"], extras=_tuple(node.get("extras")),
                   env=tuple(sorted((node.get("env") or {}).items())), labels=_tuple(node.get("labels")),
                   devices=_tuple(node.get("devices")))


def _model(node: Located) -> Model:
    return Model(id=node["id"], handle=node["handle"], format=node.get("format"),
                 tags=None if node.get("tags") is None else _tuple(node.get("tags")),
                 signatures=_tuple(node.get("signatures")), inputs=dict(node.get("inputs") or {}),
                 fetch={k: tuple(v) for k, v in (node.get("fetch") or {}).items()},
                 reference=node.get("reference"), runtimes=_tuple(node.get("runtimes")),
                 devices=_tuple(node.get("devices")), apis=_tuple(node.get("apis")), batch=node.get("batch", 2),
                 tolerances=dict(node.get("tolerances") or {}), twin=node.get("twin"), counter=node.get("counter"),
                 overhead_threshold=node.get("overhead_threshold"))


def load_matrix(path: str = DEFAULT_MATRIX) -> Matrix:
    """Load and validate ``path`` and the expectation files it names; raise :class:`SourceError`."""
    document = load(path)
    if not isinstance(document, Located):
        raise SourceError("%s:1: expected a mapping with `runtimes` and `models`, got %s"
                          % (path, type(document).__name__))
    check(document, schema.MATRIX, "matrix")
    _check_meaning(document)
    runtimes = [_runtime(r) for r in document["runtimes"]]
    models = [_model(m) for m in document["models"]]
    names = document.get("expectations") or []
    expectation_files = [names] if isinstance(names, str) else list(names)
    base = os.path.dirname(os.path.abspath(path))
    expectations = []  # type: List[Expectation]
    for name in expectation_files:
        expectations.extend(load_expectations(os.path.join(base, name), runtimes, models))
    return Matrix(path=path, runtimes=runtimes, models=models,
                  devices=list(document.get("devices") or schema.DEVICES),
                  apis=list(document.get("apis") or schema.APIS), expectations=expectations,
                  overhead_threshold=float(document.get("overhead_threshold", 5.0)))
