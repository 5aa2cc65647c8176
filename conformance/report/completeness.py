"""Whether a run finished: every case a runtime generated is recorded, or reported ``missing``.

Each process that runs a runtime's cases writes ``<runtime>/expected-cases.jsonl`` when collection ends:
one line per case it will run (selection and shards applied). A case listed there and recorded by no worker
never ran: the run was interrupted (Ctrl-C, a CI time limit) or its worker was killed. A run with such
cases is incomplete and can never look green.
"""
from __future__ import annotations

import glob
import json
import os
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

EXPECTED_CASES = "expected-cases.jsonl"
MISSING_MESSAGE = ("never recorded: the run was interrupted, or the worker that held this case was killed, "
                   "before it ran")


def expected_file(shard: Optional[Tuple[int, int]] = None) -> str:
    """``expected-cases.jsonl``, or one file per shard: shards of a runtime run as separate CI jobs whose
    folders are merged, and must not overwrite each other's lists."""
    return EXPECTED_CASES if shard is None else "expected-cases.shard-%d-of-%d.jsonl" % shard


def write_expected(folder: str, cases: Iterable[Dict[str, Any]], shard: Optional[Tuple[int, int]] = None) -> None:
    """Write the case list atomically (every worker collects the same list; the last write wins)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, expected_file(shard))
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w") as stream:
        for case in cases:
            stream.write(json.dumps(case, sort_keys=True) + "\n")
    os.replace(temporary, path)


def expected_cases(folder: str) -> List[Dict[str, Any]]:
    """Every case listed in the folder, by the unsharded run or by each shard."""
    cases = []  # type: List[Dict[str, Any]]
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), "expected-cases*.jsonl"))):
        with open(path) as stream:
            cases.extend(json.loads(line) for line in stream if line.strip())
    return cases


def shards_of(folder: str) -> Set[str]:
    """The shards (``k/n``) whose case lists are in ``folder`` (empty for an unsharded run)."""
    return {case["shard"] for case in expected_cases(folder) if case.get("shard")}


def missing_shards(seen: Iterable[str]) -> List[str]:
    """The ``k/n`` shards of a sharded run that are absent, from the ones seen."""
    seen = set(seen)
    counts = {int(shard.split("/")[1]) for shard in seen}
    return ["%d/%d" % (k, n) for n in sorted(counts) for k in range(1, n + 1) if "%d/%d" % (k, n) not in seen]


def missing_results(folder: str, recorded: Set[str]) -> List[Dict[str, Any]]:
    """Result entries (results.json shape) for the cases ``folder``'s runtime generated but never recorded."""
    found = []
    for case in expected_cases(folder):
        if case["test"] in recorded:
            continue
        entry = {key: value for key, value in case.items() if key != "shard"}
        found.append(dict(entry, status="missing", message=MISSING_MESSAGE, duration=None, details={}))
    return found
