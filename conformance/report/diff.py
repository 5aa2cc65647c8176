"""Run-to-run diff: Added / Deleted / Changed / Unchanged cases, regressions (pass → fail) first."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

GOOD = ("pass", "xfail", "skip")


@dataclass
class RunDiff:
    baseline: Optional[str]
    added: List[str] = field(default_factory=list)
    deleted: List[str] = field(default_factory=list)
    changed: List[Tuple[str, str, str]] = field(default_factory=list)  # (test, old status, new status)
    unchanged: int = 0

    @property
    def regressions(self) -> List[Tuple[str, str, str]]:
        # a case that never ran is `missing`, not a regression: it keeps its status, so that the report counts
        # the same missing cases as `summary` and the run stays incomplete (exit 3)
        return [c for c in self.changed if c[1] in GOOD and c[2] not in GOOD and c[2] != "missing"]

    @property
    def fixes(self) -> List[Tuple[str, str, str]]:
        return [c for c in self.changed if c[1] not in GOOD and c[2] in GOOD]

    def as_dict(self) -> Dict[str, Any]:
        return {"baseline": self.baseline, "added": self.added, "deleted": self.deleted,
                "changed": [list(c) for c in self.changed], "regressions": [list(c) for c in self.regressions],
                "unchanged": self.unchanged}

    def lines(self, limit: int = 15) -> List[str]:
        """A one-screen summary, regressions first."""
        if self.baseline is None:
            return ["no baseline: first run"]
        out = ["vs %s: %d regressions, %d fixed, %d other changes, %d added, %d deleted, %d unchanged"
               % (self.baseline, len(self.regressions), len(self.fixes),
                  len(self.changed) - len(self.regressions) - len(self.fixes), len(self.added), len(self.deleted),
                  self.unchanged)]
        shown = self.regressions + [c for c in self.changed if c not in self.regressions]
        out.extend("  %s %s: %s -> %s" % ("REGRESSION" if c in self.regressions else "changed", c[0], c[1], c[2])
                   for c in shown[:limit])
        if len(shown) > limit:
            out.append("  ... and %d more (see the report)" % (len(shown) - limit))
        return out


def diff(current: Dict[str, Any], baseline: Optional[Dict[str, Any]], label: Optional[str]) -> RunDiff:
    """Compare two results documents; marks regressed results in ``current`` as ``regression``."""
    result = RunDiff(label if baseline is not None else None)
    if baseline is None:
        return result
    before = {r["test"]: r["status"] for r in baseline["results"]}
    now = {r["test"]: r for r in current["results"]}
    result.added = sorted(set(now) - set(before))
    result.deleted = sorted(set(before) - set(now))
    for test in sorted(set(now) & set(before)):
        old, new = before[test], now[test]["status"]
        if old == "regression":
            old = "fail"
        if old == new:
            result.unchanged += 1
        else:
            result.changed.append((test, old, new))
    for test, old, new in result.regressions:
        now[test]["status"] = "regression"
        now[test]["details"]["previous_status"] = old
    return result
