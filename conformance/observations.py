"""What a runtime saw, written as it goes: ``reports/runs/<run-id>/<runtime>/<worker>.json`` (+ ``.npz``).

One set of files per worker process, so parallel envs and workers never clobber each other:

- ``<worker>.journal.jsonl``: every change, appended and flushed as it happens (a crash loses nothing
  but, at worst, a half-written last line, which readers skip);
- ``<worker>.json``: the whole document, rewritten atomically (temporary file + rename) at start, now and
  then, and at the end. It says how many journal lines it contains; readers replay the rest, so the pair
  is always complete. A snapshot costs the size of the document, which is at most that of the journal
  so far, so one is written only once the journal has doubled since the last (and SNAPSHOT_SECONDS have
  passed): the snapshots of a run then cost less than twice its journal, and writing stays linear in the
  number of cases. (Every 5 s, at 2,300 cases a worker, they cost the workers ~1 s of an 80 s run: a 4 MB
  document took 60 ms to dump.)

A case is marked ``running`` before its model is touched: a crash or a hang leaves that mark behind.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
import zlib
from typing import TYPE_CHECKING, Any, Dict, Iterator, Mapping, Tuple

if TYPE_CHECKING:  # numpy is imported where arrays are written (the executor), not by pytest's processes
    import numpy as np

SCHEMA_VERSION = 1
SNAPSHOT_SECONDS = 5.0


_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]")


def safe_stem(name: str) -> str:
    """A file-name stem for a model-supplied name (signature, output, id): never a path, never too long.

    Safe names stay as they are; others get their unsafe characters replaced and a hash of the original,
    so ``a/b`` and ``a_b`` never share a file.
    """
    stem = _UNSAFE.sub("_", name).strip(".") or "_"
    if stem != name or len(stem) > 80:
        stem = "%s~%08x" % (stem[:80], zlib.crc32(name.encode("utf-8")))
    return stem


def run_dir(reports: str, run_id: str) -> str:
    return os.path.join(reports, "runs", run_id)


def _atomic_write(path: str, write) -> None:
    """Write ``path`` whole or not at all, as a crashed or killed process leaves it (temporary file + rename).

    Not fsync'd: what this guards against is a process dying, and the kernel keeps what a dead process wrote;
    a machine that loses power loses the run anyway, journal included (which is flushed, never synced).
    The fsync took 0.17 s of tf2.21's executor on the zoo (398 ``.npz`` files, 0.53 -> 0.36 s in all).
    """
    directory = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def _compact(value: Any) -> str:
    """JSON as the document stores it: sorted keys, no spaces (json's C encoder; indented, a snapshot took
    0.16 s at 1 MB), anything else as its ``str``."""
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _storable(array: np.ndarray) -> np.ndarray:
    import numpy as np

    if array.dtype == object:  # strings come back as object arrays of bytes
        return np.array([bytes(v) for v in array.reshape(-1)], dtype=bytes).reshape(array.shape)
    return array


class Recorder(object):
    """The observation files of one worker of one runtime."""

    def __init__(self, reports: str, run_id: str, runtime: str, worker: str, run_info: Dict[str, Any]):
        self.directory = os.path.join(run_dir(reports, run_id), runtime)
        os.makedirs(self.directory, exist_ok=True)
        self.path = os.path.join(self.directory, "%s.json" % worker)
        self.worker = worker
        # "cases" holds the live entries; a finished one is kept as its JSON text (``_finished``), a third of
        # the memory of its dicts and lists, which grew a worker by ~3.5 kB a case (of ~10 kB traced).
        self.document = {"schema": SCHEMA_VERSION, "run_id": run_id, "runtime": runtime, "worker": worker,
                         "run_info": run_info, "cases": {}, "journal_lines": 0}  # type: Dict[str, Any]
        self._finished = {}  # type: Dict[str, str]
        self._journal = open(journal_path(self.path), "w")
        self._snapshot_at = 0.0
        self._snapshot_lines = 0  # journal lines in the last snapshot
        self.flush()

    def flush(self) -> None:
        """Write the whole document atomically (the journal stays the record of later changes)."""
        texts = dict(self._finished)
        texts.update((case_id, _compact(entry)) for case_id, entry in self.document["cases"].items())
        cases = "{%s}" % ",".join("%s:%s" % (json.dumps(case_id), texts[case_id]) for case_id in sorted(texts))
        # "cases" sorts first among the document's keys, so the first '"cases":{}' is the document's own
        payload = _compact(dict(self.document, cases={})).replace('"cases":{}', '"cases":' + cases, 1)
        _atomic_write(self.path, lambda stream: stream.write(payload.encode("utf-8")))
        self._snapshot_at = time.time()
        self._snapshot_lines = self.document["journal_lines"]

    def close(self, **run_info: Any) -> None:
        """The last snapshot, with what was learnt of the run by its end (``run_info`` fields)."""
        self.document["run_info"].update(run_info)
        self.flush()
        self._journal.close()

    def _log(self, case_id: str, fields: Dict[str, Any]) -> None:
        self._journal.write(json.dumps({"case": case_id, "fields": fields}, sort_keys=True, default=str) + "\n")
        self._journal.flush()
        self.document["journal_lines"] += 1
        if self.document["journal_lines"] >= 2 * self._snapshot_lines and \
                time.time() - self._snapshot_at > SNAPSHOT_SECONDS:
            self.flush()

    def begin(self, case_id: str, fields: Dict[str, Any]) -> None:
        """A case starts: the worker's earlier cases have ended, and are kept as text from now on."""
        live = self.document["cases"]
        for ended in [other for other in live if other != case_id]:
            self._finished[ended] = _compact(live.pop(ended))
        entry = dict(fields, status="running", started=time.time())
        self._finished.pop(case_id, None)
        live[case_id] = entry
        self._log(case_id, entry)

    def update(self, case_id: str, **fields: Any) -> None:
        live = self.document["cases"]
        if case_id not in live:  # a finished case told more (rare): live again
            finished = self._finished.pop(case_id, None)
            live[case_id] = json.loads(finished) if finished is not None else {}
        live[case_id].update(fields)
        self._log(case_id, fields)

    def entry(self, case_id: str) -> Dict[str, Any]:
        """What is recorded of a case so far (a copy if it has ended), empty if nothing."""
        if case_id in self.document["cases"]:
            return self.document["cases"][case_id]
        finished = self._finished.get(case_id)
        return json.loads(finished) if finished is not None else {}

    def cases(self) -> Dict[str, Dict[str, Any]]:
        """Every case's entry, as the document on disk has them."""
        return {case_id: self.entry(case_id) for case_id in set(self._finished) | set(self.document["cases"])}

    def save_outputs(self, name: str, arrays: Mapping[str, np.ndarray]) -> str:
        return ArrayStore(self.directory).save_outputs(name, arrays)


