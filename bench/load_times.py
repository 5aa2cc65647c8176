"""Load and call times per runtime × api from a run's observations (no TensorFlow needed).

    python bench/load_times.py [--reports reports] [--run-id ID]

Prints, per runtime and api, how many cells loaded, the median and max load time (first load per worker,
cached loads left out) and the median call time over all signatures.
"""
import argparse
import collections
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from conformance.observations import read_run  # noqa: E402
from conformance.run_ids import latest_run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--run-id", default=None)
    args = parser.parse_args()
    run_id = args.run_id or latest_run(args.reports)
    if not run_id:
        sys.exit("no run under %s/runs: run `tox -p` first" % args.reports)
    loads = collections.defaultdict(list)
    calls = collections.defaultdict(list)
    spans = collections.defaultdict(list)
    for _, document in read_run(args.reports, run_id):
        for entry in document["cases"].values():
            key = (entry.get("runtime", document["runtime"]), entry.get("api", "?"))
            if entry.get("loaded") and not entry.get("load_cached"):
                loads[key].append(entry["load_seconds"])
            for signature in (entry.get("signatures") or {}).values():
                if "call_seconds" in signature:
                    calls[key].append(signature["call_seconds"])
            if "started" in entry:
                spans[key[0]].append(entry["started"] + entry.get("duration", 0.0))
                spans[key[0]].append(entry["started"])
    print("run %s" % run_id)
    print("%-14s %-15s %6s %10s %10s %10s" % ("runtime", "api", "loads", "load med", "load max", "call med"))
    for key in sorted(set(loads) | set(calls)):
        load = loads.get(key) or [float("nan")]
        call = calls.get(key) or [float("nan")]
        print("%-14s %-15s %6d %9.3fs %9.3fs %9.4fs" % (key + (len(loads.get(key, [])), statistics.median(load),
                                                               max(load), statistics.median(call))))
    for runtime, times in sorted(spans.items()):
        print("%-14s cases span %.1fs" % (runtime, max(times) - min(times)))


if __name__ == "__main__":
    main()
