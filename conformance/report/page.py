"""The view the HTML template renders: the grid, the compatibility table, the picture. Plain Python;
a new check shows up by itself (cells list their cases generically)."""
from __future__ import annotations

import base64
import collections
import io
import json
import math
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from conformance.cases import CLUSTER_VARIANTS
from conformance.checks import registry
from conformance.report.results import unexpected

# Worst first: a cell shows the worst status among its cases.
SEVERITY = ("missing", "error", "crash", "timeout", "regression", "fail", "nondeterministic", "xfail", "skip", "pass")
LABELS = {"pass": "pass", "xfail": "expected failure", "fail": "unexpected failure", "regression": "new regression",
          "nondeterministic": "nondeterministic", "skip": "skipped", "crash": "crash", "timeout": "timeout",
          "error": "hub-conformance error", "missing": "missing (never ran)"}
DEVICES = ("cpu", "xla", "gpu")


def worst(statuses: Sequence[str]) -> str:
    return min(statuses, key=SEVERITY.index) if statuses else "skip"


# Characters of details per case in the page, by status (results.json keeps everything): a page of 100
# models holds ~30,000 cases, so what passed or failed as expected says little here.
DETAIL_CHARACTERS = {"pass": 200, "xfail": 800, "skip": 0}
MORE_DETAILS = 3000


def _details_text(result: Dict[str, Any]) -> str:
    if result["status"] == "skip":
        return ""
    details = dict(result["details"])
    error = details.pop("error", None)
    parts = []
    if error:
        parts.append("%s: %s (%s)\n\n%s" % (error.get("cause"), error.get("diagnosis"), error.get("stage"),
                                            error.get("traceback", "")[-1500:]))
    snippet = details.pop("snippet", None)
    if snippet:
        parts.append("migration snippet:\n" + snippet)
    if details:
        parts.append(json.dumps(details, indent=1, sort_keys=True, default=str))
    text = "\n\n".join(parts)
    limit = DETAIL_CHARACTERS.get(result["status"], MORE_DETAILS)
    return text if len(text) <= limit else text[:limit] + "\n… (all of it in results.json)"


def columns_of(results: List[Dict[str, Any]], runtimes: Sequence[str]) -> List[Tuple[str, str]]:
    seen = {(r["runtime"], r["device"]) for r in results if r["runtime"] and r["device"]}
    order = list(runtimes) + sorted({rt for rt, _ in seen} - set(runtimes))
    return [(rt, dev) for rt in order for dev in DEVICES if (rt, dev) in seen]


def skipped_columns(results: List[Dict[str, Any]], columns: List[Tuple[str, str]]) -> List[Dict[str, Any]]:
    """Columns where every case was skipped (a device no runtime has, here gpu): one note instead of a
    column of grey cells, with the count and the commonest reason."""
    cases = collections.defaultdict(list)  # type: Dict[Tuple[str, str], List[Dict[str, Any]]]
    for result in results:
        cases[(result["runtime"], result["device"])].append(result)
    notes = []
    for column in columns:
        if cases[column] and all(r["status"] == "skip" for r in cases[column]):
            reasons = collections.Counter(r["message"].replace("Skipped: ", "", 1) for r in cases[column])
            notes.append({"runtime": column[0], "device": column[1], "cases": len(cases[column]),
                          "reason": reasons.most_common(1)[0][0]})
    return notes


API_SHORT = {"hub.Module": "Module", "hub.load": "load", "hub.KerasLayer": "Keras", "saved_model": "SavedModel"}


def api_order(api: str) -> Tuple[int, str]:
    """TF1's api first, then TF2's: the order of matrix.yaml's ``apis``."""
    order = list(API_SHORT)
    return (order.index(api) if api in order else len(order), api)
# per api in a cell: works (every case that ran passed), expected (fails as the expectations say), unexpected,
# skipped (nothing ran)
API_VERDICTS = ("unexpected", "works", "expected", "skipped")  # the order of a cell's lines
# what "works" means: it loads, and every signature runs and agrees with the reference (fine-tuning, cost and
# the rest have their own sections; their unexpected failures still mark the api unexpected)
WORKS_CHECKS = ("load", "signature", "numeric", "inputs", "repeat")
TIMELINE_CODES = {status: status[0].upper() if status != "nondeterministic" else "N" for status in SEVERITY}
TIMELINE_CODES.update({"crash": "K", "timeout": "T", "missing": "M", "regression": "R", "xfail": "x"})


