"""``history``: one case's timeline from the history store (``python -m conformance history CASE``), or
``--merge STORE...`` to add other stores (a shard's, another machine's) to this one."""
from __future__ import annotations

import os
import sys

from conformance.report import history


def register(commands) -> None:
    parser = commands.add_parser("history", help="print one case's timeline from the history store, or merge stores")
    parser.add_argument("case", nargs="?", help="case id, e.g. 'load[text_embed-tf2.21-cpu-hub.load]'")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--store", default=None, help="history store (default: <reports>/history.sqlite)")
    parser.add_argument("--runs", type=int, default=20, help="how many of the case's last runs to print")
    parser.add_argument("--merge", nargs="+", default=None, metavar="STORE", help="add these stores' runs to it")
    parser.set_defaults(run=run)


def run(args) -> int:
    path = args.store or history.store_path(args.reports)
    if args.merge:
        return _merge(path, args.merge)
    if not args.case:
        print("history: name a case (its id, as in results.json's \"test\"), or --merge STORE...", file=sys.stderr)
        return 2
    if not os.path.isfile(path):
        print("history: %s: no history store (each `report` adds its run to it)" % path, file=sys.stderr)
        return 2
    try:
        connection = history.connect(path)
    except history.HistoryError as error:
        print("history: %s" % error, file=sys.stderr)
        return 2
    try:
        rows = history.case_timeline(connection, args.case, args.runs)
    finally:
        connection.close()
    if not rows:
        print("history: case %s is in no run of %s" % (args.case, path), file=sys.stderr)
        return 2
    print(args.case)
    print("%-28s %-20s %-17s %-9s %-16s %-16s" % ("run", "created", "status", "expected", "tensorflow", "digest"))
    for row in rows:
        tensorflow = row["versions"].get("tensorflow") or ", ".join(
            sorted({str(v.get("tensorflow")) for v in row["versions"].values() if isinstance(v, dict)}))
        print("%-28s %-20s %-17s %-9s %-16s %-16s%s" % (row["run"], row["created"], row["status"], row["expected"] or "",
                                                        tensorflow, row["digest"] or "-",
                                                        "  FLIP (same model and versions: flaky)" if row["flip"] else ""))
    streak = 1
    while streak < len(rows) and rows[-streak - 1]["status"] == rows[-1]["status"]:
        streak += 1
    first = rows[-streak]
    print("%s since %s (%s, TensorFlow %s), %d run(s)%s" % (
        rows[-1]["status"], first["run"], first["created"], first["versions"].get("tensorflow", "of several runtimes"),
        streak, "; flaky" if any(row["flip"] for row in rows) else ""))
    return 0


def _merge(path: str, others) -> int:
    try:
        connection = history.connect(path)
        try:
            for other in others:
                if not os.path.isfile(other):
                    print("history: %s: no such store" % other, file=sys.stderr)
                    return 2
                runs, cases = history.merge(connection, other, path)
                print("history: %s: %d run(s), %d case row(s) added to %s" % (other, runs, cases, path))
        finally:
            connection.close()
    except history.HistoryError as error:
        print("history: %s" % error, file=sys.stderr)
        return 2
    return 0
