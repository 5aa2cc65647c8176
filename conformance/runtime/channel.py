"""Length-prefixed pickles between a runtime worker and its executor process, with a deadline on reads.

Plain Python: the worker side never imports TensorFlow. Both ends are the project's own processes, so
pickle is safe here (no model-supplied bytes are unpickled: models run only in the executor).
"""
from __future__ import annotations

import os
import pickle
import select
import struct
import time
from typing import Any, Optional

_HEADER = struct.Struct(">Q")


class ChannelClosed(EOFError):
    """The other end is gone (its process ended)."""


class DeadlineExceeded(TimeoutError):
    """Nothing complete arrived before the deadline."""


def send(fd: int, message: Any) -> None:
    payload = pickle.dumps(message, protocol=2)
    data = _HEADER.pack(len(payload)) + payload
    while data:
        written = os.write(fd, data)
        data = data[written:]


def _read_exact(fd: int, size: int, deadline: Optional[float]) -> bytes:
    chunks = []
    while size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise DeadlineExceeded()
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def receive(fd: int, deadline: Optional[float] = None) -> Any:
    """The next message; ``deadline`` is a ``time.monotonic()`` value (None waits forever)."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, size, deadline))
