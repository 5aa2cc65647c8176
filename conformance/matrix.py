"""matrix.yaml: loading, validation and the objects the rest of the framework uses."""
from __future__ import annotations

import dataclasses
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from packaging.version import Version

from conformance import op_libraries, schema
from conformance.expectations import Expectation, load_expectations
from conformance.handles import is_url
from conformance.validation import check
from conformance.versions import overrides
from conformance.yaml_source import Located, SourceError, kind_of, listed, load, shown, where

DEFAULT_MATRIX = "matrix.yaml"
ZOO_EXPECTATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo", "expectations.yaml")


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
    op_libraries: Tuple[str, ...] = ()  # not from YAML: builds of the op libraries its models require

    @property
    def requirements(self) -> List[str]:
        return [self.tensorflow, self.tensorflow_hub] + list(self.extras) + list(self.op_libraries)

    @property
    def overrides(self) -> List[str]:
        """The uv overrides its env installs with: one TensorFlow (and one tf-keras, one Keras) per env,
        whatever tensorflow-hub and tf-keras require (versions.overrides)."""
        return overrides(self.requirements)

    @property
    def tensorflow_version(self) -> Optional[str]:
        """The pinned version, or None when the requirement is not pinned (e.g. tf-nightly)."""
        return pinned_version(self.tensorflow)

    @property
    def tensorflow_hub_version(self) -> Optional[str]:
        return pinned_version(self.tensorflow_hub)

    @property
    def keras(self) -> str:
        """The Keras that ``tf.keras`` is in this runtime: "2" (TF < 2.16, or tf-keras with
        TF_USE_LEGACY_KERAS=1), else "3" (Keras 3, TF >= 2.16's default)."""
        version = self.tensorflow_version
        if version is not None and Version(version) < Version("2.16"):
            return "2"
        legacy = any(extra.replace("_", "-").startswith("tf-keras") for extra in self.extras)
        return "2" if legacy and dict(self.env).get("TF_USE_LEGACY_KERAS") == "1" else "3"

    @property
    def lists_xla_device(self) -> bool:
        """Whether TensorFlow lists an ``XLA_CPU`` device here: TF 1.x only (TF 2 compiles through
        tf.function); an unpinned TensorFlow counts as 2.x."""
        version = self.tensorflow_version
        return version is not None and Version(version) < Version("2")

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
    timeout: Optional[float] = None  # seconds of TensorFlow work one case may take (default: the matrix's)
    trust: bool = False  # let the model run even if its graph has file, network or process ops
    clear_devices: bool = False  # load TF1 graphs with clear_devices (drop the device pins they were saved with)
    requires: Tuple[str, ...] = ()  # op libraries (op_libraries.NAMES) imported before it loads
    tags_from_files: bool = False  # not from YAML: the entry gave no tags; these are its files' default variant
    detected_signatures: Tuple[str, ...] = ()  # not from YAML: signatures with several outputs, read from its files
    single_output_signatures: Tuple[str, ...] = ()  # not from YAML: signatures with one output in every graph variant


@dataclass
class Matrix:
    path: str
    runtimes: List[Runtime]
    models: List[Model]
    devices: List[str]
    apis: List[str]
    expectations: List[Expectation]
    overhead_threshold: float = 5.0
    case_timeout: float = schema.DEFAULT_CASE_TIMEOUT  # hard wall-clock limit of one case's TensorFlow work
    models_per_job: int = 100  # the nightly workflow's shard size: one CI job runs at most this many models
    reuse: bool = True  # runtime cases whose every input is unchanged reuse a stored observation (--fresh: not)
    full_run_weekday: str = "sunday"  # the nightly workflow's weekly run that reuses nothing

    def threshold_of(self, model: Model) -> float:
        return model.overhead_threshold or self.overhead_threshold

    def timeout_of(self, model: Model) -> float:
        """Seconds the TensorFlow work of one case of ``model`` may take before it is killed."""
        return float(model.timeout or self.case_timeout)

    def runtime(self, runtime_id: str) -> Runtime:
        for runtime in self.runtimes:
            if runtime.id == runtime_id:
                return runtime
        raise SourceError("%s: no runtime %s (declared: %s)"
                          % (self.path, shown(runtime_id), listed([r.id for r in self.runtimes])))

    def model(self, model_id: str) -> Model:
        for model in self.models:
            if model.id == model_id:
                return model
        raise SourceError("%s: no model %s (declared: %s)"
                          % (self.path, shown(model_id), listed([m.id for m in self.models])))

    def devices_of(self, model: Model, runtime: Runtime) -> List[str]:
        return [d for d in self.devices
                if (not model.devices or d in model.devices) and (not runtime.devices or d in runtime.devices)]

    def apis_of(self, model: Model) -> List[str]:
        return [a for a in self.apis if not model.apis or a in model.apis]

    def runs_on(self, model: Model, runtime: Runtime) -> bool:
        return not model.runtimes or runtime.id in model.runtimes