def short_api(api: str) -> str:
    return API_SHORT.get(api, api.replace("hub.", ""))


def api_verdict(cases: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Whether an api works in a cell, fails as expected (and why, in a word) or fails unexpectedly."""
    ran = [r for r in cases if r["status"] != "skip"]
    if not ran:
        return {"verdict": "skipped", "word": "skipped"}
    bad = [r for r in ran if unexpected(r)]
    if bad:
        return {"verdict": "unexpected", "word": (cause_of(bad[0]) or bad[0]["status"])[:22]}
    core = [r for r in ran if r["check"] in WORKS_CHECKS]
    if not core:
        return {"verdict": "skipped", "word": "not loaded"}
    failing = sorted((r for r in core if r["status"] != "pass"), key=lambda r: r["check"] != "load")
    if not failing:
        return {"verdict": "works", "word": "works"}
    return {"verdict": "expected", "word": (cause_of(failing[0]) or failing[0]["status"])[:22]}


def grid(results: List[Dict[str, Any]], runtimes: Sequence[str], timeline: Optional[Tuple[List[Dict[str, Any]], Dict[
        str, List[Any]]]] = None, new_tests: Optional[set] = None) -> Dict[str, Any]:
    """Rows (models; those needing attention first) × columns (runtime, device); each cell says per api whether
    the model works there, with its cases, its timeline over the history's runs, and new / flaky marks."""
    hidden = skipped_columns(results, columns_of(results, runtimes))
    columns = [c for c in columns_of(results, runtimes) if not any((n["runtime"], n["device"]) == c for n in hidden)]
    by_cell = collections.defaultdict(list)  # type: Dict[Tuple[str, str, str], List[Dict[str, Any]]]
    apis_of = collections.defaultdict(set)
    for result in results:
        if result["runtime"] and result["device"]:
            by_cell[(result["model"], result["runtime"], result["device"])].append(result)
            if result["api"]:
                apis_of[result["model"]].add(result["api"])
    models = sorted({r["model"] for r in results if r["model"]})
    model_level = collections.defaultdict(list)  # cases of no one cell (compared): unexpected ones mark the row
    for result in results:
        if result["model"] and not (result["runtime"] and result["device"]) and unexpected(result):
            model_level[result["model"]].append({"test": result["test"], "word": (cause_of(result) or result[
                "status"])[:22]})
    runs, entries = timeline or ([], {})
    new_tests = new_tests or set()
    rows = []
    counter = 0
    for model in models:
        cells = []
        for runtime, device in columns:
            cases = sorted(by_cell.get((model, runtime, device), []),
                           key=lambda r: (SEVERITY.index(r["status"]), r["check"], r["api"] or "", r["test"]))
            counter += 1
            cell = _cell("c%d" % counter, cases)
            cell["runtime"], cell["device"] = runtime, device
            cell["apis"] = [dict(api_verdict([r for r in cases if r["api"] == api]), api=api, short=short_api(api))
                            for api in sorted(apis_of[model], key=api_order) if any(r["api"] == api for r in cases)]
            cell["chips"] = _chips(cell["apis"])
            cell["unexpected"] = any(a["verdict"] == "unexpected" for a in cell["apis"]) or any(
                r["status"] in ("missing", "error", "crash", "timeout") for r in cases if not r["api"])
            cell["new"] = any(r["test"] in new_tests for r in cases)
            cell["flaky"] = any(r.get("flaky") for r in cases)
            cell["timeline"] = _cell_timeline(cases, entries, len(runs))
            cells.append(cell)
        everywhere = _works_everywhere(cells, sorted(apis_of[model], key=api_order), columns)
        attention = (any(c["unexpected"] for c in cells) or bool(model_level[model]), any(c["new"] for c in cells),
                     any(c["flaky"] for c in cells))
        rows.append({"model": model, "cells": cells, "everywhere": everywhere, "attention": attention,
                     "unexpected": model_level[model],
                     "counts": _counts([r for (m, _, _), rs in by_cell.items() if m == model for r in rs])})
    rows.sort(key=lambda row: tuple(not flag for flag in row["attention"]))  # stable: by model id within
    column_counts = [_counts(by_cell_column(by_cell, rt, dev)) for rt, dev in columns]
    spans = []  # type: List[List[Any]]
    for runtime, _ in columns:
        if spans and spans[-1][0] == runtime:
            spans[-1][1] += 1
        else:
            spans.append([runtime, 1])
    return {"columns": columns, "rows": rows, "column_counts": column_counts, "runtime_spans": spans,
            "hidden_columns": _hidden_note(hidden), "runs": runs,
            "attention": _attention(rows)}


def _attention(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """What the first screen lists: the unexpected, new and flaky cells, and the models with an unexpected case
    of no one cell (a cross-runtime comparison)."""
    found = []
    for row in rows:
        for case in row["unexpected"]:
            found.append({"model": row["model"], "where": case["test"].split("[")[0], "id": "", "unexpected": True,
                          "new": False, "flaky": False})
        for cell in row["cells"]:
            if cell["unexpected"] or cell["new"] or cell["flaky"]:
                found.append({"model": row["model"], "where": "%s %s" % (cell["runtime"], cell["device"]),
                              "id": cell["id"], "unexpected": cell["unexpected"], "new": cell["new"],
                              "flaky": cell["flaky"]})
    return found


def _chips(apis: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The cell's lines: apis with the same verdict and word share one ("load, Keras: xla-unsupported-op"), so
    a row stays a few lines high however many apis fail the same way."""
    chips = collections.OrderedDict()  # type: collections.OrderedDict
    for api in apis:
        chip = chips.setdefault((api["verdict"], api["word"]), {"verdict": api["verdict"], "word": api["word"],
                                                                "apis": []})
        chip["apis"].append(api["short"])
    return sorted(chips.values(), key=lambda chip: API_VERDICTS.index(chip["verdict"]))


def _works_everywhere(cells: List[Dict[str, Any]], apis: List[str], columns: List[Tuple[str, str]]) -> str:
    """"load, Keras" when those apis work in every cell of the row; else the apis that work in every runtime on
    one device ("on cpu: load"); "" when none."""
    def working(chosen):
        return [short_api(api) for api in apis if all(
            a["verdict"] in ("works", "skipped") for c in chosen for a in c["apis"] if a["api"] == api) and any(
            a["verdict"] == "works" for c in chosen for a in c["apis"] if a["api"] == api)]
    found = working(cells)
    if found:
        return "works everywhere: " + ", ".join(found)
    for device in DEVICES:
        found = working([c for c, column in zip(cells, columns) if column[1] == device])
        if found:
            return "works on %s everywhere: %s" % (device, ", ".join(found))
    return ""


def _cell_timeline(cases: List[Dict[str, Any]], entries: Dict[str, List[Any]], length: int) -> str:
    """One code per run of the history (oldest first): the worst status of the cell's cases then, "." when it
    had none."""
    codes = []
    for i in range(length):
        statuses = [entries[r["test"]][i][0] for r in cases if r["test"] in entries and entries[r["test"]][i]
                    and entries[r["test"]][i][0] != "skip"]
        codes.append(TIMELINE_CODES.get(worst(statuses), "?") if statuses else ".")
    return "".join(codes)


def _hidden_note(hidden: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The skipped columns grouped by device: "gpu on tf1.15-graph, …: 1320 cases skipped (e.g. …)"."""
    groups = collections.OrderedDict()  # type: collections.OrderedDict
    for note in hidden:
        group = groups.setdefault(note["device"], {"device": note["device"], "runtimes": [], "cases": 0,
                                                   "reason": note["reason"]})
        group["runtimes"].append(note["runtime"])
        group["cases"] += note["cases"]
    return list(groups.values())


def by_cell_column(by_cell, runtime: str, device: str) -> List[Dict[str, Any]]:
    return [r for (m, rt, dev), rs in by_cell.items() if rt == runtime and dev == device for r in rs]


def _counts(cases: List[Dict[str, Any]]) -> Dict[str, int]:
    loads = [r for r in cases if r["check"] == "load"]
    return {"loaded": sum(1 for r in loads if r["status"] == "pass"), "loads": len(loads),
            "passed": sum(1 for r in cases if r["status"] in ("pass", "xfail")),
            "total": sum(1 for r in cases if r["status"] != "skip")}


def _status_of(cases: List[Dict[str, Any]]) -> Dict[str, Any]:
    ran = [r["status"] for r in cases if r["status"] != "skip"]
    status = worst(ran) if ran else ("skip" if cases else "none")
    return {"status": status, "label": LABELS.get(status, "no cases"), "counts": _counts(cases)}


def _cell(cell_id: str, cases: List[Dict[str, Any]]) -> Dict[str, Any]:
    return dict(_status_of(cases), id=cell_id, cases=cases)


class _Strings(object):
    """A table of the page's strings, each stored once (messages and details repeat across cells)."""

    def __init__(self):
        self.items, self.index = [""], {"": 0}  # type: List[str], Dict[str, int]

    def __call__(self, text: str) -> int:
        if text not in self.index:
            self.index[text] = len(self.items)
            self.items.append(text)
        return self.index[text]


def case_data(grid_view: Dict[str, Any], timeline: Optional[Tuple[List[Dict[str, Any]], Dict[str, List[Any]]]] = None
              ) -> Dict[str, Any]:
    """Every cell's cases, once, for the page to render on demand: ``cells[id] = [model, runtime, device,
    [[status, test, expected, message, details, repro], ...]]`` with strings as indexes into ``strings``, trailing empty ones (0) left out (repro:
    the case's reproduction script in the report folder, or ""; since: "failing since …"; codes: its status
    per run of the history, one letter each; flaky: 1 or 0; reused: "reused from <run>" or "") and the cell's own
    timeline last."""
    runs, entries = timeline or ([], {})
    strings = _Strings()
    cells = {}
    for row in grid_view["rows"]:
        for (runtime, device), cell in zip(grid_view["columns"], row["cells"]):
            cells[cell["id"]] = [strings(row["model"]), strings(runtime), strings(device), [
                _trimmed([strings(r["status"]), strings(r["test"]), strings(r["expected"] or ""),
                          strings(r["message"] or ""), strings(_details_text(r)), strings(r.get("repro") or ""),
                          strings(_since_text(r)), strings(_case_codes(r, entries, len(runs))),
                          1 if r.get("flaky") else 0, strings(_reused_text(r))]) for r in cell["cases"]],
                strings(cell.get("timeline", ""))]
    return {"strings": strings.items, "cells": cells, "labels": LABELS, "codes": {
        code: status for status, code in TIMELINE_CODES.items()}, "runs": [
        [run["run"], run["created"], run.get("tensorflow") or ""] for run in runs]}


def _reused_text(result: Dict[str, Any]) -> str:
    return "reused from %s: its model, runtime and framework are unchanged since (--fresh runs it again)" % (
        result["reused_from"]) if result.get("reused_from") else ""


def _trimmed(entry: List[int]) -> List[int]:
    """Without its trailing zeros (index 0 is the empty string): most cases have no repro, since or flake."""
    while entry and entry[-1] == 0:
        entry.pop()
    return entry


def _since_text(result: Dict[str, Any]) -> str:
    since = result.get("since")
    if not since or result["status"] in ("pass", "skip"):
        return ""
    return "%s since %s (%s, TensorFlow %s)" % ("failing" if result["status"] != "xfail" else "failing as expected",
                                              since["run"], since["created"], since.get("tensorflow") or "?")


def _case_codes(result: Dict[str, Any], entries: Dict[str, List[Any]], length: int) -> str:
    mine = entries.get(result["test"]) or [None] * length
    codes = "".join(TIMELINE_CODES.get(e[0], "?") if e else "." for e in mine)
    return codes if len(set(codes)) > 1 else ""  # one status all along: the cell's timeline says it


def script_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no ``<``, ``>`` or ``&`` at all, so no model-supplied
    ``</script>`` or ``<!--`` can end or change the element (JSON.parse reads the escapes back)."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026")


def compat_table(results: List[Dict[str, Any]], formats: Dict[str, Optional[str]], runtimes: Sequence[str],
                 apis: Sequence[str], section: str = "compat") -> Dict[str, Any]:
    """Model format × api × runtime → works / fails (how), from the cpu cases of ``check`` (load: loading
    and calling; train: one fine-tuning step, the plain one: hub.KerasLayer's -signature and -frozen variants
    are about tensorflow_hub's options, not whether the format fine-tunes)."""
    checks = set(registry.with_section(section))  # the checks whose declaration puts them in this table
    cells = collections.defaultdict(list)
    for result in results:
        if result["check"] in checks and result["device"] == "cpu" and result["status"] != "skip" and (
                section != "compat_train" or result.get("signature") is None):  # the plain step, not the Keras variants
            cells[(formats.get(result["model"]) or "unknown", result["api"], result["runtime"])].append(result)
    rows = []
    for fmt in sorted({key[0] for key in cells}):
        for api in apis:
            entries = []
            for runtime in runtimes:
                cases = cells.get((fmt, api, runtime), [])
                if not cases:
                    entries.append({"text": "—", "status": "none"})
                    continue
                failing = [r for r in cases if r["status"] != "pass"]
                if not failing:
                    entries.append({"text": "works", "status": "pass"})
                    continue
                causes = sorted({cause_of(r) for r in failing})
                text = ("fails: " if len(failing) == len(cases) else "%d of %d fail: " % (len(failing), len(cases)))
                entries.append({"text": text + ", ".join(c for c in causes if c), "status": worst(
                    [r["status"] for r in failing])})
            rows.append({"format": fmt, "api": api, "entries": entries})
    return {"runtimes": list(runtimes), "rows": rows}


def cluster_table(results: List[Dict[str, Any]], runtimes: Sequence[str]) -> Dict[str, Any]:
    """The parameter-server case per model × api (rows) and runtime (columns): without / with the flag."""
    checks = set(registry.with_section("cluster"))
    cells = {}  # type: Dict[Tuple[str, str, str], Dict[str, Dict[str, Any]]]
    for result in results:
        if result["check"] in checks and result["status"] != "skip":
            cells.setdefault((result["model"], result["api"], result["runtime"]), {})[result["signature"]] = result
    rows = []
    for model, api in sorted({(m, a) for m, a, _ in cells}):
        entries = []
        for runtime in runtimes:
            variants = cells.get((model, api, runtime), {})
            parts = []
            for variant in CLUSTER_VARIANTS:
                result = variants.get(variant)
                if result is None:
                    continue
                if result["status"] == "pass":
                    parts.append("%s: trains" % variant)
                else:
                    cause = cause_of(result)
                    parts.append("%s: fails (%s)" % (variant, cause))
            statuses = [r["status"] for r in variants.values()]
            entries.append({"text": "; ".join(parts) or "—", "status": worst(statuses) if statuses else "none"})
        rows.append({"model": model, "api": api, "entries": entries})
    return {"runtimes": list(runtimes), "rows": rows}


def drift_table(results: List[Dict[str, Any]], runtimes: Sequence[str], check: Optional[str] = None) -> Dict[str, Any]:
    """Per model × api × step × device (rows) and runtime (columns): the largest relative difference of the
    ``check`` compare case's arrays (gradients, or variables after the step) from the reference's (cpu); by
    default the check whose declaration puts it in the drift table (gradient)."""
    check = check or registry.with_section("drift")[0]
    cells = {}  # type: Dict[Tuple[str, str, str, str, str], Dict[str, Any]]
    for result in results:
        if result["check"] == check and result["status"] != "skip":
            cells[(result["model"], result["api"], result["signature"], result["device"], result["runtime"])] = result
    rows = []
    for model, api, step, device in sorted({key[:4] for key in cells}):
        entries = []
        for runtime in runtimes:
            result = cells.get((model, api, step, device, runtime))
            if result is None:
                entries.append({"text": "—", "status": "none"})
                continue
            details = result["details"].get("details") or {}  # what the compare case recorded
            differences = details.get("differences") or []
            worst_rel = max([d.get("max_rel") or 0.0 for d in differences] or [0.0])
            margin = max([d.get("margin") or 0.0 for d in differences] or [0.0])  # of what the tolerance allows
            if details.get("reference") == "%s %s %s" % (runtime, device, api) and result["status"] == "pass":
                text = "reference"
            elif result["status"] == "pass":
                text = "max rel %.2g (%d%% of tolerance)" % (worst_rel, round(100 * margin))
            else:
                text = "%s: max rel %.2g" % (cause_of(result) or result["status"], worst_rel)
            entries.append({"text": text, "status": result["status"]})
        rows.append({"model": model, "api": api, "step": step, "device": device, "entries": entries})
    return {"runtimes": list(runtimes), "rows": rows}


_CAUSE_IN_MESSAGE = re.compile(r"but the cause is ([a-z][a-z0-9-]+)|\(([a-z][a-z0-9]*(?:-[a-z0-9]+)+): |"
                               r"^(?:Failed: )?\S+\[[^\]]*\]: ([a-z][a-z0-9]*(?:-[a-z0-9]+)*): ")


def cause_of(result: Dict[str, Any]) -> str:
    """The diagnosed cause of a failing case: from its recorded error (load, train, cluster), a failing
    signature, or the message (an expected failure's reads "reason (cause: diagnosis)")."""
    details = result["details"]
    for error in (details.get("error"), (details.get("train") or {}).get("error")):
        if error and error.get("cause"):
            return error["cause"]
    found = _CAUSE_IN_MESSAGE.search(result.get("message") or "")
    if found:
        return next(group for group in found.groups() if group)
    return _signature_cause(result)


def _signature_cause(result: Dict[str, Any]) -> str:
    for seen in (result["details"].get("signatures") or {}).values():
        if seen.get("error"):
            return seen["error"].get("cause", "")
    return result["message"].split(":")[0]


def plain_label(text: str, limit: int = 60) -> str:
    """A figure label shown as written: ``$`` never starts matplotlib's mathtext, long ids are cut."""
    text = text if len(text) <= limit else text[:limit - 1] + "\u2026"
    return text.replace("$", "\\$")


def heatmap_png(results: List[Dict[str, Any]], columns: List[Tuple[str, str]]) -> Optional[str]:
    """Max relative error per output × runtime/device (log scale), as an inline PNG data URI, of the checks
    whose declaration puts them in the heatmap (numeric)."""
    numeric = set(registry.with_section("heatmap"))
    values = {}  # type: Dict[Tuple[str, str], float]
    for result in results:
        if result["check"] not in numeric:
            continue
        for difference in result["details"].get("details", {}).get("differences", []):
            key = ("%s %s" % (result["model"], difference["path"]), "%s %s" % (result["runtime"], result["device"]))
            values[key] = max(values.get(key, 0.0), difference["max_rel"])
    if not values:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = sorted({k[0] for k in values})
    cols = ["%s %s" % c for c in columns if any(k[1] == "%s %s" % c for k in values)]
    grid_values = np.full((len(rows), len(cols)), np.nan)
    for (row, col), value in values.items():
        if col in cols:
            grid_values[rows.index(row), cols.index(col)] = math.log10(value) if value > 0 else -12.0
    figure, axes = plt.subplots(figsize=(1.2 + 0.55 * len(cols), 1.0 + 0.28 * len(rows)), dpi=90)
    image = axes.imshow(grid_values, cmap="viridis", vmin=-12, vmax=0, aspect="auto")
    axes.set_xticks(range(len(cols)))
    axes.set_xticklabels([plain_label(c) for c in cols], rotation=60, ha="right", fontsize=7)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([plain_label(r) for r in rows], fontsize=7)
    figure.colorbar(image, ax=axes, label="log10 max relative error (exact = -12)")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
