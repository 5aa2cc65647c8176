"""The builds of a TensorFlow distribution that the package index has: its versions (of one kind: releases or
dated nightly builds) between two endpoints, with the date each was uploaded. Read from the index's simple API
in its JSON form (PEP 691, with PEP 700's upload times), the same index uv installs from.

Plain Python (urllib): no TensorFlow, no pip."""
from __future__ import annotations

import json
import os
import re
import urllib.request
from typing import Dict, List, Optional, Tuple

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

DEFAULT_INDEX = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json"
_NIGHTLY_DATE = re.compile(r"\.dev(\d{8})")


class PackageIndexError(Exception):
    """The index could not be read, or has no such builds (one line, for the user)."""


def index_url() -> str:
    """The index uv itself would use: $UV_DEFAULT_INDEX or $UV_INDEX_URL, else PyPI."""
    return (os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or DEFAULT_INDEX).rstrip("/")


def kind(version: str) -> str:
    """``nightly`` for a dated dev build (2.22.0.dev20260905), ``release`` for a final one, else ``pre``."""
    parsed = Version(version)
    if parsed.is_devrelease:
        return "nightly"
    return "pre" if parsed.is_prerelease else "release"


def nightly_date(version: str) -> Optional[str]:
    """The build date a nightly version carries, as YYYY-MM-DD."""
    found = _NIGHTLY_DATE.search(version)
    return "%s-%s-%s" % (found.group(1)[:4], found.group(1)[4:6], found.group(1)[6:]) if found else None


def fetch(name: str, index: Optional[str] = None, timeout: float = 60.0) -> Dict:
    url = "%s/%s/" % (index or index_url(), canonicalize_name(name))
    request = urllib.request.Request(url, headers={"Accept": _ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError) as error:
        raise PackageIndexError("package index %s: cannot list %s: %s" % (url, name, error))


def _file_version(name: str, filename: str) -> Optional[str]:
    """The version in a wheel's or sdist's file name, None for another distribution's file."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        if len(parts) < 5:
            return None
        dist, version = parts[0], parts[1]
    else:
        stem = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", filename)
        if "-" not in stem:
            return None
        dist, version = stem.rsplit("-", 1)
    return version if canonicalize_name(dist) == canonicalize_name(name) else None


def uploads(document: Dict, name: str) -> Dict[str, str]:
    """Version -> the earliest upload date (YYYY-MM-DD) of its files, from an index document."""
    dates = {}  # type: Dict[str, str]
    for entry in document.get("files", []):
        if entry.get("yanked"):
            continue
        version = _file_version(name, entry.get("filename", ""))
        if version is None:
            continue
        when = (entry.get("upload-time") or "")[:10]
        if version not in dates or (when and when < dates[version]):
            dates[version] = when
    return dates


def builds_between(name: str, old: str, new: str, document: Dict) -> List[Tuple[str, str]]:
    """``(version, date)`` of every build of ``name`` from ``old`` to ``new`` inclusive, oldest first, of the
    endpoints' kind (releases, or dated nightly builds); a date is the build's own (nightly) or its first
    upload. Raises :class:`PackageIndexError` when the endpoints are of different kinds or not on the index."""
    if kind(old) != kind(new) or kind(old) == "pre":
        raise PackageIndexError("%s %s and %s: bisect between two releases or two nightly builds, not %s and %s"
                          % (name, old, new, kind(old), kind(new)))
    if Version(old) >= Version(new):
        raise PackageIndexError("%s: %s is not older than %s" % (name, old, new))
    dates = uploads(document, name)
    known = {}  # type: Dict[Version, str]
    for version in dates:
        try:
            known[Version(version)] = version
        except InvalidVersion:
            continue
    for endpoint in (old, new):
        if Version(endpoint) not in known:
            raise PackageIndexError("%s==%s: the package index has no such build" % (name, endpoint))
    wanted = sorted(v for v in known if Version(old) <= v <= Version(new) and kind(str(v)) == kind(old))
    return [(known[v], nightly_date(known[v]) or dates[known[v]]) for v in wanted]