@functools.lru_cache(maxsize=256)
def pinned_version(requirement: str) -> Optional[str]:
    match = re.search(r"==\s*([A-Za-z0-9.+!-]+)\s*$", requirement)
    return match.group(1) if match else None


# An env-name factor tox reads as the Python to use (py37, pypy3, 3.11): it would clash with `python`.
_TOX_PYTHON_FACTOR = re.compile(r"^(?:(?!py$)(?:py|pypy|cpython|jython|graalpy|rustpython|ironpython)"
                                r"(?:[2-9]\.?[0-9]?[0-9]?t?d?)?|[23]\.[0-9]+t?d?)$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")


def _tuple(value: Any) -> Tuple[str, ...]:
    return tuple(value or ())


def _check_unique(items: List[Located], kind: str) -> None:
    seen = {}  # type: Dict[str, Located]
    for item in items:
        if item["id"] in seen:
            raise SourceError("%s: %s id %s is declared twice (first at line %d)"
                              % (where(item, "id"), kind, shown(item["id"]), seen[item["id"]].line_of("id")))
        seen[item["id"]] = item


def _check_refs(node: Located, key: str, allowed: List[str], what: str) -> None:
    values = node.get(key)
    for value in ([values] if isinstance(values, str) else values or []):
        if value not in allowed:
            raise SourceError("%s: %s %s is not declared (declared %ss: %s)"
                              % (where(node, key), key, shown(value), what, listed(allowed)))


def _check_tox_names(runtime: Located) -> None:
    """A runtime is a tox env: its id must not be one of tox.ini's own envs or name a Python."""
    if runtime["id"] in schema.TOX_ENVS:
        raise SourceError("%s: id: %r is one of tox.ini's own envs (not allowed: %s)"
                          % (where(runtime, "id"), runtime["id"], ", ".join(schema.TOX_ENVS)))
    for factor in runtime["id"].split("-"):
        if _TOX_PYTHON_FACTOR.match(factor):
            raise SourceError("%s: id: %s has the part %r, which tox reads as a Python version (allowed: parts "
                              "such as tf2.15 or graph; the Python is `python`)"
                              % (where(runtime, "id"), shown(runtime["id"]), factor))
    for index, label in enumerate(runtime.get("labels") or ()):
        if label in schema.TOX_LABELS:
            raise SourceError("%s: labels[%d]: %r is one of tox.ini's own labels (not allowed: %s)"
                              % (where(runtime["labels"], index), index, label, ", ".join(schema.TOX_LABELS)))


def _check_meaning(document: Located) -> None:
    runtimes, models = document["runtimes"], document["models"]
    _check_unique(runtimes, "runtime")
    _check_unique(models, "model")
    runtime_ids = [r["id"] for r in runtimes]
    devices = document.get("devices") or list(schema.DEVICES)
    apis = document.get("apis") or list(schema.APIS)
    for runtime in runtimes:
        _check_tox_names(runtime)
        _check_refs(runtime, "devices", devices, "device")
    model_ids = [m["id"] for m in models]
    for model in models:
        _check_refs(model, "reference", runtime_ids, "runtime")
        _check_refs(model, "twin", model_ids, "model")
        if model.get("counter") and model.get("signatures") and model["counter"] in model["signatures"]:
            raise SourceError("%s: counter %s of model %r must not be one of its tested `signatures`"
                              % (where(model, "counter"), shown(model["counter"]), model["id"]))
        _check_refs(model, "runtimes", runtime_ids, "runtime")
        _check_refs(model, "devices", devices, "device")
        _check_refs(model, "apis", apis, "api")
        declared = model.get("signatures")
        for key in ("inputs", "fetch"):
            section = model.get(key) or {}
            for signature in section if declared else ():
                if signature not in declared:
                    raise SourceError("%s: %s: signature %s of model %r is not in its `signatures` (%s)"
                                      % (where(section, signature), key, shown(signature), model["id"],
                                         listed(declared)))
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


