"""Versions of installed distributions, read from metadata without importing them (TF import is costly)."""
from __future__ import annotations

from typing import Optional

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
