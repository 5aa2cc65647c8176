"""index.html: one self-contained page (inline CSS, JS and picture; nothing fetched), from a template."""
from __future__ import annotations

import collections
import re
from typing import Any, Dict, Optional, Sequence

import jinja2
import markupsafe

from conformance.report import page
from conformance.report.diff import RunDiff
from conformance.report.results import incomplete, unexpected


def breakable(name: str) -> markupsafe.Markup:
    """``name`` escaped, with a line-break opportunity after each ``_``, ``.`` and ``-``: a grid of long model
    ids (``reusable_regularization_dropped``) and many runtimes still fits the window."""
    return markupsafe.Markup(re.sub(r"([_.-])", r"\1<wbr>", str(markupsafe.escape(name))))


def new_failures(results, run_diff: RunDiff, timeline) -> set:
    """Cases failing in this run that did not fail so before: the diff's regressions, and the cases whose status
    streak starts with this run while the history holds an earlier run of them."""
    found = {test for test, _, _ in run_diff.regressions} | {r["test"] for r in results if r["status"] == "regression"}
    _, entries = timeline or ([], {})
    for result in results:
        since = result.get("since")
        if since and since.get("runs") == 1 and result["status"] not in ("pass", "skip") and any(
                entries.get(result["test"], [None])[:-1]):
            found.add(result["test"])
    return found


def render(document: Dict[str, Any], run_diff: RunDiff, runtimes: Sequence[str], apis: Sequence[str],
           formats: Dict[str, Optional[str]], timeline=None) -> str:
    """``timeline``: (runs, entries per test) from the history store, or None."""
    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance", "templates"), autoescape=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["breakable"] = breakable
    results = document["results"]
    grid = page.grid(results, runtimes, timeline, new_failures(results, run_diff, timeline))
    totals = collections.Counter(r["status"] for r in results)
    return environment.get_template("report.html.j2").render(
        run_ids=document["run_ids"], created=document["created"], git_revision=document.get("git_revision"),
        unexpected=sum(1 for r in results if unexpected(r)), incomplete=incomplete(document),
        totals=[(status, totals[status]) for status in page.SEVERITY if totals[status]],
        reused=sum(1 for r in results if r.get("reused_from")),
        labels=page.LABELS, severity=page.SEVERITY, diff=run_diff, grid=grid,
        case_data=page.script_json(page.case_data(grid, timeline)), short_api=page.short_api,
        compat=page.compat_table(results, formats, [r for r in runtimes if r in document["run_info"]], apis),
        compat_train=page.compat_table(results, formats, [r for r in runtimes if r in document["run_info"]], apis,
                                       "compat_train"),
        cluster=page.cluster_table(results, [r for r in runtimes if r in document["run_info"]]),
        drift=page.drift_table(results, [r for r in runtimes if r in document["run_info"]]),
        heatmap=page.heatmap_png(results, grid["columns"]),
        expectations=sorted(document.get("expectations") or [], key=lambda rule: (-rule["cases"], rule["source"])),
        run_info=sorted(document["run_info"].items()))
