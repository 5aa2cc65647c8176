"""Files generated from matrix.yaml (tox.ini, the nightly workflow): written, or ``--check``-ed as current."""
from __future__ import annotations

import os
import sys


def write_or_check(text: str, output: str, matrix_path: str, command: str, check: bool) -> int:
    current = open(output).read() if os.path.exists(output) else None
    if check:
        if current != text:
            print("%s is out of date with %s: run `python -m conformance %s`" % (output, matrix_path, command),
                  file=sys.stderr)
            return 1
        print("%s is up to date" % output)
        return 0
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    with open(output, "w") as stream:
        stream.write(text)
    print("wrote %s" % output)
    return 0
