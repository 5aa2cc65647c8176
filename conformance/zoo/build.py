"""Build zoo models inside their writer runtime: ``python -m conformance.zoo.build --zoo DIR --runtime ID NAME...``.

Started by ``python -m conformance zoo`` with the writer's pinned packages; imports TensorFlow.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time

from conformance.matrix import load_matrix
from conformance.runtime.tfmode import activate, import_hub, mismatches
from conformance.zoo import store
from conformance.zoo.catalog import build_hash, by_name, writer_pins


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.zoo.build")
    parser.add_argument("--zoo", required=True, help="zoo directory")
    parser.add_argument("--matrix", default="matrix.yaml")
    parser.add_argument("--runtime", required=True, help="the writer runtime id this process runs")
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    runtime = load_matrix(args.matrix).runtime(args.runtime)
    tf = activate(runtime.mode)
    hub = import_hub()
    wrong = mismatches(runtime, tf, hub)
    if wrong:
        print("zoo build: this process is not runtime %s: %s" % (runtime.id, "; ".join(wrong)), file=sys.stderr)
        return 3
    os.makedirs(args.zoo, exist_ok=True)
    for name in args.names:
        model = by_name(name)
        if model.writer != runtime.id:
            print("zoo build: %s is written by %s, not %s" % (name, model.writer, runtime.id), file=sys.stderr)
            return 2
        started = time.time()
        scratch = tempfile.mkdtemp(dir=args.zoo, prefix=".build-%s-" % name)
        export_dir = os.path.join(scratch, name)
        builder = getattr(importlib.import_module(model.module), model.function)
        builder(export_dir, **model.kwargs)
        store.install(args.zoo, model, export_dir, build_hash(model, writer_pins(model, runtime)),
                      {"writer": runtime.id, "tensorflow": tf.__version__, "tensorflow_hub": hub.__version__})
        os.rmdir(scratch)
        print("zoo: built %s with %s (tensorflow %s) in %.1fs" % (name, runtime.id, tf.__version__,
                                                                  time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
