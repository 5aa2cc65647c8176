"""Versions of installed distributions, read from metadata without importing them (TF import is costly);
which distributions write the same top-level package; and the uv overrides that keep a runtime's own
requirements (tensorflow-hub → tf-keras → tensorflow) from installing a second TensorFlow."""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

try:  # Python >= 3.8
    from importlib import metadata as _metadata
except ImportError:  # Python 3.7: the backport
    import importlib_metadata as _metadata  # type: ignore

# Distributions that each install the same top-level package under another name: an env holding two of one
# family has two copies of one package written over each other (which files won depends on install order).
# A runtime declares one member of a family; the others are overridden away (see `overrides`).
FAMILIES = (
    # Not the platform wheels that tensorflow itself requires on Windows and macOS (tensorflow-intel...):
    # removing those would break the install there. The runtime check (`duplicates`) covers every name.
    ("tensorflow", ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly", "tf-nightly-cpu",
                    "tf-nightly-gpu")),
    ("tf_keras", ("tf-keras", "tf-keras-nightly")),
    ("keras", ("keras", "keras-nightly")),
)  # type: Tuple[Tuple[str, Tuple[str, ...]], ...]

# A requirement marker that is never true: uv drops a dependency overridden with it (the documented way of
# removing a transitive dependency with overrides).
NEVER = 'python_version < "0"'

# The distributions run_info records: TensorFlow, its Keras, hub, and the packages they come with.
_FAMILY_NAME = re.compile(r"^(tensorflow|tf-|tf_|tb-nightly|keras|tensorboard|tensorflow-hub)", re.I)

# `pkg/__init__.py,` (a regular package: `pkg/`) or `mod.py,` (a top-level module) starting a RECORD line.
_RECORD_TOP = re.compile(r'^"?([A-Za-z_][A-Za-z0-9_]*(?:/(?=__init__\.py)|\.py))', re.M)


def _requirement_name(requirement: str) -> Optional[str]:
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return None


def installed_version(requirement: str) -> Optional[str]:
    """Version of the distribution a requirement names (``tf-nightly`` → its installed version)."""
    name = _requirement_name(requirement)
    if name is None:
        return None
    try:
        return _metadata.version(name)
    except _metadata.PackageNotFoundError:
        return None


def overrides(requirements: Iterable[str]) -> List[str]:
    """uv overrides for an env installing ``requirements``: for each family a requirement names, that
    requirement as declared (no dependency can ask for another version of it) and every other member of the
    family removed (tf-keras 2.21 requires ``tensorflow``, which is not the declared ``tensorflow-cpu``)."""
    declared = {}  # type: Dict[str, str]
    for requirement in requirements:
        name = _requirement_name(requirement)
        if name is not None:
            declared[name] = requirement
    lines = []  # type: List[str]
    for _package, members in FAMILIES:
        named = [member for member in members if member in declared]
        if not named:
            continue
        lines.extend(declared[member] for member in named)
        lines.extend("%s ; %s" % (member, NEVER) for member in members if member not in declared)
    return lines


def _distributions(path: Optional[List[str]] = None) -> List[Any]:
    """The installed distributions, the first of each name on the path only: a later one of the same name is
    shadowed, as it is for import (setuptools puts its own _vendor/ folder, with packaging, wheel... and
    their metadata, on sys.path when pkg_resources is imported)."""
    found = _metadata.distributions(path=path) if path is not None else _metadata.distributions()
    seen = set()
    unique = []
    for dist in found:
        name = canonicalize_name(dist.metadata["Name"] or "")
        if name and name not in seen:
            seen.add(name)
            unique.append(dist)
    return unique


def _top_level(dist: Any) -> List[str]:
    """The top-level packages (``tensorflow/``) and modules (``six.py``) a distribution wrote: from its
    RECORD (what the installer wrote), else top_level.txt. Namespace packages (no __init__.py) are shared
    by design and not counted."""
    record = dist.read_text("RECORD")
    if record:
        return sorted(set(_RECORD_TOP.findall(record)))
    listed = dist.read_text("top_level.txt") or ""
    return sorted(set(line.strip() + "/" for line in listed.splitlines() if line.strip()))


def providers(path: Optional[List[str]] = None) -> Dict[str, List[Tuple[str, str]]]:
    """Top-level package (``tensorflow/``) or module (``six.py``) → the installed distributions (name,
    version) that wrote it."""
    found = {}  # type: Dict[str, List[Tuple[str, str]]]
    for dist in _distributions(path):
        for package in _top_level(dist):
            found.setdefault(package, []).append((canonicalize_name(dist.metadata["Name"]), dist.version))
    return found


def duplicates(path: Optional[List[str]] = None) -> List[str]:
    """One phrase per top-level package that several installed distributions write, e.g.
    ``tensorflow/ written by 2 distributions: tensorflow 2.21.0, tensorflow-cpu 2.21.0``."""
    return ["%s written by %d distributions: %s" % (package, len(dists),
                                                     ", ".join("%s %s" % dist for dist in sorted(dists)))
            for package, dists in sorted(providers(path).items()) if len(dists) > 1]


def family_versions(path: Optional[List[str]] = None) -> Dict[str, str]:
    """Every installed TensorFlow-family distribution (TensorFlow, Keras, tf-keras, hub, TensorBoard...) and
    its version, for run_info."""
    found = {}  # type: Dict[str, str]
    for dist in _distributions(path):
        name = canonicalize_name(dist.metadata["Name"])
        if _FAMILY_NAME.match(name):
            found[name] = dist.version
    return dict(sorted(found.items()))


def installed_mismatches(runtime: Any) -> List[str]:
    """What differs between a runtime's pinned packages and what this environment has installed (read from
    metadata; the executor checks the imported modules again): a pinned version not installed, a declared
    TensorFlow that is not the distribution installed, or two distributions writing one package."""
    found = []
    for label, requirement, pinned in (("tensorflow", runtime.tensorflow, runtime.tensorflow_version),
                                       ("tensorflow-hub", runtime.tensorflow_hub, runtime.tensorflow_hub_version)):
        installed = installed_version(requirement)
        if pinned and installed != pinned:
            found.append("%s %s declared, %s installed" % (label, pinned, installed or "none"))
        elif installed is None:
            found.append("%s declared, not installed" % requirement)
    doubled = duplicates()
    if doubled:
        found.append("%s (recreate the env: tox -r -e %s)" % ("; ".join(doubled), runtime.id))
    return found
