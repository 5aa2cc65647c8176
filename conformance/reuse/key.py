"""What decides a runtime case's observation, as one digest (the case's reuse key).

Everything that can change what a case records is in it, and nothing that only changes how it is judged
(expectations are settled after, every run):

- the framework: every file of ``conformance/`` and the case files (``cases/*.py``);
- the runtime's env: every installed distribution and its version, the Python, the machine;
- the runtime's entry in matrix.yaml and the matrix's settings (not the other models or runtimes);
- the model: its files' digest (a directory, an archive; a URL's files as the TF Hub cache holds them), the
  npz files its inputs name, and its entry with what was read from its files (format, tags, signatures);
- the case: its check, device, api and signature or variant (its id), and the environment variables that
  reach TensorFlow or the framework (``TF_*``, ``XLA_*``, ``CONFORMANCE_*`` but those naming this run).

A model whose files cannot be read (a URL not fetched yet, a missing path) has no key: its cases run.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import sys
from typing import Any, Dict, Iterable, Mapping, Optional

from conformance.handles import HandleError, expand, hub_cache_entry, hub_cache_has, is_url
from conformance.report.model_digest import file_digest

KEY_VERSION = 1
# Variables that say where or which run this is, not what a case sees.
_RUN_ONLY_VARIABLES = ("CONFORMANCE_RUN_ID", "CONFORMANCE_ZOO_URL", "CONFORMANCE_ZOO_DIR", "CONFORMANCE_PARALLEL_ENVS",
                       "CONFORMANCE_FRESH", "CONFORMANCE_REUSE", "CONFORMANCE_REUSE_DIR", "CONFORMANCE_REUSE_MAX_MB",
                       "CONFORMANCE_SKIP_MISSING_INTERPRETERS", "TF_CPP_MIN_LOG_LEVEL")
_VARIABLE_PREFIXES = ("TF_", "XLA_", "CONFORMANCE_", "CUDA_VISIBLE_DEVICES", "OMP_", "PYTHONHASHSEED")
_FRAMEWORK_SUFFIXES = (".py", ".yaml", ".json", ".txt", ".html", ".css", ".js")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def framework_digest(roots: Iterable[str]) -> str:
    """sha256 of every source and data file under ``roots`` (the framework package and the case files)."""
    digest = hashlib.sha256()
    for root in roots:
        for folder, folders, names in os.walk(root):
            folders[:] = sorted(f for f in folders if f != "__pycache__")
            for name in sorted(names):
                if not name.endswith(_FRAMEWORK_SUFFIXES):
                    continue
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, os.path.dirname(root)).encode("utf-8") + b"\0")
                with open(path, "rb") as stream:
                    digest.update(stream.read())
    return digest.hexdigest()


def installed_distributions() -> Dict[str, str]:
    """Every distribution installed where this interpreter imports from, and its version: read from the
    names of the ``*.dist-info`` / ``*.egg-info`` folders on ``sys.path`` (``name-version.dist-info``), not from
    their METADATA files (parsing ~100 of them took 0.2 s of every runtime process)."""
    found = {}  # type: Dict[str, str]
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if kind not in ("dist-info", "egg-info") or "-" not in stem:
                continue
            distribution, _, version = stem.partition("-")
            found.setdefault(distribution.lower().replace("_", "-"), version.split("-")[0])
    return found


def relevant_environment(environ: Mapping[str, str]) -> Dict[str, str]:
    return {name: value for name, value in environ.items()
            if name.startswith(_VARIABLE_PREFIXES) and name not in _RUN_ONLY_VARIABLES}


def model_files_digest(model: Any, places: Mapping[str, str]) -> Optional[str]:
    """The digest of the files a model is loaded from (a relative path is the runtime's: from the working
    directory), or None where they cannot be read here."""
    try:
        handle = expand(model.handle, dict(places, zoo_url=places.get("zoo", "")), model.id)
    except HandleError:
        return None
    if is_url(handle):
        return file_digest(hub_cache_entry(handle)) if hub_cache_has(handle) else None
    return file_digest(os.path.abspath(handle))


class CaseKeys(object):
    """The keys of one runtime's cases in this process (the parts shared by all its cases computed once)."""

    def __init__(self, matrix: Any, runtime: Any, places: Mapping[str, str], framework_roots: Iterable[str],
                 environ: Optional[Mapping[str, str]] = None, sandbox: str = "",
                 distributions: Optional[Mapping[str, str]] = None):
        self.places = dict(places)
        settings = {f.name: getattr(matrix, f.name) for f in dataclasses.fields(matrix)
                    if f.name not in ("path", "runtimes", "models", "expectations", "models_per_job", "reuse",
                                                                                "full_run_weekday")}
        self.runtime_part = _digest({
            "version": KEY_VERSION, "framework": framework_digest(framework_roots),
            "distributions": installed_distributions() if distributions is None else dict(distributions), "python": sys.version, "machine": platform.machine(),
            "platform": platform.platform(), "runtime": dataclasses.asdict(runtime), "settings": settings,
            "environment": relevant_environment(os.environ if environ is None else environ), "sandbox": sandbox})
        self._models = {}  # type: Dict[str, Optional[str]]

    def runtime_key(self) -> str:
        """The key of what a runtime's env is (its devices and run_info), whatever the models."""
        return "runtime-" + self.runtime_part

    def model_part(self, model: Any) -> Optional[str]:
        if model.id not in self._models:
            files = model_files_digest(model, self.places)
            inputs = {spec["npz"]: file_digest(spec["npz"]) for specs in model.inputs.values()
                      for spec in specs.values() if "npz" in spec}
            self._models[model.id] = None if files is None else _digest(
                {"files": files, "inputs": inputs, "entry": dataclasses.asdict(model)})
        return self._models[model.id]

    def of(self, case: Any, model: Any) -> Optional[str]:
        """The case's key, or None when its model's files cannot be read (it is then always run)."""
        part = self.model_part(model)
        if part is None:
            return None
        return _digest({"runtime": self.runtime_part, "model": part, "case": case.id, "device": case.device})
