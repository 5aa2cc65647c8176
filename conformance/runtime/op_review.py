"""The allow list's review, run in a runtime env at each TensorFlow release (and op library release).

``python -m conformance.runtime.op_review [--import MODULE ...] [--write]`` reads every op this TensorFlow has
registered (with the op libraries imported) and prints those that ``conformance/data/allowed_ops.yaml`` has
not reviewed yet, each with the rule's proposal: ``compute`` (allowed), ``path`` (reads a path: allowed only
when the path is the model's own), or outside, with what it touches. ``--write`` adds them as proposed and
records this TensorFlow in ``reviewed_for``; a person then reads the diff before it is committed. Until an op
is in the file, a model that reaches it is ``untrusted-op`` (never silently allowed).
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import Dict, List, Optional, Tuple

import yaml

from conformance.runtime import op_scan

# Rules for a proposal, in order; the first that matches an op's name decides (a person reviews the result).
NAME_RULES = [
    (r"PyFunc", "the Python interpreter"),
    (r"Reader", "the file system (a reader reads the files a queue names)"),
    (r"SummaryWriter|^Write|^FlushSummary|^CloseSummary|^ImportEvent", "the file system (writes files)"),
    (r"Collective|^_?Send|^_?Recv|^_Host(Send|Recv)|Rpc|^RemoteCall|RemoteFused|DataService|RegisterDataset|Gcs"
     r"|Bigtable|BigQuery|Kafka|DistributedSave|DistributedTPU|^Xla(Send|Recv)|TPUEmbedding(Activations|Gradients)",
     "the network (other tasks or hosts)"),
    (r"^Debug|^Copy$|^CopyHost$|^DumpTensor$", "the file system or network (debugger dumps)"),
    (r"DatasetFromGraph|FunctionBufferingResource|^XlaCustomCall", "runs code the scan cannot see"),
    (r"^Save|Checkpoint|Snapshot.*Dataset|SnapshotChunk|DatasetToTFRecord|^LoadDataset|^Cache.*Dataset"
     r"|CalibrationStatisticsSaver|^MatchingFiles|MatchingFilesDataset|^ImmutableConst$|Sql.*Dataset",
     "the file system (reads, lists or writes files)"),
]
# Argument and attribute names (split at "_") that name a path or an address.
PATH_WORDS = {"file", "filename", "filenames", "path", "dir", "logdir", "prefix", "url", "urls", "uri",
              "address", "protocol"}
HARMLESS_PREFIX_ARGS = {"counter_prefix"}  # a name prefix for statistics, not a file


def propose(name: str, inputs: List[str], attrs: List[str]) -> Tuple[str, str]:
    """``("compute"|"path"|"outside", why)`` for a registered op, by the rules above."""
    for pattern, touches in NAME_RULES:
        if re.search(pattern, name):
            return "outside", touches
    paths = [(index, arg) for index, arg in enumerate(inputs)
             if arg not in HARMLESS_PREFIX_ARGS and PATH_WORDS.intersection(arg.split("_"))]
    if paths:
        return "path", ", ".join("input %d (%s)" % path for path in paths)
    for attr in attrs:
        if attr not in HARMLESS_PREFIX_ARGS and PATH_WORDS.intersection(attr.split("_")):
            return "outside", "the file system or network (its attribute %s names a place)" % attr
    return "compute", ""


def registered_ops() -> Dict[str, Tuple[List[str], List[str]]]:
    """Every op this process's TensorFlow has registered: name -> (input names, attribute names)."""
    from tensorflow.core.framework import op_def_pb2
    try:
        from tensorflow.python.client import pywrap_tf_session as session
    except ImportError:  # TensorFlow 1.15
        from tensorflow.python import pywrap_tensorflow as session
    buffer = session.TF_GetAllOpList()
    ops = op_def_pb2.OpList()
    ops.ParseFromString(session.TF_GetBuffer(buffer))
    return {op.name: ([a.name for a in op.input_arg], [a.name for a in op.attr]) for op in ops.op}


def unreviewed(registry: Dict[str, Tuple[List[str], List[str]]], allowed: op_scan.AllowList
               ) -> Dict[str, Tuple[str, str]]:
    return {name: propose(name, *args) for name, args in sorted(registry.items()) if not allowed.reviewed(name)}


def write(path: str, found: Dict[str, Tuple[str, str]], version: str) -> None:
    with open(path) as stream:
        data = yaml.safe_load(stream)
    for name, (kind, why) in found.items():
        if kind == "compute":
            data["compute"] = sorted(set(data["compute"]) | {name})
        elif kind == "path":
            data["path_inputs"][name] = [int(index) for index in re.findall(r"input (\d+)", why)]
        else:
            data["outside"][name] = why
    data["reviewed_for"].setdefault("tensorflow", [])
    if version not in data["reviewed_for"]["tensorflow"]:
        data["reviewed_for"]["tensorflow"].append(version)
    with open(path) as stream:
        header = "".join(line for line in stream if line.startswith("#"))
    with open(path, "w") as stream:
        stream.write(header)
        yaml.safe_dump(data, stream, sort_keys=False, width=110)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.runtime.op_review", description=__doc__)
    parser.add_argument("--import", dest="modules", action="append", default=[],
                        help="an op library to import first (e.g. tensorflow_text)")
    parser.add_argument("--write", action="store_true", help="add the unreviewed ops to the allow list file")
    options = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    for module in options.modules:
        importlib.import_module(module)
    found = unreviewed(registered_ops(), op_scan.allow_list())
    for name, (kind, why) in found.items():
        print("%-50s %s%s" % (name, kind, " - " + why if why else ""))
    print("%d ops of TensorFlow %s not reviewed in %s" % (len(found), tf.__version__, op_scan.ALLOWED_OPS_FILE))
    if options.write and found:
        write(op_scan.ALLOWED_OPS_FILE, found, tf.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
