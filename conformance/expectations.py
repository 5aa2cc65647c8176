"""Expected outcomes of cases, in the spirit of web-platform-tests metadata.

An expectations file is a YAML list of entries: ``match`` (case fields and run facts), the expected
``status`` with a ``reason``, optionally the diagnosed ``cause`` the failure must have, an ``intermittent``
list of other acceptable statuses and a ``link``. When several entries match a case, the last one wins,
so a later, narrower entry can override a broad rule.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance import schema
from conformance.validation import check
from conformance.yaml_source import LocatedList, SourceError, load, where

PATTERN_KEYS = ("case", "check", "model", "runtime", "device", "api", "format", "signature")
VERSION_KEYS = ("tensorflow", "tensorflow_hub")


@dataclass(frozen=True)
class Expectation:
    status: str
    reason: str
    source: str  # file:line of the entry
    cause: Optional[str] = None
    intermittent: Tuple[str, ...] = ()
    link: Optional[str] = None
    match: Tuple[Tuple[str, Any], ...] = ()

    def allows(self, status: str) -> bool:
        return status == self.status or status in self.intermittent


PASS = Expectation(status="pass", reason="", source="(default)")


def _patterns(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else list(value)


def glob_match(pattern: str, text: str) -> bool:
    """``*`` and ``?`` wildcards only: case ids contain brackets, which fnmatch would read as sets."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


def _version_matches(spec: str, version: Optional[str]) -> bool:
    if version is None:
        return False
    try:
        return Version(version) in SpecifierSet(spec, prereleases=True)
    except InvalidVersion:
        return False


def matches(match: Dict[str, Any], facts: Dict[str, Any]) -> bool:
    """True when every key of ``match`` agrees with the case ``facts``.

    Pattern keys are globs with ``*`` and ``?`` (or lists of them); ``mode`` is exact; ``tensorflow`` and
    ``tensorflow_hub`` are version specifiers such as ``>=0.16`` checked against the runtime's versions.
    """
    for key, wanted in match.items():
        if key in PATTERN_KEYS:
            actual = facts.get(key)
            if actual is None or not any(glob_match(p, actual) for p in _patterns(wanted)):
                return False
        elif key in VERSION_KEYS:
            if not _version_matches(wanted, facts.get(key)):
                return False
        elif facts.get(key) != wanted:
            return False
    return True


def expected_for(facts: Dict[str, Any], expectations: Sequence[Expectation]) -> Expectation:
    found = PASS
    for expectation in expectations:
        if matches(dict(expectation.match), facts):
            found = expectation
    return found


def load_expectations(path: str, runtimes: Sequence[Any] = (), models: Sequence[Any] = ()) -> List[Expectation]:
    """Read and validate an expectations file; names in ``match`` must exist in the matrix."""
    document = load(path)
    if document is None:
        return []
    if not isinstance(document, LocatedList):
        raise SourceError("%s:1: expected a list of expectation entries, got %s" % (path, type(document).__name__))
    check(document, schema.EXPECTATIONS, "expectations")
    known = {"runtime": [r.id for r in runtimes], "model": [m.id for m in models],
             "api": schema.APIS, "device": schema.DEVICES, "format": schema.FORMATS}
    entries = []
    for index, entry in enumerate(document):
        match = entry["match"]
        for key, values in known.items():
            if key not in match or not values:
                continue
            for pattern in _patterns(match[key]):
                if not any(glob_match(pattern, value) for value in values):
                    raise SourceError("%s: match.%s %r matches no %s (declared: %s)"
                                      % (where(match, key), key, pattern, key, ", ".join(values)))
        for key in VERSION_KEYS:
            if key in match:
                try:
                    SpecifierSet(match[key])
                except InvalidSpecifier:
                    raise SourceError("%s: match.%s %r is not a version specifier (e.g. '>=0.16')"
                                      % (where(match, key), key, match[key]))
        entries.append(Expectation(
            status=entry["status"], reason=entry["reason"], source=where(document, index),
            cause=entry.get("cause"), intermittent=tuple(entry.get("intermittent") or ()),
            link=entry.get("link"), match=tuple(sorted(match.items(), key=lambda kv: kv[0]))))
    return entries
