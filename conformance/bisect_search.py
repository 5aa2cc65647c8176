"""The search of ``bisect``: the adjacent pair of builds where a case's outcome changes, found by binary
search over ordered builds with a probe that may be skipped.

Plain Python, no TensorFlow: a probe is any callable ``probe(build) -> Probe``, so the search is tested with
a fake one (tests/test_bisect_search.py) and run with real throwaway envs (conformance/bisect_probe.py).

"Good" is whatever outcome the older endpoint has and "bad" any other outcome, so the same search answers
"since which build does this case fail" and "since which build does this model load".
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence


class Probe(object):
    """One build tried: its ``outcome`` (a short text such as ``pass`` or ``fail (keras-mismatch)``), or
    ``skipped`` (why the build could not tell: no wheel for this Python, an install error...)."""

    def __init__(self, build: str, outcome: Optional[str] = None, skipped: Optional[str] = None,
                 seconds: float = 0.0, details: Optional[Dict[str, Any]] = None):
        if (outcome is None) == (skipped is None):
            raise ValueError("a probe of %s has either an outcome or a reason it was skipped" % build)
        self.build, self.outcome, self.skipped = build, outcome, skipped
        self.seconds = seconds
        self.details = dict(details or {})  # e.g. the build's date and tf.version.GIT_VERSION

    def as_dict(self) -> Dict[str, Any]:
        return dict(self.details, build=self.build, outcome=self.outcome, skipped=self.skipped,
                    seconds=round(self.seconds, 1))


class BisectError(Exception):
    """The search cannot start or cannot end at a pair (one line, for the user)."""


class Bisection(object):
    """The result: the last build with the old outcome (``last_good``), the first with another one
    (``first_bad``), the builds between them that were skipped, and every probe in the order it ran."""

    def __init__(self, builds: Sequence[str], last_good: Probe, first_bad: Probe, skipped_between: List[Probe],
                 probes: List[Probe]):
        self.builds = list(builds)
        self.last_good, self.first_bad = last_good, first_bad
        self.skipped_between = skipped_between
        self.probes = probes

    @property
    def adjacent(self) -> bool:
        """Whether nothing but skipped builds lies between the pair (always true when the search ends)."""
        return self.builds.index(self.first_bad.build) - self.builds.index(self.last_good.build) \
            == 1 + len(self.skipped_between)

    def as_dict(self) -> Dict[str, Any]:
        return {"builds": self.builds, "last_good": self.last_good.as_dict(), "first_bad": self.first_bad.as_dict(),
                "skipped_between": [probe.build for probe in self.skipped_between],
                "probes": [probe.as_dict() for probe in self.probes]}


def _next(lo: int, hi: int, tried: Dict[int, Probe]) -> Optional[int]:
    """The untried build nearest the middle of (lo, hi), the lower one on a tie; None when none is left."""
    middle = (lo + hi) / 2.0
    left = [i for i in range(lo + 1, hi) if i not in tried]
    return min(left, key=lambda i: (abs(i - middle), i)) if left else None


def bisect(builds: Sequence[str], probe: Callable[[str], Probe],
           report: Optional[Callable[[Probe], None]] = None) -> Bisection:
    """Binary search over ``builds`` (oldest first; the first and last are the endpoints) for the adjacent
    pair where the probe's outcome stops being the first build's. ``report`` is told of each probe as it
    ends. Raises :class:`BisectError` when an endpoint is skipped or both endpoints have the same outcome.

    A skipped build is neither good nor bad: the search tries the untried build nearest the middle instead,
    and the pair it ends at may have skipped builds between them (the change is in one of those)."""
    builds = list(builds)
    if len(builds) < 2:
        raise BisectError("bisect needs two builds, got %d" % len(builds))
    probes = []  # type: List[Probe]
    tried = {}  # type: Dict[int, Probe]

    def run(index: int) -> Probe:
        result = probe(builds[index])
        probes.append(result)
        tried[index] = result
        if report is not None:
            report(result)
        return result

    for index in (0, len(builds) - 1):
        ended = run(index)
        if ended.skipped is not None:
            raise BisectError("endpoint %s could not be probed: %s" % (builds[index], ended.skipped))
    good = tried[0].outcome
    if tried[len(builds) - 1].outcome == good:
        raise BisectError("no change to find: %s and %s both give %s" % (builds[0], builds[-1], good))
    lo, hi = 0, len(builds) - 1
    index = _next(lo, hi, tried)
    while index is not None:
        result = run(index)
        if result.skipped is None:
            if result.outcome == good:
                lo = index
            else:
                hi = index
        index = _next(lo, hi, tried)
    return Bisection(builds, tried[lo], tried[hi], [tried[i] for i in range(lo + 1, hi)], probes)
