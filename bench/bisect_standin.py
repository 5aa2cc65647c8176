"""A stand-in model for `bisect` whose outcome depends on a version-dependent behaviour one can name: a TF2
SavedModel written by this TensorFlow whose signature holds an op that older builds do not register. Loading
it fails with `op-not-registered` before the build that added the op and passes from it on, so "since which
build does this model load" (the publisher's question) has one answer. Writes the model and a matrix with the
runtime copied from matrix.yaml:

    .tox/tf-nightly/bin/python bench/bisect_standin.py EncodeJxl /tmp/standin --runtime tf-nightly
    python -m conformance --matrix /tmp/standin/matrix.yaml bisect "load[encodejxl-tf-nightly-cpu-hub.load]" \\
        2.22.0.dev20260701 2.23.0.dev20261026

The op sits in the branch of a `tf.cond` that the agreed inputs never take (x < 1e30), so a build that has it
computes `2 * x` and the load case passes; the op is still in the function library the loader imports.
"""
import argparse
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _unused_branch(tf, op):
    """A value of the op, as a float of x's shape (never computed on the agreed inputs)."""
    if op == "EncodeJxl":
        return lambda x: x + tf.cast(tf.strings.length(tf.raw_ops.EncodeJxl(image=tf.zeros([4, 4, 3], tf.uint8))),
                                     tf.float32)
    if op == "DecodeWebP":
        return lambda x: x + tf.reduce_sum(tf.cast(tf.raw_ops.DecodeWebP(contents=tf.constant(b"")), tf.float32))
    if op == "DecodeJxl":
        return lambda x: x + tf.reduce_sum(tf.cast(tf.raw_ops.DecodeJxl(contents=tf.constant(b"")), tf.float32))
    raise SystemExit("no stand-in for op %s (EncodeJxl, DecodeWebP, DecodeJxl)" % op)


def write_model(op, path):
    import tensorflow as tf

    branch = _unused_branch(tf, op)

    class StandIn(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tf.cond(tf.reduce_all(x < 1e30), lambda: 2.0 * x, lambda: branch(x))}

    module = StandIn()
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})
    print("wrote %s with TensorFlow %s (GIT_VERSION %s): its serving_default holds %s"
          % (path, tf.__version__, tf.version.GIT_VERSION, op))


def write_matrix(op, folder, runtime_id):
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        matrix = yaml.safe_load(stream)
    runtime = dict(next(r for r in matrix["runtimes"] if r["id"] == runtime_id))
    runtime.pop("labels", None)
    document = {"devices": ["cpu"], "apis": ["hub.load"], "expectations": [], "runtimes": [runtime],
                "models": [{"id": op.lower(), "handle": os.path.join(folder, "model")}]}
    path = os.path.join(folder, "matrix.yaml")
    with open(path, "w") as stream:
        yaml.safe_dump(document, stream, sort_keys=False)
    print("wrote %s: case load[%s-%s-cpu-hub.load]" % (path, op.lower(), runtime_id))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("op", help="EncodeJxl (tf-nightly since 2026), DecodeWebP or DecodeJxl (releases)")
    parser.add_argument("folder")
    parser.add_argument("--runtime", default="tf2.21", help="the matrix.yaml runtime the matrix copies")
    args = parser.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    write_model(args.op, os.path.join(args.folder, "model"))
    write_matrix(args.op, os.path.abspath(args.folder), args.runtime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
