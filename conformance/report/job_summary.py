"""GitHub's job summary (Markdown) of a report's results.json: the verdict, the unexpected results (regressions
first) with their causes, since when they fail and links to their cells in the report, then the new flakes."""
from __future__ import annotations

import collections
from typing import Any, Dict, Optional
from urllib.parse import quote

from conformance.report.page import LABELS, SEVERITY, cause_of
from conformance.report.results import incomplete, unexpected

LISTED = 40  # rows per table: the job page is for the first look, the report for the rest


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: one line, no column breaks, no code span ends."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("`", "'")


def cell_link(result: Dict[str, Any], report_url: Optional[str]) -> str:
    if not (result.get("runtime") and result.get("device")):
        return ""
    key = "%s/%s/%s" % (result["model"], result["runtime"], result["device"])
    anchor = "index.html#cell=" + quote(key, safe="")
    if report_url:
        return "[%s](%s/%s)" % (_cell(key), report_url.rstrip("/"), anchor)
    return "`%s`" % _cell(anchor)


def _since(result: Dict[str, Any]) -> str:
    since = result.get("since")
    if not since:
        return ""
    return "%s (%s, TF %s)" % (since["run"], since["created"][:10], since.get("tensorflow") or "?")


def markdown(document: Dict[str, Any], report_url: Optional[str] = None) -> str:
    results = document["results"]
    bad = sorted((r for r in results if unexpected(r)), key=lambda r: (r["status"] != "regression", r["test"]))
    counts = collections.Counter(r["status"] for r in results)
    run = "+".join(document["run_ids"])
    lines = ["## hub-conformance %s: %s" % (run, "%d unexpected result(s)" % len(bad) if bad
                                              else "no unexpected results"), ""]
    gap = incomplete(document)
    if gap:
        lines += ["**%s**" % gap, ""]
    lines.append("%d cases: %s." % (len(results), ", ".join("%d %s" % (counts[s], LABELS[s]) for s in SEVERITY
                                                           if counts[s])))
    diff = document.get("diff") or {}
    if diff.get("baseline"):
        lines.append("Against %s: %d regression(s), %d changed, %d added, %d deleted." % (
            _cell(diff["baseline"]), len(diff["regressions"]), len(diff["changed"]), len(diff["added"]),
            len(diff["deleted"])))
    if report_url:
        lines.append("Report: %s/index.html" % report_url.rstrip("/"))
    else:
        lines.append("The report is this run's `report` artifact: the cell links below are anchors of its index.html.")
    if bad:
        lines += ["", "### Unexpected (regressions first)", "", "| case | status | cause | failing since | cell |",
                  "|---|---|---|---|---|"]
        for result in bad[:LISTED]:
            lines.append("| `%s` | %s | %s | %s | %s |" % (_cell(result["test"]), LABELS[result["status"]],
                                                          _cell(cause_of(result) or result["message"][:80]),
                                                          _cell(_since(result)), cell_link(result, report_url)))
        if len(bad) > LISTED:
            lines.append("")
            lines.append("… and %d more in the report." % (len(bad) - LISTED))
    flaky = [r for r in results if r.get("flaky")]
    fresh = [r for r in flaky if (r.get("since") or {}).get("runs") == 1]  # flipped in this very run
    if flaky:
        lines += ["", "### Flaky: %d case(s), %d flipped in this run with nothing changed" % (len(flaky), len(fresh)),
                  ""]
        if fresh:
            lines += ["| case | now | cell |", "|---|---|---|"]
            lines += ["| `%s` | %s | %s |" % (_cell(r["test"]), LABELS[r["status"]], cell_link(r, report_url))
                      for r in fresh[:LISTED]]
    return "\n".join(lines) + "\n"
