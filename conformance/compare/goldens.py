"""Golden baselines: a run's reference outputs blessed into a small reviewed file under cases/goldens/.

With them one runtime can be checked alone against yesterday's truth. A golden whose inputs no longer
match the run's is *stale* and one that is absent is *missing*; both are named, never regenerated silently.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np

from conformance.compare.observed import Observed, reference_cell
from conformance.matrix import Matrix

GOLDEN_DIR = os.path.join("cases", "goldens")
INDEX = "index.json"


class GoldenError(Exception):
    def __init__(self, kind: str, message: str):
        super(GoldenError, self).__init__(message)
        self.kind = kind  # golden-missing | golden-stale


def bless(observed: Observed, matrix: Matrix, directory: str, run_label: str) -> Dict[str, Any]:
    """Write every model's reference outputs; returns the index written."""
    os.makedirs(directory, exist_ok=True)
    index = {}  # type: Dict[str, Any]
    for model in matrix.models:
        if model.twin:
            continue  # a planted variant's truth is its twin's
        arrays = {}  # type: Dict[str, np.ndarray]
        entry = {"signatures": {}}  # type: Dict[str, Any]
        for signature in model.signatures:
            cell = reference_cell(observed, matrix, model, signature)
            if cell is None:
                continue
            outputs = cell.arrays(signature) or {}
            for name, value in outputs.items():
                arrays["%s/%s" % (signature, name)] = value
            seen = cell.signature(signature)
            entry["signatures"][signature] = {
                "reference": cell.label(), "inputs_fingerprint": seen.get("inputs_fingerprint"),
                "description": seen.get("description"), "outputs": sorted(outputs),
                "tensorflow": cell.run_info.get("tensorflow"), "run": run_label}
        if entry["signatures"]:
            np.savez(os.path.join(directory, "%s.npz" % model.id), **arrays)
            index[model.id] = entry
    with open(os.path.join(directory, INDEX), "w") as stream:
        json.dump(index, stream, indent=1, sort_keys=True)
        stream.write("\n")
    return index


class Goldens(object):
    """The blessed references; ``forced`` makes them the reference even when the run has its own."""

    def __init__(self, directory: str, forced: bool = False):
        self.directory, self.forced = directory, forced
        path = os.path.join(directory, INDEX)
        self.index = {}  # type: Dict[str, Any]
        if os.path.isfile(path):
            with open(path) as stream:
                self.index = json.load(stream)

    def lookup(self, model: str, signature: str, inputs_fingerprint: Optional[str]
               ) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        """The golden record and outputs of ``model.signature``; raises :class:`GoldenError`."""
        record = (self.index.get(model) or {}).get("signatures", {}).get(signature)
        if record is None:
            raise GoldenError("golden-missing", "no golden for %s.%s in %s: bless a run with "
                              "`python -m conformance bless`" % (model, signature, self.directory))
        if inputs_fingerprint and record.get("inputs_fingerprint") != inputs_fingerprint:
            raise GoldenError("golden-stale", "stale golden for %s.%s: its inputs %s, this run's %s (blessed from "
                              "run %s); re-bless after review" % (model, signature, record.get("inputs_fingerprint"),
                                                                 inputs_fingerprint, record.get("run")))
        with np.load(os.path.join(self.directory, "%s.npz" % model), allow_pickle=False) as saved:
            prefix = signature + "/"
            outputs = {key[len(prefix):]: saved[key] for key in saved.files if key.startswith(prefix)}
        return record, outputs
