"""Expected outcomes of cases, in the spirit of web-platform-tests metadata.

An expectations file is a YAML list of entries: ``match`` (case fields and run facts), the expected
``status`` with a ``reason``, optionally the diagnosed ``cause`` the failure must have, an ``intermittent``
list of other acceptable statuses and a ``link``. When several entries match a case, the last one wins,
so a later, narrower entry can override a broad rule.

Matching is fast on large matrices: globs and version specifiers are compiled once, and
:func:`expected_for` looks the case's facts up in an index of which entries accept each value.
"""
from __future__ import annotations

import functools
import difflib
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Pattern, Sequence, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance import schema
from conformance.validation import check
from conformance.yaml_source import LocatedList, SourceError, kind_of, listed, load, shown, where

PATTERN_KEYS = ("case", "check", "model", "runtime", "device", "api", "format", "signature")
VERSION_KEYS = ("tensorflow", "tensorflow_hub")


@dataclass(frozen=True)
class Expectation:
    status: str
    reason: str
    source: str  # file:line of the entry
    cause: Optional[str] = None  # one cause, or several accepted ones written "a | b"
    intermittent: Tuple[str, ...] = ()
    link: Optional[str] = None
    match: Tuple[Tuple[str, Any], ...] = ()
    broad: Optional[str] = None  # why the rule may cover every case of a model, a runtime or the matrix

    def allows(self, status: str) -> bool:
        return status == self.status or status in self.intermittent

    def allows_cause(self, cause: str) -> bool:
        """No cause named, or ``cause`` is one of those named."""
        return not self.cause or cause in self.cause.split(" | ")


PASS = Expectation(status="pass", reason="", source="(default)")


def _patterns(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else list(value)


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> Pattern:
    """``*`` and ``?`` wildcards only: case ids contain brackets, which fnmatch would read as sets."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                      re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    return _glob(pattern).fullmatch(text) is not None


@functools.lru_cache(maxsize=1024)
def _version_matches(spec: str, version: Optional[str]) -> bool:
    if version is None:
        return False
    try:
        return Version(version) in SpecifierSet(spec, prereleases=True)
    except InvalidVersion:
        return False


def _accepts(key: str, wanted: Any, actual: Any) -> bool:
    """Whether the ``match`` entry ``key: wanted`` accepts the case fact ``actual``."""
    if key in PATTERN_KEYS:
        return actual is not None and any(glob_match(p, actual) for p in _patterns(wanted))
    if key in VERSION_KEYS:
        return _version_matches(wanted, actual)
    return actual == wanted


def matches(match: Dict[str, Any], facts: Dict[str, Any]) -> bool:
    """True when every key of ``match`` agrees with the case ``facts``.

    Pattern keys are globs with ``*`` and ``?`` (or lists of them); ``mode`` is exact; ``tensorflow`` and
    ``tensorflow_hub`` are version specifiers such as ``>=0.16`` checked against the runtime's versions.
    """
    return all(_accepts(key, wanted, facts.get(key)) for key, wanted in match.items())


class _Index:
    """For each fact key and value, the entries that accept it, as a bit mask (bit i: entry i).

    A case's matching entries are the AND of its facts' masks; the last one is the highest bit.
    """

    UNMEMOIZED = ("case",)  # one value per case: looked up, never stored

    def __init__(self, expectations: Sequence[Expectation]):
        self.entries = tuple(expectations)
        self.constraints = {}  # type: Dict[str, List[Tuple[int, Any]]]
        for index, expectation in enumerate(self.entries):
            for key, wanted in expectation.match:
                self.constraints.setdefault(key, []).append((index, wanted))
        self.everyone = (1 << len(self.entries)) - 1
        self.free = {key: self.everyone & ~sum(1 << i for i, _ in bound)
                     for key, bound in self.constraints.items()}  # type: Dict[str, int]
        self.memos = [(key, {}) for key in self.constraints]  # type: List[Tuple[str, Dict[Any, int]]]

    def _accepting(self, key: str, actual: Any) -> int:
        mask = self.free[key]
        for index, wanted in self.constraints[key]:
            if _accepts(key, wanted, actual):
                mask |= 1 << index
        return mask

    def last_match(self, facts: Dict[str, Any]) -> int:
        """The position of the last entry matching ``facts``, or -1."""
        return self.matching(facts).bit_length() - 1

    def matching(self, facts: Dict[str, Any]) -> int:
        """Every entry matching ``facts``, as a bit mask (bit i: entry i)."""
        mask = self.everyone
        for key, memo in self.memos:
            actual = facts.get(key)
            accepting = memo.get(actual)
            if accepting is None:
                accepting = self._accepting(key, actual)
                if key not in self.UNMEMOIZED:
                    memo[actual] = accepting
            mask &= accepting
            if not mask:
                break
        return mask


_last_index = None  # type: Optional[_Index]


def expected_for(facts: Dict[str, Any], expectations: Sequence[Expectation]) -> Expectation:
    """The last entry of ``expectations`` that matches the case ``facts``, else :data:`PASS`."""
    global _last_index
    entries = tuple(expectations)
    if _last_index is None or _last_index.entries != entries:
        _last_index = _Index(entries)
    position = _last_index.last_match(facts)
    return entries[position] if position >= 0 else PASS


def load_expectations(path: str, runtimes: Sequence[Any] = (), models: Sequence[Any] = (),
                      about_the_zoo: bool = False) -> List[Expectation]:
    """Read and validate an expectations file; names in ``match`` must exist in the matrix, except in the
    zoo's own file (a matrix may list only some zoo models)."""
    document = load(path)
    if document is None:
        return []
    if not isinstance(document, LocatedList):
        raise SourceError("%s:1: (top level): expected a list of expectation entries, got %s"
                          % (path, kind_of(document)))
    check(document, schema.EXPECTATIONS, "expectations")
    known = {"runtime": [r.id for r in runtimes], "model": [m.id for m in models],
             "api": schema.APIS, "device": schema.DEVICES, "format": schema.FORMATS}
    entries = []
    for index, entry in enumerate(document):
        match = entry["match"]
        for key, values in known.items():
            if key not in match or not values or (about_the_zoo and key in ("model", "runtime")):
                continue
            for pattern in _patterns(match[key]):
                if not any(glob_match(pattern, value) for value in values):
                    raise SourceError("%s: match.%s %s matches no %s (declared: %s)"
                                      % (where(match, key), key, shown(pattern), key, listed(values)))
        for key in VERSION_KEYS:
            if key in match:
                try:
                    SpecifierSet(match[key])
                except InvalidSpecifier:
                    raise SourceError("%s: match.%s %s is not a version specifier (e.g. '>=0.16')"
                                      % (where(match, key), key, shown(match[key])))
        causes = _patterns(entry["cause"]) if "cause" in entry else []
        for cause in causes:
            if cause not in schema.CAUSES:
                closest = difflib.get_close_matches(str(cause), schema.CAUSES, n=3, cutoff=0.5)
                raise SourceError("%s: expectations[%d].cause: %s is not a known cause (%sall %d are listed in "
                                  "docs/expectations.md)" % (where(entry, "cause"), index, shown(cause),
                                                             "closest: %s; " % ", ".join(closest) if closest else "",
                                                             len(schema.CAUSES)))
        entries.append(Expectation(
            status=entry["status"], reason=entry["reason"], source=where(document, index),
            cause=" | ".join(causes) or None, intermittent=tuple(entry.get("intermittent") or ()),
            link=entry.get("link"), match=tuple(sorted(match.items(), key=lambda kv: kv[0])),
            broad=entry.get("broad")))
    return entries
