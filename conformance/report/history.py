"""The history store: ``reports/history.sqlite`` (sqlite3 from the standard library), one row per case per run,
with the runtime's package versions and the model's file digest. Every ``report`` adds its run; the report and
results.json then say per case since when it has its status (``since``) and whether it flipped while nothing it
depends on changed (``flaky``).

A case's row is keyed by the run its observations came from (the first part of its ``source``), not by the
report: rendering a run again, or rendering the merge of shards recorded under one run id, replaces that run's
rows instead of adding a second copy, so a shard merge leaves one consistent history.
"""
from __future__ import annotations

import json
import os
import sqlite3
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

STORE_NAME = "history.sqlite"
TIMELINE_RUNS = 10  # the runs a timeline shows, and the window in which a flip counts as a flake
OUTCOMES_WITHOUT_A_VERDICT = ("skip", "missing")  # a flip into or out of these is not a flake
VERSION_KEYS = ("tensorflow", "tensorflow_hub", "python", "numpy", "mode", "distributions")

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run TEXT PRIMARY KEY, created TEXT NOT NULL, git_revision TEXT,
                                 tensorflow TEXT);
CREATE TABLE IF NOT EXISTS cases (run TEXT NOT NULL, test TEXT NOT NULL, status TEXT NOT NULL, expected TEXT,
                                  model TEXT, runtime TEXT, device TEXT, api TEXT, digest TEXT, versions TEXT,
                                  PRIMARY KEY (run, test));
CREATE INDEX IF NOT EXISTS cases_by_test ON cases (test);
"""
COLUMNS = ("run", "test", "status", "expected", "model", "runtime", "device", "api", "digest", "versions")


class HistoryError(ValueError):
    pass


def store_path(reports: str) -> str:
    return os.path.join(reports, STORE_NAME)


def connect(path: str) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(path)
        connection.executescript(SCHEMA)
    except sqlite3.DatabaseError as error:
        raise HistoryError("%s: not a history store (%s); move it away to start a new history" % (path, error))
    return connection


def run_of(result: Dict[str, Any], fallback: str) -> str:
    """The run a case's observations came from: ``source`` is ``<run-id>/<runtime>``."""
    source = result.get("source") or ""
    return source.replace(os.sep, "/").split("/")[0] or fallback


def versions_of(run_info: Dict[str, Any], runtime: Optional[str]) -> str:
    """The package versions a case ran with, as stable JSON: its runtime's, or every runtime's for the
    cross-runtime (compare) cases."""
    def packages(info):
        return {key: info.get(key) for key in VERSION_KEYS if info.get(key) is not None}
    if runtime and runtime in run_info:
        chosen = packages(run_info[runtime])
    else:
        chosen = {name: packages(info) for name, info in sorted(run_info.items())}
    return json.dumps(chosen, sort_keys=True, separators=(",", ":"))


def _tensorflow(run_info: Dict[str, Any]) -> str:
    return ", ".join(sorted({str(info.get("tensorflow")) for info in run_info.values() if info.get("tensorflow")}))


def record(connection: sqlite3.Connection, document: Dict[str, Any], digests: Dict[str, Optional[str]]) -> List[str]:
    """Add the runs of results ``document`` (replacing what the store holds of them); returns their ids."""
    fallback = "+".join(document["run_ids"])
    rows = []
    versions = {}  # type: Dict[Optional[str], str]
    for result in document["results"]:
        runtime = result.get("runtime")
        if runtime not in versions:
            versions[runtime] = versions_of(document["run_info"], runtime)
        rows.append((run_of(result, fallback), result["test"], result["status"], result.get("expected"),
                     result.get("model"), runtime, result.get("device"), result.get("api"),
                     digests.get(result.get("model") or ""), versions[runtime]))
    runs = sorted({row[0] for row in rows})
    with connection:
        for run in runs:
            connection.execute("INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?)",  # the first report dates the run
                               (run, document["created"], document.get("git_revision"),
                                _tensorflow(document["run_info"])))
            connection.execute("UPDATE runs SET tensorflow = ? WHERE run = ?", (_tensorflow(document["run_info"]), run))
        # a run rendered again (more shards, another merge) replaces its rows: keyed by (run, test)
        connection.executemany("INSERT OR REPLACE INTO cases VALUES (%s)" % ", ".join("?" * len(COLUMNS)), rows)
    return runs


def merge(connection: sqlite3.Connection, other_path: str, own_path: str = "the store") -> Tuple[int, int]:
    """Add another store's runs and cases (a shard's or another machine's); a case recorded by both with a
    different status is an error naming both stores. Returns (runs added, cases added)."""
    other = connect(other_path)
    try:
        theirs = other.execute("SELECT %s FROM cases" % ", ".join(COLUMNS)).fetchall()
        their_runs = other.execute("SELECT run, created, git_revision, tensorflow FROM runs").fetchall()
    finally:
        other.close()
    ours = {(run, test): status for run, test, status in connection.execute("SELECT run, test, status FROM cases")}
    for row in theirs:
        mine = ours.get((row[0], row[1]))
        if mine is not None and mine != row[2]:
            raise HistoryError("case %s of run %s is %s in %s and %s in %s" % (row[1], row[0], mine, own_path,
                                                                             row[2], other_path))
    known = {run for (run,) in connection.execute("SELECT run FROM runs")}
    with connection:
        connection.executemany("INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?)", their_runs)
        connection.executemany("INSERT OR IGNORE INTO cases VALUES (%s)" % ", ".join("?" * len(COLUMNS)), theirs)
    added = [row for row in theirs if (row[0], row[1]) not in ours]
    return len({run for run, _, _, _ in their_runs} - known), len(added)


