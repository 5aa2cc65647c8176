"""``bisect``: the adjacent pair of TensorFlow builds where a case's (or a cell's) outcome changes.

Given a case of a runtime and two builds of one kind (two releases, or two dated nightly builds), it lists the
builds between them that the package index has, probes each one it needs in a throwaway env
(conformance/bisect_probe.py) and binary-searches (conformance/bisect_search.py) to the last build with the
older build's outcome and the first with another. It prints both with their dates and GIT_VERSIONs and every
probe, and writes the same as JSON (reports/bisect/<case>.json). Exit 0 when found, 1 when there is nothing
to find (both endpoints give the same outcome, or one cannot be probed), 2 on bad input.
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Dict, List

from packaging.version import InvalidVersion, Version

from conformance.bisect_probe import Prober, Target, build_requirement, parse_target
from conformance.bisect_search import Bisection, BisectError, Probe, bisect
from conformance.matrix import load_matrix
from conformance.package_index import PackageIndexError, builds_between, fetch, index_url
from conformance.report.repro import stem
from conformance.yaml_source import SourceError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def register(commands) -> None:
    parser = commands.add_parser("bisect", help="find the TensorFlow build where a case's outcome changes")
    parser.add_argument("target", help="a case id (load[hazard-tf2.21-cpu-hub.load], test_load[...] or its nodeid)"
                                       " or a cell MODEL/RUNTIME/DEVICE; its runtime is the one probed")
    parser.add_argument("old", help="the older build: tensorflow-cpu==2.15.1, tf-nightly==2.23.0.dev20261001, or"
                                    " a bare version of the runtime's TensorFlow distribution")
    parser.add_argument("new", help="the newer build, of the same distribution and kind")
    parser.add_argument("--builds", default=None, metavar="V1,V2,...",
                        help="search these versions (with the endpoints) instead of the index's list")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--output", default=None, help="JSON file (default: REPORTS/bisect/<case>.json)")
    parser.add_argument("--zoo", default=None, help="zoo directory (default: $CONFORMANCE_ZOO_DIR or .zoo)")
    parser.add_argument("--work", default=None, help="where the throwaway envs go (default: REPORTS/bisect/work)")
    parser.add_argument("--keep-envs", action="store_true", help="keep each probe's env")
    parser.set_defaults(run=run)


def _described(probe: Probe) -> str:
    if probe.skipped is not None:
        return "skipped: %s" % probe.skipped
    return probe.outcome or ""


def _side(label: str, distribution: str, probe: Probe) -> str:
    return "%s %s==%s (%s, GIT_VERSION %s): %s" % (label, distribution, probe.build, probe.details.get("date") or
                                                  "date unknown", probe.details.get("git_version") or "unknown",
                                                  probe.outcome)


def _builds(args, distribution: str, old: str, new: str) -> List[tuple]:
    if args.builds:
        try:
            between = sorted({v.strip() for v in args.builds.split(",")} - {"", old, new}, key=Version)
        except InvalidVersion as error:
            raise SourceError("bisect: --builds %s: %s" % (args.builds, error))
        versions = [old] + [v for v in between if Version(old) < Version(v) < Version(new)] + [new]
        return [(version, None) for version in versions]
    return builds_between(distribution, old, new, fetch(distribution))


def run(args) -> int:
    matrix = load_matrix(args.matrix)
    target = parse_target(args.target, matrix)  # type: Target
    runtime = matrix.runtime(target.runtime)
    distribution, old = build_requirement(args.old, runtime)
    other, new = build_requirement(args.new, runtime)
    if other != distribution:
        raise SourceError("bisect: %s and %s: both builds must be of one distribution" % (args.old, args.new))
    try:
        listed = _builds(args, distribution, old, new)
    except PackageIndexError as error:
        print("bisect: %s" % error, file=sys.stderr)
        return 2
    dates = dict((version, date) for version, date in listed)  # type: Dict[str, str]
    builds = [version for version, _ in listed]
    print("bisect %s in runtime %s (%s mode): %s %s .. %s, %d builds%s" % (
        target.name, runtime.id, runtime.mode, distribution, old, new, len(builds),
        "" if args.builds else " on %s" % index_url()))
    work = args.work or os.path.join(args.reports, "bisect", "work")
    os.makedirs(work, exist_ok=True)
    zoo = args.zoo or os.environ.get("CONFORMANCE_ZOO_DIR") or os.path.join(ROOT, ".zoo")
    prober = Prober(ROOT, args.matrix, target, distribution, work, zoo, dates=dates, keep_envs=args.keep_envs,
                    log=lambda text: print("  " + text, flush=True))

    def report(probe: Probe) -> None:
        print("probe %s==%s: %s (%.0f s)" % (distribution, probe.build, _described(probe), probe.seconds),
              flush=True)

    started = time.time()
    try:
        found = bisect(builds, prober, report)  # type: Bisection
    except BisectError as error:
        print("bisect: %s" % error, file=sys.stderr)
        return 1
    seconds = time.time() - started
    print(_side("last good:", distribution, found.last_good))
    print(_side("first bad:", distribution, found.first_bad))
    if found.skipped_between:
        print("the change may be in a build between them that could not be probed: %s"
              % ", ".join(p.build for p in found.skipped_between))
    skipped = sum(1 for p in found.probes if p.skipped is not None)
    print("probes: %d (%d skipped) of %d builds, %.0f s" % (len(found.probes), skipped, len(builds), seconds))
    output = args.output or os.path.join(args.reports, "bisect", "%s.json" % stem(target.name.replace("/", "-")))
    document = dict(found.as_dict(), target=target.name, runtime=runtime.id, mode=runtime.mode,
                    distribution=distribution, old=old, new=new, dates=dates, seconds=round(seconds, 1),
                    index=None if args.builds else index_url())
    folder = os.path.dirname(output)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(output, "w") as stream:
        json.dump(document, stream, indent=1, sort_keys=True)
    print("written: %s" % output)
    return 0
