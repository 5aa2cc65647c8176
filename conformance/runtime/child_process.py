"""What a worker knows of a child process it started (an executor, the fork server, a cluster process):
its stderr, kept in a file for the evidence of its death, how it died, and that it dies with the worker.
Plain Python: no TensorFlow."""
from __future__ import annotations

import fcntl
import os
import re
import signal
import tempfile
from typing import Optional

STDERR_TAIL_LINES = 12
_FATAL = re.compile(r"^F\d{4} |Check failed|\bFATAL\b|Fatal Python error|Segmentation fault|terminate called")
_NOISE = re.compile(r"^\s*(@\s+0x|\*\*\* |PC: @|\(unknown\))")


class HarnessError(RuntimeError):
    """A bug of hub-conformance itself (a Python exception in its own code), never the model's failure."""


def set_death_signal() -> None:
    """Linux: the executor gets SIGKILL when its worker dies, so no TensorFlow process outlives a run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def signal_name(returncode: Optional[int]) -> str:
    if returncode is None:
        return "no exit status"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return "signal %d" % -returncode
    return "exit status %d" % returncode


def stderr_evidence(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """A dead process's last stderr lines, one line: its fatal line (if any) first, stack addresses left out."""
    kept = [line.strip() for line in text.splitlines() if line.strip() and not _NOISE.match(line)]
    fatal = [line for line in kept if _FATAL.search(line)]
    kept = kept[-lines:]
    if fatal:
        kept = [fatal[-1]] + [line for line in kept if line != fatal[-1]]
    return " | ".join(line[:400] for line in kept) or "(nothing on stderr)"


class StderrFile(object):
    """A child process's stderr in a temporary file: cleared before each request, its tail read after a death."""

    def __init__(self):
        self._file = tempfile.TemporaryFile()
        # O_APPEND on the shared file description: the child's writes land at the end after each truncate
        fcntl.fcntl(self._file.fileno(), fcntl.F_SETFL, fcntl.fcntl(self._file.fileno(), fcntl.F_GETFL) | os.O_APPEND)

    def fileno(self) -> int:
        return self._file.fileno()

    def clear(self) -> None:
        self._file.seek(0)
        self._file.truncate(0)

    def tail(self) -> str:
        """The last 16 kB written."""
        self._file.flush()
        self._file.seek(0, os.SEEK_END)
        size = self._file.tell()
        self._file.seek(max(0, size - 16384))
        return self._file.read().decode("utf-8", "replace")

    def close(self) -> None:
        self._file.close()
