"""The observations of one or more runs, indexed by cell, with their arrays and the reference cells.

Several sources (CI shards, other machines) merge into one view; the same case recorded twice is an
error that names both files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np

from conformance.matrix import Matrix, Model
from conformance.observations import load_document

COMPARE_RUNTIME = "compare"  # the folder the comparison side records into


class ObservationError(ValueError):
    pass


@dataclass
class Cell:
    """What one runtime saw for model × device × api (a loadability case's observation)."""

    model: str
    runtime: str
    device: str
    api: str
    entry: Dict[str, Any]
    directory: str  # where its npz files live
    source: str  # the observation file
    run_info: Dict[str, Any]

    @property
    def key(self) -> Tuple[str, str, str, str]:
        return (self.model, self.runtime, self.device, self.api)

    def signature(self, name: str) -> Dict[str, Any]:
        return (self.entry.get("signatures") or {}).get(name) or {}

    def arrays(self, signature: str, which: str = "outputs_file") -> Optional[Dict[str, np.ndarray]]:
        name = self.signature(signature).get(which)
        if not name:
            return None
        cache = self.__dict__.setdefault("_arrays", {})
        if name not in cache:
            with np.load(os.path.join(self.directory, name), allow_pickle=False) as saved:
                cache[name] = {key: saved[key] for key in saved.files}
        return cache[name]

    def label(self) -> str:
        return "%s %s %s" % (self.runtime, self.device, self.api)


def run_directories(reports: str, runs: Iterable[str]) -> List[str]:
    """Each run given as an id under ``reports/runs`` or as a directory path."""
    found = []
    for run in runs:
        path = run if os.path.isdir(run) else os.path.join(reports, "runs", run)
        if not os.path.isdir(path):
            raise ObservationError("no run %r: neither a directory nor %s" % (run, path))
        found.append(path)
    return found


class Observed(object):
    def __init__(self, directories: List[str]):
        self.cells = {}  # type: Dict[Tuple[str, str, str, str], Cell]
        self.semantics = {}  # type: Dict[Tuple[str, str, str, str, str], Cell]
        # the train cases' arrays per (model, runtime, device, api), each variant as a "signature" (train_label)
        self.training = {}  # type: Dict[Tuple[str, str, str, str], Cell]
        self.run_info = {}  # type: Dict[str, Dict[str, Any]]
        for directory in directories:
            for runtime in sorted(os.listdir(directory)):
                folder = os.path.join(directory, runtime)
                if runtime == COMPARE_RUNTIME or not os.path.isdir(folder):
                    continue
                for name in sorted(os.listdir(folder)):
                    if name.endswith(".json") and not name.startswith("."):
                        self._add(os.path.join(folder, name))

    def _add(self, path: str) -> None:
        try:
            document = load_document(path)
        except ValueError as error:
            raise ObservationError("%s: unreadable observation file: %s" % (path, error))
        runtime = document.get("runtime")
        info = document.get("run_info") or {}
        known = self.run_info.get(runtime)
        for field in ("tensorflow", "tensorflow_hub", "python", "mode"):
            if known and info and known[1].get(field) != info.get(field):
                raise ObservationError("runtime %s has conflicting run info: %s %s in %s, %s in %s"
                                       % (runtime, field, known[1].get(field), known[0], info.get(field), path))
        if info and not known:
            self.run_info[runtime] = (path, info)
        for case_id, entry in (document.get("cases") or {}).items():
            if entry.get("check") == "semantics" and entry.get("semantics"):
                cell = Cell(entry["model"], entry["runtime"], entry["device"], entry["api"],
                            {"signatures": {entry["signature"]: entry["semantics"]}}, os.path.dirname(path), path,
                            info)
                self.semantics[cell.key + (entry["signature"],)] = cell
            train = entry.get("train") or {}
            if entry.get("check") == "train" and train.get("after_file"):
                step = {"outputs_file": train.get("after_file"), "gradient_file": train.get("gradient_file"),
                        "inputs_fingerprint": train.get("inputs_fingerprint"), "variables": train.get("variables"),
                        "draws_random": bool(train.get("draws_random"))}
                key = (entry["model"], entry["runtime"], entry["device"], entry["api"])
                if key not in self.training:
                    self.training[key] = Cell(key[0], key[1], key[2], key[3], {"signatures": {}},
                                              os.path.dirname(path), path, info)
                self.training[key].entry["signatures"][train_label(entry.get("signature"))] = step
            if entry.get("check") != "load" or entry.get("api") is None:  # None: a device the runtime lacks
                continue
            cell = Cell(entry["model"], entry["runtime"], entry["device"], entry["api"], entry,
                        os.path.dirname(path), path, info)
            if cell.key in self.cells:
                raise ObservationError("case %s is recorded twice: in %s and in %s"
                                       % (case_id, self.cells[cell.key].source, path))
            self.cells[cell.key] = cell

    def of_model(self, model: str) -> List[Cell]:
        return [cell for key, cell in sorted(self.cells.items()) if key[0] == model]

    def runtimes(self) -> List[str]:
        return sorted({key[1] for key in self.cells})


def declared_reference_runtime(model: Model) -> Optional[str]:
    """The declared reference, else the runtime that wrote a zoo model, else None (no opinion)."""
    if model.reference:
        return model.reference
    from conformance.zoo.catalog import ZOO

    for zoo_model in ZOO:
        if model.handle.endswith("/" + zoo_model.name) or model.handle.endswith("/%s.tar.gz" % zoo_model.name):
            return zoo_model.writer
    return None


def default_reference_runtime(model: Model, matrix: Matrix, observed: Optional["Observed"] = None) -> str:
    """The declared reference; else the zoo writer if the model ran there; else the first runtime in matrix
    order where the model loaded and ran on cpu in this run; else the first runtime."""
    if model.reference:
        return model.reference

    def ran(runtime_id: str) -> bool:
        return observed is not None and any(
            cell is not None and cell.entry.get("loaded") and any(
                seen.get("outputs_file") for seen in (cell.entry.get("signatures") or {}).values())
            for cell in (observed.cells.get((model.id, runtime_id, "cpu", api)) for api in matrix.apis))

    writer = declared_reference_runtime(model)
    if writer and (observed is None or ran(writer)):
        return writer  # a zoo model is held to the runtime that wrote it, where it runs there
    for runtime in matrix.runtimes:
        if ran(runtime.id):
            return runtime.id
    return writer or matrix.runtimes[0].id


def writes_state(cell: Cell) -> bool:
    """Whether any signature of the cell's model writes state: then every output may depend on the calls made
    before it, which only cells of the same api repeat alike (each hub.KerasLayer holds a copy of its own)."""
    return any((seen or {}).get("writes_state") for seen in (cell.entry.get("signatures") or {}).values())


def reference_cell(observed: Observed, matrix: Matrix, model: Model, signature: str,
                   prefer_api: Optional[str] = None) -> Optional[Cell]:
    """The cpu cell of the reference runtime whose call of ``signature`` produced outputs, ``prefer_api`` first
    (a stateful model's cells are held to the same api's), then apis in matrix order."""
    target = matrix.model(model.twin) if model.twin else model
    runtime = default_reference_runtime(target, matrix, observed)
    for api in ([prefer_api] if prefer_api else []) + list(matrix.apis):
        cell = observed.cells.get((target.id, runtime, "cpu", api))
        if cell is not None and cell.signature(signature).get("outputs_file"):
            return cell
    return None


def eager_reference_cell(observed: Observed, matrix: Matrix, model: Model, signature: str) -> Optional[Cell]:
    """The first eager runtime's cpu cell (apis in matrix order) whose all-outputs call produced outputs."""
    for runtime in matrix.runtimes:
        if runtime.mode != "eager":
            continue
        for api in matrix.apis:
            cell = observed.cells.get((model.id, runtime.id, "cpu", api))
            if cell is not None and cell.signature(signature).get("outputs_file"):
                return cell
    return None


def variables_reference_cell(observed: Observed, matrix: Matrix, model: str, runtime: str, device: str
                             ) -> Optional[Cell]:
    """The first api in matrix order whose plain train step (``train``) ran in the cell: the trainable
    variables every other api finds there are held to its."""
    for api in matrix.apis:
        cell = observed.training.get((model, runtime, device, api))
        if cell is not None and "train" in cell.entry["signatures"]:
            return cell
    return None


def train_label(variant: Optional[str]) -> str:
    """How a train case's step is named among a cell's "signatures": ``train``, ``train-frozen``, ..."""
    return "train" if variant is None else "train-" + variant


def training_reference_cell(observed: Observed, matrix: Matrix, model: Model, api: str,
                            label: str = "train") -> Optional[Cell]:
    """The train cell every runtime's step ``label`` through ``api`` is held to: the reference runtime's on
    cpu, else the first runtime in matrix order that took that step through ``api`` on cpu; a planted twin's
    is its twin's."""
    target = matrix.model(model.twin) if model.twin else model
    preferred = default_reference_runtime(target, matrix, observed)
    order = [preferred] + [r.id for r in matrix.runtimes if r.id != preferred]
    for runtime in order:
        cell = observed.training.get((target.id, runtime, "cpu", api))
        if cell is not None and label in cell.entry["signatures"]:
            return cell
    return None