def _local_file_problem(path: str, base: str) -> Optional[str]:
    """Why ``path`` (relative to ``base``) is not a model directory or archive, or None."""
    full = os.path.join(base, path)
    if os.path.isdir(full):
        return None
    if os.path.isfile(full):
        return None if full.endswith(ARCHIVE_SUFFIXES) else "is a file but not a .tar.gz or .tgz archive"
    return "does not exist"


def _check_local_files(document: Located, base: str) -> None:
    """Local handles and npz inputs must exist (``{zoo}`` handles are exempt: the zoo may not be built)."""
    for model in document["models"]:
        handle = model["handle"]
        if not is_url(handle) and "{" not in handle:
            problem = _local_file_problem(handle, base)
            if problem:
                raise SourceError("%s: handle: %s %s (allowed: a directory or a .tar.gz or .tgz file, relative "
                                  "to the matrix file's directory, or an http(s):// or gs:// URL)"
                                  % (where(model, "handle"), shown(handle), problem))
        for signature_inputs in (model.get("inputs") or {}).values():
            for spec in signature_inputs.values():
                if "npz" in spec and not os.path.isfile(os.path.join(base, spec["npz"])):
                    raise SourceError("%s: npz: %s does not exist (allowed: an .npz file, relative to the "
                                      "matrix file's directory)" % (where(spec, "npz"), shown(spec["npz"])))


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
                 overhead_threshold=node.get("overhead_threshold"), timeout=node.get("timeout"),
                 trust=node.get("trust", False), clear_devices=node.get("clear_devices", False),
                 requires=_tuple(node.get("requires")))


def _with_op_libraries(runtime: Runtime, models: List[Model]) -> Runtime:
    """The runtime with the builds of the op libraries that its models require (a library with no build for
    its TensorFlow adds nothing: those models' cells say op-library-unavailable)."""
    wanted = sorted({name for model in models if not model.runtimes or runtime.id in model.runtimes
                     for name in model.requires})
    builds = [op_libraries.by_name(name).build_for(runtime.tensorflow_version) for name in wanted]
    return dataclasses.replace(runtime, op_libraries=tuple(build for build in builds if build))


def _anchored(model: Model, base: str) -> Model:
    """A model whose relative local paths (its handle, its npz inputs) are made absolute from ``base``."""
    def absolute(path: str) -> str:
        if is_url(path) or path.startswith("{") or os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(base, path))

    for specs in model.inputs.values():
        for spec in specs.values():
            if "npz" in spec:
                spec["npz"] = absolute(spec["npz"])  # its line stays known (a Located mapping)
    return dataclasses.replace(model, handle=absolute(model.handle))


def load_matrix(path: str = DEFAULT_MATRIX, check_files: bool = False) -> Matrix:
    """Load and validate ``path`` and the expectation files it names; raise :class:`SourceError`.

    ``check_files`` also requires local handles and npz inputs to exist; the runtimes find out otherwise, as
    an unresolvable handle. Relative paths are relative to the matrix file's directory, wherever the run starts:
    the models hold them absolute.
    """
    document = load(path)
    if not isinstance(document, Located):
        raise SourceError("%s:1: (top level): expected a mapping with `runtimes` and `models`, got %s"
                          % (path, kind_of(document)))
    check(document, schema.MATRIX, "matrix")
    _check_meaning(document)
    base = os.path.dirname(os.path.abspath(path))
    if check_files:
        _check_local_files(document, base)
    models = [_anchored(_model(m), base) for m in document["models"]]
    runtimes = [_with_op_libraries(_runtime(r), models) for r in document["runtimes"]]
    names = document.get("expectations") or []
    expectation_files = [names] if isinstance(names, str) else list(names)
    expectations = []  # type: List[Expectation]
    if any("{zoo" in model.handle for model in models):  # first: the matrix's own files override the zoo's
        expectations.extend(load_expectations(ZOO_EXPECTATIONS, runtimes, models, about_the_zoo=True))
    for name in expectation_files:
        expectations.extend(load_expectations(os.path.join(base, name), runtimes, models))
    return Matrix(path=path, runtimes=runtimes, models=models,
                  devices=list(document.get("devices") or schema.DEVICES),
                  apis=list(document.get("apis") or schema.APIS), expectations=expectations,
                  overhead_threshold=float(document.get("overhead_threshold", 5.0)),
                  case_timeout=float(document.get("case_timeout", schema.DEFAULT_CASE_TIMEOUT)),
                  models_per_job=int(document.get("models_per_job", 100)), reuse=bool(document.get("reuse", True)),
                  full_run_weekday=document.get("full_run_weekday", "sunday"))
