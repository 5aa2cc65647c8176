"""The store of reusable observations: ``<cache>/hub-conformance/reuse/`` (``$CONFORMANCE_REUSE_DIR``).

One folder per key, ``<key[:2]>/<key>/``: ``entry.json`` (the case's recorded fields, the run that recorded
it, its settled verdict) and the ``.npz`` files it names, under the same relative paths as in the run's
observation folder. A folder appears whole or not at all (written aside, then renamed), so two runs at once
never read half an entry; the first of two runs to store a key keeps it. A read touches ``entry.json``: the
store is bounded (``$CONFORMANCE_REUSE_MAX_MB``, 1024 by default) by removing the least recently used
entries, one process at a time. A key seen with two outcomes is marked flaky and never reused again.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

DIR_ENV = "CONFORMANCE_REUSE_DIR"
MAX_MB_ENV = "CONFORMANCE_REUSE_MAX_MB"
DEFAULT_MAX_MB = 1024
ENTRY = "entry.json"


def default_root() -> str:
    if os.environ.get(DIR_ENV):
        return os.environ[DIR_ENV]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "hub-conformance", "reuse")


def max_bytes() -> int:
    text = os.environ.get(MAX_MB_ENV, "")
    try:
        return int(float(text) * (1 << 20)) if text else DEFAULT_MAX_MB << 20
    except ValueError:
        raise ValueError("$%s=%r: expected a number of megabytes" % (MAX_MB_ENV, text))


def files_named(value: Any) -> Iterator[str]:
    """The observation files an entry names: every string value ending in ``.npz`` (``outputs/...``)."""
    if isinstance(value, dict):
        for item in value.values():
            for found in files_named(item):
                yield found
    elif isinstance(value, list):
        for item in value:
            for found in files_named(item):
                yield found
    elif isinstance(value, str) and value.endswith(".npz") and not os.path.isabs(value) and ".." not in value:
        yield value


class Stored(object):
    """One stored case: its fields, the run that recorded them, its verdict, and where its files are."""

    def __init__(self, folder: str, document: Dict[str, Any]):
        self.folder = folder
        self.fields = document["fields"]  # type: Dict[str, Any]
        self.run_id = document["run_id"]  # type: str
        self.verdict = document["verdict"]  # type: Dict[str, Any]
        self.status = document["status"]  # type: str

    def copy_files(self, observations: str) -> None:
        """Copy its files into this run's observation folder (raises OSError if the store lost them)."""
        for relative in sorted(set(files_named(self.fields))):
            target = os.path.join(observations, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(os.path.join(self.folder, relative), target)


class ReuseStore(object):
    def __init__(self, root: Optional[str] = None, limit: Optional[int] = None):
        self.root = root or default_root()
        self.limit = max_bytes() if limit is None else limit

    def _folder(self, key: str) -> str:
        return os.path.join(self.root, key[:2], key)

    def _flaky_mark(self, key: str) -> str:
        return os.path.join(self.root, "flaky", key)

    def get(self, key: str) -> Optional[Stored]:
        folder = self._folder(key)
        path = os.path.join(folder, ENTRY)
        try:
            with open(path) as stream:
                document = json.load(stream)
            os.utime(path, None)  # recently used
            return Stored(folder, document)
        except (OSError, ValueError, KeyError):
            return None

    def is_flaky(self, key: str) -> bool:
        return os.path.exists(self._flaky_mark(key))

    def mark_flaky(self, key: str) -> None:
        """Two outcomes for one key: never reused again (its entry removed)."""
        shutil.rmtree(self._folder(key), ignore_errors=True)
        try:
            os.makedirs(os.path.dirname(self._flaky_mark(key)), exist_ok=True)
            with open(self._flaky_mark(key), "w") as stream:
                stream.write("%d\n" % time.time())
        except OSError:
            pass

    def put(self, key: str, run_id: str, status: str, verdict: Dict[str, Any], fields: Dict[str, Any],
            observations: str) -> bool:
        """Store a case (its files read from ``observations``); False if the key is stored already or a file
        is missing. Written aside and renamed into place: readers see it whole or not at all."""
        folder = self._folder(key)
        if os.path.isdir(folder):
            return False
        try:
            staging = os.path.join(self.root, ".staging")
            os.makedirs(staging, exist_ok=True)
            aside = tempfile.mkdtemp(prefix=key[:12] + "-", dir=staging)
        except OSError:  # a store that cannot be written only costs the next run its reuse
            return False
        try:
            for relative in sorted(set(files_named(fields))):
                target = os.path.join(aside, relative)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(os.path.join(observations, relative), target)
            with open(os.path.join(aside, ENTRY), "w") as stream:
                json.dump({"run_id": run_id, "status": status, "verdict": verdict, "fields": fields,
                           "stored": time.time()}, stream, sort_keys=True, default=str)
            os.makedirs(os.path.dirname(folder), exist_ok=True)
            os.rename(aside, folder)
            return True
        except OSError:  # a file the case named is gone, or another run stored the key first
            shutil.rmtree(aside, ignore_errors=True)
            return False

    def get_facts(self, key: str) -> Optional[Dict[str, Any]]:
        """What a runtime's executor found at start (devices, run_info) with the env ``key`` names, or None."""
        try:
            with open(os.path.join(self.root, "runtimes", key + ".json")) as stream:
                facts = json.load(stream)
            return facts if isinstance(facts.get("devices"), dict) and isinstance(facts.get("run_info"), dict) else None
        except (OSError, ValueError, AttributeError):
            return None

    def put_facts(self, key: str, facts: Dict[str, Any]) -> None:
        folder = os.path.join(self.root, "runtimes")
        try:
            os.makedirs(folder, exist_ok=True)
            fd, aside = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(fd, "w") as stream:
                json.dump(facts, stream, sort_keys=True, default=str)
            os.replace(aside, os.path.join(folder, key + ".json"))
        except OSError:
            pass  # a store that cannot be written only costs the next run its reuse

    def _entries(self) -> List[Tuple[float, int, str]]:
        """(last used, bytes, folder) of every entry."""
        found = []
        for prefix in os.listdir(self.root) if os.path.isdir(self.root) else []:
            if len(prefix) != 2:
                continue
            for key in os.listdir(os.path.join(self.root, prefix)):
                folder = os.path.join(self.root, prefix, key)
                size, used = 0, 0.0
                for path, _, names in os.walk(folder):
                    for name in names:
                        try:
                            stat = os.stat(os.path.join(path, name))
                        except OSError:
                            continue
                        size += stat.st_size
                        if name == ENTRY:
                            used = stat.st_mtime
                found.append((used, size, folder))
        return found

    def prune(self) -> int:
        """Remove the least recently used entries until the store fits its limit; returns how many. One
        process prunes at a time (the others skip: it is done for them)."""
        os.makedirs(self.root, exist_ok=True)
        with open(os.path.join(self.root, ".prune.lock"), "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return 0
            entries = sorted(self._entries())
            total = sum(size for _, size, _ in entries)
            removed = 0
            for _, size, folder in entries:
                if total <= self.limit:
                    break
                shutil.rmtree(folder, ignore_errors=True)
                total -= size
                removed += 1
            return removed
