"""``report``: results.json, junit.xml and index.html for a run under reports/<run-id>/, the diff against
the previous report, reports/latest → the newest complete run. Exits 1 on unexpected results (CI goes red
for those), 3 on an incomplete run (cases missing)."""
from __future__ import annotations

import json
import os
import sys
import time

from conformance import expectation_audit
from conformance.compare.observed import run_directories
from conformance.matrix import load_matrix
from conformance.report import history, html, junit, model_digest, repro, results
from conformance.report.diff import diff
from conformance.run_ids import latest_run


# see README "What a run promises": 0 ok, 1 unexpected, 2 bad input, 3 incomplete; 4 output that cannot be
# written, including a results document that fails its own schema (a hub-conformance bug: nothing is written)
CANNOT_WRITE = 4


def register(commands) -> None:
    parser = commands.add_parser("report", help="write the HTML / JSON / JUnit report of a run")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--run-id", action="append", default=None,
                        help="run id or directory (repeat to merge shards; default: $CONFORMANCE_RUN_ID if "
                             "recorded, else the newest run)")
    parser.add_argument("--baseline", default=None, help="results.json (or report directory) to diff against "
                                                         "(default: the newest earlier report)")
    parser.add_argument("--output", default=None, help="report directory (default: reports/<run-id>)")
    parser.add_argument("--repro-expected", action="store_true",
                        help="also write repro/<case>.py for expected failures (always: for unexpected ones)")
    parser.add_argument("--force-latest", action="store_true",
                        help="point reports/latest at this run even if it is incomplete")
    parser.add_argument("--history", default=None,
                        help="history store this run adds itself to (default: <reports>/history.sqlite)")
    parser.add_argument("--zoo", default=None, help="zoo directory, for the models' file digests in the history "
                                                    "(default: $CONFORMANCE_ZOO_DIR or .zoo)")
    parser.set_defaults(run=run)


def _runs(args):
    if args.run_id:
        return args.run_id
    wanted = os.environ.get("CONFORMANCE_RUN_ID")
    if wanted and os.path.isdir(os.path.join(args.reports, "runs", wanted)):
        return [wanted]
    newest = latest_run(args.reports)
    return [newest] if newest else []


def _previous(reports: str, current: str):
    """The newest earlier report of a complete run: an interrupted run is never the baseline (its missing
    cases would come back as "added", and a real regression among them would hide there)."""
    names = sorted(n for n in os.listdir(reports) if os.path.isfile(os.path.join(reports, n, "results.json"))
                   and n < current) if os.path.isdir(reports) else []
    for name in reversed(names):
        try:
            with open(os.path.join(reports, name, "results.json")) as stream:
                document = json.load(stream)
        except (OSError, ValueError):
            continue  # an unreadable report is no baseline either
        if isinstance(document, dict) and isinstance(document.get("results"), list) \
                and results.incomplete(document) is None:
            return os.path.join(reports, name)
    return None


def _load_baseline(path):
    if path is None:
        return None, None
    if os.path.isdir(path):
        path = os.path.join(path, "results.json")
    with open(path) as stream:
        return json.load(stream), path


def run(args) -> int:
    runs = _runs(args)
    if not runs:
        print("report: no runs under %s/runs (run `tox -p` first)" % args.reports, file=sys.stderr)
        return 2
    started = time.perf_counter()
    directories = run_directories(args.reports, runs)
    args.run_directories = directories
    try:
        document = results.collect(directories, root=os.path.dirname(os.path.abspath(args.matrix)))
    except results.MergeError as error:
        print("report: %s" % error, file=sys.stderr)
        return 2
    name = "+".join(document["run_ids"])
    output = args.output or os.path.join(args.reports, name)
    try:
        return _write(args, document, output, name, started)
    except OSError as error:
        print("report: cannot write %s: %s" % (error.filename or output, error.strerror or error), file=sys.stderr)
        return CANNOT_WRITE
    except results.SchemaError as error:  # a harness error: output that cannot be written as documented
        print("report: %s" % error, file=sys.stderr)
        return CANNOT_WRITE
    except history.HistoryError as error:
        print("report: %s" % error, file=sys.stderr)
        return 2


def _add_to_history(args, document, matrix):
    """Record the run in the history store; set ``since`` / ``flaky`` per case; the timeline for the page."""
    path = args.history or history.store_path(args.reports)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    root = os.path.dirname(os.path.abspath(args.matrix))
    zoo = os.path.abspath(args.zoo or os.environ.get("CONFORMANCE_ZOO_DIR") or os.path.join(root, ".zoo"))
    connection = history.connect(path)
    try:
        history.record(connection, document, model_digest.digests(matrix, zoo, root))
        runs, entries = history.annotate(connection, document)
    finally:
        connection.close()
    document["history"] = {"store": path, "runs": runs}
    return runs, entries


def _write(args, document, output: str, name: str, started: float) -> int:
    os.makedirs(output, exist_ok=True)
    baseline, baseline_path = _load_baseline(args.baseline or _previous(args.reports, name))
    label = baseline_path and (os.path.basename(os.path.dirname(os.path.abspath(baseline_path)))
                               if os.path.basename(baseline_path) == "results.json" else baseline_path)
    matrix = load_matrix(args.matrix)
    timeline = _add_to_history(args, document, matrix)  # before the diff renames failures "regression"
    run_diff = diff(document, baseline, label)
    document["diff"] = run_diff.as_dict()
    document["expectations"] = expectation_audit.coverage(document["results"], matrix.expectations)
    runs_root = os.path.dirname(os.path.abspath(args.run_directories[0].rstrip(os.sep)))
    no_repro = repro.write(document, runs_root, output, {r.id: dict(r.env) for r in matrix.runtimes},
                           expected_too=args.repro_expected)
    path = os.path.join(output, "results.json")
    results.validate(document, path)  # before results.json is written: a mismatch is our bug (exit 4)
    results.write(document, path)
    with open(os.path.join(output, "results.schema.json"), "w") as stream:
        json.dump(results.schema(), stream, indent=1)
        stream.write("\n")
    junit.write(document, os.path.join(output, "junit.xml"))
    text = html.render(document, run_diff, [r.id for r in matrix.runtimes], matrix.apis,
                       {m.id: m.format for m in matrix.models}, timeline)
    with open(os.path.join(output, "index.html"), "w") as stream:
        stream.write(text)
    unfinished = results.incomplete(document)
    latest = os.path.join(args.reports, "latest")
    if args.output is None and (unfinished is None or args.force_latest):
        if os.path.islink(latest):
            os.remove(latest)
        if not os.path.exists(latest):
            os.symlink(name, latest)
    bad = [r for r in document["results"] if results.unexpected(r)]
    for line in run_diff.lines():
        print(line)
    for result in bad[:20]:
        print("UNEXPECTED %s %s: %s%s" % (result["status"], result["test"], result["message"][:200],
                                          " (reproduce: %s)" % os.path.join(output, result["repro"])
                                          if result.get("repro") else ""))
    print(expectation_audit.coverage_line(document["expectations"]))
    for line in no_repro[:20]:
        print("report: %s" % line)
    print("report: %s (%d cases, %d unexpected; index.html %d kB, rendered in %.1fs)"
          % (os.path.join(output, "index.html"), len(document["results"]), len(bad), len(text) // 1024,
             time.perf_counter() - started))
    if unfinished:
        print("report: %s; reports/latest %s" % (unfinished, "moved (--force-latest)" if args.force_latest
                                                 else "not moved"))
        return 3
    return 1 if bad else 0