class ArrayStore(object):
    """The ``outputs/*.npz`` files of one runtime's observation folder (written by the runtime process)."""

    def __init__(self, directory: str):
        self.directory = directory

    def save_outputs(self, name: str, arrays: Mapping[str, np.ndarray]) -> str:
        """Write arrays to ``outputs/<name>.npz``; returns the file name relative to the observation folder."""
        outputs = os.path.join(self.directory, "outputs")
        os.makedirs(outputs, exist_ok=True)
        path = os.path.join(outputs, name + ".npz")
        import numpy as np

        arrays = {key: _storable(value) for key, value in arrays.items()}
        _atomic_write(path, lambda stream: np.savez(stream, **arrays))
        return os.path.relpath(path, self.directory)


class CaseRecord(object):
    """Stores what one case saw into its worker's observation file, as it is seen."""

    def __init__(self, recorder: Recorder, case_id: str):
        self.recorder, self.case_id = recorder, case_id

    def __call__(self, **fields: Any) -> None:
        self.recorder.update(self.case_id, **fields)

    def save_outputs(self, name: str, arrays) -> str:
        return self.recorder.save_outputs(name, arrays)


def journal_path(document_path: str) -> str:
    return document_path[:-len(".json")] + ".journal.jsonl"


def load_document(path: str) -> Dict[str, Any]:
    """A worker's document: the snapshot plus the journal lines written after it. Raises ValueError."""
    with open(path) as stream:
        document = json.load(stream)
    journal = journal_path(path)
    if os.path.isfile(journal):
        with open(journal) as stream:
            lines = stream.read().split("\n")
        for line in lines[document.get("journal_lines", 0):]:
            try:
                change = json.loads(line)
            except ValueError:
                continue  # the half-written last line of a crash
            document["cases"].setdefault(change["case"], {}).update(change["fields"])
    return document


def read_run(reports: str, run_id: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Every worker document of a run, as ``(path, document)``; a damaged file is reported, not fatal."""
    base = run_dir(reports, run_id)
    if not os.path.isdir(base):
        return
    for runtime in sorted(os.listdir(base)):
        folder = os.path.join(base, runtime)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json") or name.startswith("."):
                continue
            path = os.path.join(folder, name)
            try:
                yield path, load_document(path)
            except ValueError as error:
                yield path, {"runtime": runtime, "error": "unreadable observation file: %s" % error, "cases": {}}
