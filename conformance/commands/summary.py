"""``summary``: counts per runtime for a run, from the observation files; exit 1 on unexpected results,
3 when the run is incomplete (cases generated but never recorded).

``summary --markdown`` instead writes GitHub's job summary of a finished report (its results.json): appended to
``$GITHUB_STEP_SUMMARY`` when that is set (in a GitHub Actions step), else printed. It exits 0 once written: the
report step already said red or green."""
from __future__ import annotations

import collections
import json
import os
import re
import sys
from typing import Dict, List

from conformance.observations import read_run, run_dir
from conformance.report import job_summary
from conformance.report.completeness import missing_results, missing_shards, shards_of
from conformance.run_ids import latest_run

STATUSES = ("pass", "xfail", "fail", "skip", "crash", "timeout", "error", "missing")


def register(commands) -> None:
    parser = commands.add_parser("summary", help="print case counts per runtime for a run")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--run-id", default=None,
                        help="run to summarize (default: $CONFORMANCE_RUN_ID if it has observations, else the "
                             "newest run)")
    parser.add_argument("--markdown", action="store_true",
                        help="write GitHub's job summary of a report (to $GITHUB_STEP_SUMMARY when set)")
    parser.add_argument("--report", default=None,
                        help="with --markdown: the report directory (default: <reports>/latest)")
    parser.add_argument("--report-url", default=None,
                        help="with --markdown: where the report is published, for links to its cells")
    parser.set_defaults(run=run)


def tally(documents: List[dict]) -> Dict[str, collections.Counter]:
    """Status counts per runtime; a case still marked ``running`` crashed or hung its worker."""
    counts = collections.OrderedDict()  # type: Dict[str, collections.Counter]
    for document in documents:
        counter = counts.setdefault(document["runtime"], collections.Counter())
        for entry in document["cases"].values():
            status = entry.get("status", "crash")
            counter["crash" if status == "running" else status] += 1
    return counts


def _reason(message: str) -> str:
    """A skip message with its case-specific parts (model, runtime, signature names) generalized."""
    message = message.split(" (probed:")[0]
    return re.sub(r"signature \S+ has one output", "signature has one output",
                  re.sub(r"runtime \S+ has no", "runtime has no", message))[:120]


def markdown(args) -> int:
    folder = args.report or os.path.join(args.reports, "latest")
    path = os.path.join(folder, "results.json")
    try:
        with open(path) as stream:
            document = json.load(stream)
    except OSError as error:
        print("summary: %s: %s (run `python -m conformance report` first)" % (path, error.strerror), file=sys.stderr)
        return 2
    except ValueError as error:
        print("summary: %s: not JSON: %s" % (path, error), file=sys.stderr)
        return 2
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        print("summary: %s: expected a results document (a \"results\" list)" % path, file=sys.stderr)
        return 2
    text = job_summary.markdown(document, args.report_url)
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a") as stream:
            stream.write(text)
        print("summary: job summary of %s appended to %s" % (path, target))
    else:
        sys.stdout.write(text)
    return 0


def run(args) -> int:
    if getattr(args, "markdown", False):  # (callers that build their own arguments may omit it)
        return markdown(args)
    wanted = os.environ.get("CONFORMANCE_RUN_ID")
    shared = wanted if wanted and os.path.isdir(os.path.join(args.reports, "runs", wanted)) else None
    run_id = args.run_id or shared or latest_run(args.reports)  # like report: `tox -e report` alone works
    if run_id is None:
        print("summary: no runs under %s/runs" % args.reports, file=sys.stderr)
        return 2
    documents = [document for _, document in read_run(args.reports, run_id)]
    if not documents:
        print("summary: run %s has no observations under %s/runs" % (run_id, args.reports), file=sys.stderr)
        return 2
    counts = tally(documents)
    recorded = {case_id for document in documents for case_id in document["cases"]}
    missing, lacking = [], []  # type: List[dict], List[str]
    base = run_dir(args.reports, run_id)
    for runtime in sorted(os.listdir(base)):
        found = missing_results(os.path.join(base, runtime), recorded) if os.path.isdir(
            os.path.join(base, runtime)) else []
        if found:
            counts.setdefault(runtime, collections.Counter())["missing"] += len(found)
            missing.extend(found)
        if os.path.isdir(os.path.join(base, runtime)):
            lacking.extend("%s shard %s" % (runtime, shard)
                           for shard in missing_shards(shards_of(os.path.join(base, runtime))))
    print("run %s" % run_id)
    print("%-16s" % "runtime" + "".join("%8s" % s for s in STATUSES) + "%8s" % "total")
    total = collections.Counter()  # type: collections.Counter
    for runtime, counter in counts.items():
        total.update(counter)
        print("%-16s" % runtime + "".join("%8d" % counter[s] for s in STATUSES) + "%8d" % sum(counter.values()))
    print("%-16s" % "all" + "".join("%8d" % total[s] for s in STATUSES) + "%8d" % sum(total.values()))
    reused = collections.Counter(entry["reused_from"] for document in documents
                                 for entry in document["cases"].values() if entry.get("reused_from"))
    if reused:
        print("reused %d cases from earlier runs (%s): unchanged model, runtime and framework; "
              "CONFORMANCE_FRESH=1 runs them again" % (sum(reused.values()), ", ".join(
                  "%s: %d" % item for item in sorted(reused.items()))))
    reasons = collections.Counter(_reason(entry.get("message") or "") for document in documents
                                  for entry in document["cases"].values() if entry.get("status") == "skip")
    for reason, count in reasons.most_common(5):
        print("skipped %5d: %s" % (count, reason))
    unexpected = [(case_id, entry) for document in documents for case_id, entry in sorted(document["cases"].items())
                  if entry.get("status") in ("fail", "crash", "timeout", "error", "running")]
    for case_id, entry in unexpected:
        what = "its worker died during the case" if entry.get("status") == "running" else entry.get("message", "")
        print("UNEXPECTED %s %s: %s" % (entry.get("status"), case_id, what[:300]))
    for result in missing[:20]:
        print("MISSING %s" % result["test"])
    if missing or lacking:
        total = sum(sum(counter.values()) for counter in counts.values())
        print("incomplete: %d of %d cases recorded (%d missing)%s" % (
            total - len(missing), total, len(missing), "; not in this run: %s" % ", ".join(lacking) if lacking
            else ""))
        return 3
    return 1 if unexpected else 0
