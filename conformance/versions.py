"""Versions of installed distributions, read from metadata without importing them (TF import is costly)."""
from __future__ import annotations

from typing import Any, List, Optional

from packaging.requirements import InvalidRequirement, Requirement

try:  # Python >= 3.8
    from importlib import metadata as _metadata
except ImportError:  # Python 3.7: the backport
    import importlib_metadata as _metadata  # type: ignore


def installed_version(requirement: str) -> Optional[str]:
    """Version of the distribution a requirement names (``tf-nightly-cpu`` → its installed version)."""
    try:
        name = Requirement(requirement).name
    except InvalidRequirement:
        return None
    try:
        return _metadata.version(name)
    except _metadata.PackageNotFoundError:
        return None


def installed_mismatches(runtime: Any) -> List[str]:
    """What differs between a runtime's pinned packages and what this environment has installed (read from
    metadata; the executor checks the imported modules again)."""
    found = []
    for label, requirement, pinned in (("tensorflow", runtime.tensorflow, runtime.tensorflow_version),
                                       ("tensorflow-hub", runtime.tensorflow_hub, runtime.tensorflow_hub_version)):
        installed = installed_version(requirement)
        if pinned and installed != pinned:
            found.append("%s %s declared, %s installed" % (label, pinned, installed or "none"))
    return found
