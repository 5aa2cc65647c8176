"""results.json: run info per runtime and one entry per case, merged from one or more run directories.

Merging shards or machines is strict: the same case id in two sources, or one runtime with two different
run infos (TensorFlow, tensorflow-hub, Python, mode), is an error that names both files.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any, Dict, List, Optional

from conformance.checks import registry
from conformance.observations import load_document
from conformance.report.completeness import missing_results, missing_shards, shards_of

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.schema.json")
RUN_INFO_KEYS = ("tensorflow", "tensorflow_hub", "python", "mode")
STATUSES = ("pass", "fail", "xfail", "skip", "crash", "timeout", "error", "missing", "nondeterministic",
            "regression")


class MergeError(ValueError):
    pass


class SchemaError(ValueError):
    """A results document that does not validate against its schema: a hub-conformance bug."""


def schema() -> Dict[str, Any]:
    """results.json's JSON Schema: results.schema.json with the ``check`` enum of the registered checks
    (conformance/checks/), so a check can never be missing from it. The report writes it beside results.json."""
    with open(SCHEMA_PATH) as stream:
        document = json.load(stream)
    check = document["properties"]["results"]["items"]["properties"]["check"]
    check["enum"] = registry.names()
    return document


def validate(document: Dict[str, Any], path: str) -> None:
    """Raise SchemaError naming ``path`` and the first errors (their JSON paths) when ``document`` does not
    validate against :func:`schema`."""
    import jsonschema

    errors = sorted(jsonschema.Draft7Validator(schema()).iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        shown = "; ".join("%s: %s" % ("/".join(str(p) for p in error.absolute_path) or "(document)",
                                      error.message[:200]) for error in errors[:3])
        raise SchemaError("%s does not validate against its schema (%d errors; a hub-conformance bug): %s%s"
                          % (path, len(errors), shown, "; ..." if len(errors) > 3 else ""))


def _status(entry: Dict[str, Any]) -> str:
    status = entry.get("status") or "crash"
    if status == "running":
        return "crash"
    named = registry.failure_status(entry.get("check") or "")  # a check may call its failures otherwise
    if status in ("fail", "xfail") and named != "fail":  # (repeat: nondeterministic)
        return named
    return status


def git_revision(root: str) -> Optional[str]:
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def collect(directories: List[str], root: str = ".") -> Dict[str, Any]:
    """The results document of the runs in ``directories`` (each ``reports/runs/<run-id>``)."""
    run_info = {}  # type: Dict[str, Dict[str, Any]]
    info_source = {}  # type: Dict[str, str]
    results = {}  # type: Dict[str, Dict[str, Any]]
    sources = {}  # type: Dict[str, str]
    shards = {}  # type: Dict[str, set]
    for directory in directories:
        for runtime in sorted(os.listdir(directory)):
            folder = os.path.join(directory, runtime)
            if not os.path.isdir(folder):
                continue
            for name in sorted(n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith(".")):
                path = os.path.join(folder, name)
                try:
                    document = load_document(path)
                except ValueError as error:
                    raise MergeError("%s: unreadable observation file: %s" % (path, error))
                info = document.get("run_info") or {}
                if runtime != "compare" and info:
                    if runtime in run_info:
                        for key in RUN_INFO_KEYS:
                            if run_info[runtime].get(key) != info.get(key):
                                raise MergeError("runtime %s has conflicting run info: %s %s in %s, %s in %s"
                                                 % (runtime, key, run_info[runtime].get(key), info_source[runtime],
                                                    info.get(key), path))
                    else:
                        run_info[runtime], info_source[runtime] = info, path
                for case_id, entry in (document.get("cases") or {}).items():
                    if case_id in results:
                        raise MergeError("case %s is recorded twice: in %s and in %s" % (case_id, sources[case_id],
                                                                                         path))
                    sources[case_id] = path
                    results[case_id] = _result(case_id, entry, runtime, directory)
            shards.setdefault(runtime, set()).update(shards_of(folder))
            for result in missing_results(folder, set(results)):
                result["source"] = os.path.relpath(folder, os.path.dirname(directory.rstrip(os.sep)))
                results[result["test"]] = result
    return {
        "schema": 1,
        "run_ids": [os.path.basename(d.rstrip(os.sep)) for d in directories],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "git_revision": git_revision(root),
        "run_info": run_info,
        "results": [results[key] for key in sorted(results)],
        "missing_shards": {runtime: missing_shards(seen) for runtime, seen in sorted(shards.items())
                           if missing_shards(seen)},
    }


DETAIL_KEYS = ("error", "signatures", "details", "hazards", "overhead", "ops", "threshold", "snippet", "proof",
               "semantics", "load_seconds", "load_cached", "skipped_because", "expected_cause",
               "expectation_source", "needed", "time_ratio", "loaded", "signatures_seen", "lost", "untrusted_ops", "sandbox",
               "harness_traceback", "tags", "tags_from_files", "handle", "clear_devices")
# A train case's step record (its signature, learning rate, error): what its repro script takes (repro/train.py).
DETAIL_KEYS += ("train",)
# A cluster case's record (its flag, its error or losses): what its repro script states.
DETAIL_KEYS += ("cluster",)


def _result(case_id: str, entry: Dict[str, Any], folder: str, directory: str) -> Dict[str, Any]:
    result = {
        "test": case_id,
        "check": entry.get("check") or case_id.split("[")[0],
        "model": entry.get("model"),
        "runtime": entry.get("runtime") or (None if folder == "compare" else folder),
        "device": entry.get("device"),
        "api": entry.get("api"),
        "signature": entry.get("signature"),
        "status": _status(entry),
        "expected": entry.get("expected") or "pass",
        "message": entry.get("message") or "",
        "duration": entry.get("duration"),
        "details": {key: entry[key] for key in DETAIL_KEYS if key in entry},
        "source": os.path.relpath(os.path.join(directory, folder), os.path.dirname(directory.rstrip(os.sep))),
    }
    if entry.get("reused_from"):
        result["reused_from"] = entry["reused_from"]
    return result


def incomplete(document: Dict[str, Any]) -> Optional[str]:
    """"incomplete: N of M cases recorded" when cases are missing, else None."""
    missing = sum(1 for r in document["results"] if r["status"] == "missing")
    lacking = ["%s shard %s" % (runtime, shard) for runtime, found in sorted((document.get("missing_shards") or {})
                                                                              .items()) for shard in found]
    if not missing and not lacking:
        return None
    total = len(document["results"])
    message = "incomplete: %d of %d cases recorded (%d missing)" % (total - missing, total, missing)
    return message + ("; not in this merge: %s" % ", ".join(lacking) if lacking else "")


def unexpected(result: Dict[str, Any]) -> bool:
    """Results that make the run fail: what the expectations did not foresee."""
    return result["status"] in ("fail", "crash", "timeout", "error", "missing", "regression") or (
        result["status"] == "nondeterministic" and result["expected"] != "fail")


def write(document: Dict[str, Any], path: str) -> None:
    """One case per line (``grep`` a case id and get its whole record), the rest indented; each case is encoded
    by json's C encoder, which an ``indent`` would turn off (a 100-model run: ~30,000 cases)."""
    with open(path, "w") as stream:
        stream.write("{\n")
        keys = sorted(document)
        for number, key in enumerate(keys):
            stream.write(" %s: " % json.dumps(key))
            if key == "results":
                stream.write("[\n" + ",\n".join("  " + json.dumps(result, sort_keys=True, default=str)
                                                for result in document[key]) + "\n ]")
            else:
                stream.write(json.dumps(document[key], indent=1, sort_keys=True, default=str).replace("\n", "\n "))
            stream.write(",\n" if number < len(keys) - 1 else "\n")
        stream.write("}\n")
