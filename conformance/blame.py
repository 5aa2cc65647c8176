"""Whose fault an exception is: a bug of hub-conformance itself, or an outcome of the model under test.

The harness never blames the model for its own bugs: a plain Python exception (KeyError, TypeError, ...)
raised by a line of the ``conformance`` package is ours and becomes status ``error`` with its traceback.
Exceptions raised inside TensorFlow or tensorflow_hub, and the harness's own named findings (custom
exception classes such as ``SignatureNotFound``), are the model's outcomes.
"""
from __future__ import annotations

import os
import re
import traceback

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class HarnessBug(RuntimeError):
    """Raised when a case saw one of the harness's own bugs (after recording what it could)."""


_OUTSIDE_CODE = re.compile(r"[/\\](tensorflow\w*|tf_keras|keras|google[/\\]protobuf|absl)[/\\]")

# A TensorFlow or hub api this runtime lacks (hub.Module in hub >= 0.16): the runtime's outcome, not ours.
_API_ABSENT = re.compile(r"module '(tensorflow|tensorflow_hub|keras|tf_keras)[\w.]*' has no attribute")


def raised_by_harness(error: BaseException) -> bool:
    """True when ``error`` is a builtin exception that no TensorFlow, Keras or hub code took part in raising
    while the conformance package did (a frame of its own is in the traceback)."""
    if type(error).__module__ != "builtins" or isinstance(error, (KeyboardInterrupt, SystemExit, MemoryError)):
        return False
    files = [os.path.abspath(frame.filename) for frame in traceback.extract_tb(error.__traceback__)]
    if any(_OUTSIDE_CODE.search(name) for name in files) or _API_ABSENT.match(str(error)):
        return False
    return any(name.startswith(PACKAGE_DIR + os.sep) for name in files)


def describe(error: BaseException) -> str:
    """One line for the case message, and the traceback's last frame where it happened."""
    frames = traceback.extract_tb(error.__traceback__)
    where = ""
    if frames:
        last = frames[-1]
        where = " at %s:%d in %s" % (os.path.relpath(last.filename, os.path.dirname(PACKAGE_DIR)), last.lineno,
                                     last.name)
    return "%s: %s%s" % (type(error).__name__, str(error)[:300], where)