def recent_runs(connection: sqlite3.Connection, limit: int = TIMELINE_RUNS,
                upto: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """The last ``limit`` runs, oldest first (ending with the runs ``upto`` when given: a report of an older run
    does not see later ones)."""
    runs = [dict(zip(("run", "created", "git_revision", "tensorflow"), row)) for row in connection.execute(
        "SELECT run, created, git_revision, tensorflow FROM runs ORDER BY created, run")]
    if upto:
        last = max(i for i, run in enumerate(runs) if run["run"] in upto)
        runs = runs[:last + 1]
    return runs[-limit:]


def timelines(connection: sqlite3.Connection, runs: List[Dict[str, Any]],
              tests: Optional[Iterable[str]] = None) -> Dict[str, List[Optional[Tuple]]]:
    """Per test, one entry per run of ``runs`` (None where the test has no row): (status, expected, digest,
    versions)."""
    position = {run["run"]: i for i, run in enumerate(runs)}
    wanted = set(tests) if tests is not None else None
    found = {}  # type: Dict[str, List[Optional[Tuple]]]
    marks = ", ".join("?" * len(runs))
    for run, test, status, expected, digest, versions in connection.execute(
            "SELECT run, test, status, expected, digest, versions FROM cases WHERE run IN (%s)" % marks,
            [run["run"] for run in runs]):
        if wanted is not None and test not in wanted:
            continue
        found.setdefault(test, [None] * len(runs))[position[run]] = (status, expected, digest, versions)
    return found


_TENSORFLOW_OF = {}  # type: Dict[str, str]


def _tensorflow_of(versions_json: Optional[str]) -> str:
    """TensorFlow's version in a row's versions: its runtime's, or every runtime's (compare cases)."""
    key = versions_json or "{}"
    if key not in _TENSORFLOW_OF:
        versions = json.loads(key)
        _TENSORFLOW_OF[key] = versions.get("tensorflow") or ", ".join(sorted({
            str(v.get("tensorflow")) for v in versions.values() if isinstance(v, dict) and v.get("tensorflow")}))
    return _TENSORFLOW_OF[key]


def since(entries: List[Optional[Tuple]], runs: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The first run of the case's current streak (same status, no gap) — "failing since" for a failure."""
    if not entries or entries[-1] is None:
        return None
    first = len(entries) - 1
    while first > 0 and entries[first - 1] is not None and entries[first - 1][0] == entries[-1][0]:
        first -= 1
    run = runs[first]
    tensorflow = _tensorflow_of(entries[first][3])
    return {"run": run["run"], "created": run["created"], "tensorflow": tensorflow or run["tensorflow"],
            "runs": len(entries) - first}


def flips(entries: List[Optional[Tuple]]) -> List[int]:
    """Indexes i where the case's status changed from run i-1 to run i while its model digest, package versions
    and expectation stayed the same: a flake (two recorded verdicts, nothing that could explain the change)."""
    found = []
    for i in range(1, len(entries)):
        before, after = entries[i - 1], entries[i]
        if before is None or after is None or before[0] == after[0]:
            continue
        if before[0] in OUTCOMES_WITHOUT_A_VERDICT or after[0] in OUTCOMES_WITHOUT_A_VERDICT:
            continue
        if before[1:] == after[1:]:
            found.append(i)
    return found


def annotate(connection: sqlite3.Connection, document: Dict[str, Any],
             limit: int = TIMELINE_RUNS) -> Tuple[List[Dict[str, Any]], Dict[str, List[Optional[Tuple]]]]:
    """Set ``since`` and ``flaky`` on every result of ``document`` from the store (which holds its runs);
    returns the runs of the timeline and each test's entries, for the page."""
    runs = recent_runs(connection, limit, sorted({run_of(r, "+".join(document["run_ids"]))
                                                  for r in document["results"]}))
    entries = timelines(connection, runs, (r["test"] for r in document["results"]))
    for result in document["results"]:
        mine = entries.get(result["test"]) or []
        result["since"] = since(mine, runs)
        result["flaky"] = bool(flips(mine))
    return runs, entries


def case_timeline(connection: sqlite3.Connection, test: str, limit: int = 50) -> List[Dict[str, Any]]:
    """One case's rows, oldest first, with its run's date and TensorFlow, and where it flipped as a flake."""
    runs = recent_runs(connection, limit=10 ** 9)
    entries = timelines(connection, runs, [test]).get(test) or []
    rows = []
    flaky = set(flips(entries))
    for i, (run, entry) in enumerate(zip(runs, entries)):
        if entry is None:
            continue
        rows.append({"run": run["run"], "created": run["created"], "status": entry[0], "expected": entry[1],
                     "digest": entry[2], "versions": json.loads(entry[3] or "{}"), "flip": i in flaky})
    return rows[-limit:]
