"""The comparison checks. Each returns ``(cause, details)``: ``cause`` is None when the check passes.

- ``inputs``: every runtime fed a signature the same bytes (fingerprints agree).
- ``signature``: the cell's description of a signature equals the reference's, field by field.
- ``numeric``: every output is within tolerance of the reference (the reference cell, or a golden).
- ``repeat``: two identical calls in one cell gave identical outputs (else *nondeterministic*).
- ``gradient`` / ``step``: a train cell's gradients / its variables after one SGD step are within tolerance
  of the same api's train cell in the reference runtime.
- ``variables``: an api's train step found the trainable variables the first api's found in the same cell.
- ``lazy``: each output fetched alone in a graph runtime equals that output of the same cell's call of the
  whole signature (one runtime: TF-version drift is numeric's business).
"""
from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from conformance.causes import Cause
from conformance.compare.goldens import GoldenError, Goldens
from conformance.compare.numeric import Difference, compare, flatten
from conformance.compare.observed import (Cell, Observed, default_reference_runtime, reference_cell,
                                          training_reference_cell)
from conformance.compare.tolerance import tolerance_for
from conformance.matrix import Matrix, Model

Result = Tuple[Optional[Cause], Dict[str, Any]]


class NoReference(Exception):
    """Nothing to compare with: the case is skipped with this reason."""


@dataclass
class Reference:
    label: str
    description: Optional[Dict[str, Any]]
    outputs: Dict[str, Any]
    repeat_differs: List[str]


def find_reference(observed: Observed, matrix: Matrix, model: Model, signature: str,
                   goldens: Optional[Goldens], fingerprint: Optional[str], prefer_api: Optional[str] = None
                   ) -> Reference:
    """The reference cell of this run, else the golden (``goldens`` given): what every cell is held to."""
    cell = reference_cell(observed, matrix, model, signature, prefer_api) \
        if goldens is None or not goldens.forced else None
    if cell is not None:
        seen = cell.signature(signature)
        return Reference(cell.label(), seen.get("description"), cell.arrays(signature) or {},
                         list(seen.get("repeat_differs") or []))
    if goldens is None:
        target = model.twin or model.id
        raise NoReference("no reference outputs for %s.%s: the reference runtime's cpu cells are not in this run "
                          "or produced none (bless goldens to check a runtime alone)" % (target, signature))
    try:
        record, outputs = goldens.lookup(model.twin or model.id, signature, fingerprint)
    except GoldenError as error:
        if goldens.forced or error.kind != "golden-missing":
            raise
        target = matrix.model(model.twin) if model.twin else model
        raise NoReference("the reference runtime %s produced no outputs for %s.%s on cpu (it did not load or run "
                          "there in this run), and there is no golden for it"
                          % (default_reference_runtime(target, matrix, observed), target.id, signature))
    return Reference("golden (%s, run %s)" % (record.get("reference"), record.get("run")), record.get("description"),
                     outputs, [])


def check_inputs(observed: Observed, model: Model, signature: str) -> Result:
    by_fingerprint = collections.defaultdict(list)  # type: Dict[str, List[str]]
    for cell in observed.of_model(model.id):
        fingerprint = cell.signature(signature).get("inputs_fingerprint")
        if fingerprint:
            by_fingerprint[fingerprint].append(cell.label())
    details = {"fingerprints": {k: sorted(v) for k, v in by_fingerprint.items()}}
    if len(by_fingerprint) <= 1:
        return None, details
    groups = sorted(by_fingerprint.items(), key=lambda kv: -len(kv[1]))
    text = "; ".join("%s in %s%s" % (fp, cells[0], " (+%d cells)" % (len(cells) - 1) if len(cells) > 1 else "")
                     for fp, cells in groups)
    return Cause("input-mismatch", "runtimes fed %s.%s different inputs: %s" % (model.id, signature, text)), details


def _describe_differences(actual: Dict[str, Any], reference: Dict[str, Any]) -> List[str]:
    found = []
    for side in ("inputs", "outputs"):
        mine, theirs = actual.get(side) or {}, reference.get(side) or {}
        for name in sorted(set(mine) | set(theirs)):
            if name not in mine:
                found.append("%s `%s` missing" % (side[:-1], name))
            elif name not in theirs:
                found.append("%s `%s` not in the reference" % (side[:-1], name))
            else:
                for field in ("dtype", "shape", "kind"):
                    a, r = mine[name].get(field), theirs[name].get(field)
                    if field == "kind" and (a is None or r is None):
                        continue
                    if a != r:
                        found.append("%s `%s` %s %s vs %s" % (side[:-1], name, field, a, r))
    return found


def check_signature(cell: Cell, signature: str, reference: Reference) -> Result:
    seen = cell.signature(signature)
    if "description" not in seen:
        error = seen.get("error") or {}
        return Cause("signature-missing", "signature `%s` missing under %s in %s: %s"
                     % (signature, cell.api, cell.runtime, error.get("diagnosis", "not described"))), {}
    if reference.description is None:
        raise NoReference("the reference (%s) has no description of %s" % (reference.label, signature))
    differences = _describe_differences(seen["description"], reference.description)
    details = {"reference": reference.label, "differences": differences}
    if not differences:
        return None, details
    return Cause("signature-mismatch", "%s vs %s: %s" % (cell.label(), reference.label, "; ".join(differences))), \
        details


def check_numeric(cell: Cell, model: Model, signature: str, reference: Reference, which: str = "outputs_file",
                  drift: str = "numeric-drift", step: bool = False) -> Result:
    """Every array of ``which`` (outputs; for a train cell also its gradients) within tolerance of the
    reference's; a difference is ``drift``."""
    outputs = cell.arrays(signature, which)
    if outputs is None:
        raise NoReference("%s produced no outputs for %s" % (cell.label(), signature))
    skipped = sorted(set(cell.signature(signature).get("repeat_differs") or []) | set(reference.repeat_differs))
    differences = []  # type: List[Difference]
    tolerances = {}  # type: Dict[str, List[Any]]
    notes = []
    for name in sorted(reference.outputs):
        if name in skipped:
            notes.append("%s.%s nondeterministic: left to the repeat check" % (signature, name))
            continue
        if name not in outputs:
            notes.append("%s.%s not computed here" % (signature, name))
            continue
        for path, expected in flatten(reference.outputs[name], "%s.%s" % (signature, name)):
            actual = dict(flatten(outputs[name], "%s.%s" % (signature, name)))[path]
            dtype = "string" if expected.dtype.kind in "OSU" else str(expected.dtype)
            tolerance = tolerance_for(dtype, path, model.tolerances, model.id, cell.device, step)
            tolerances[path] = [tolerance.rtol, tolerance.atol, tolerance.ulp]  # for repro scripts
            differences.append(compare(path, actual, expected, tolerance))
    notes.extend("%s.%s not in the reference (not fetched there)" % (signature, n)
                 for n in sorted(set(outputs) - set(reference.outputs)))
    details = {"reference": reference.label, "differences": [d.as_dict() for d in differences], "notes": notes,
               "tolerances": tolerances}
    failing = [d for d in differences if not d.ok]
    if not differences:
        raise NoReference("no output of %s in common with the reference (%s)" % (signature, "; ".join(notes)))
    if not failing:
        return None, details
    return Cause(drift, "vs %s: %s" % (reference.label, "; ".join(d.line() for d in failing))), details


def training_reference(observed: Observed, matrix: Matrix, model: Model, api: str, which: str,
                       label: str = "train") -> Reference:
    cell = training_reference_cell(observed, matrix, model, api, label)
    arrays = cell.arrays(label, which) if cell is not None else None
    if not arrays:
        raise NoReference("no runtime took the %s step of %s through %s on cpu with %s recorded in this run"
                          % (label, model.id, api, "gradients" if which == "gradient_file" else "variables"))
    return Reference(cell.label(), None, arrays, [])


def check_variables(cell: Cell, reference: Cell) -> Result:
    """The trainable variables one api's train step found are those the reference api found in the same
    runtime and device: as many, of the same shapes (names differ by api: ``module/`` scopes and the like)."""
    found, wanted = (list(c.signature("train").get("variables") or []) for c in (cell, reference))
    shapes, expected = (collections.Counter(tuple(shape) for _, shape in v) for v in (found, wanted))
    details = {"reference": reference.label(), "variables": [name for name, _ in found],
               "reference_variables": [name for name, _ in wanted]}
    if shapes == expected:
        return None, details
    missing, extra = expected - shapes, shapes - expected
    parts = (["%d fewer of shape %s" % (n, list(s)) for s, n in sorted(missing.items())]
             + ["%d more of shape %s" % (n, list(s)) for s, n in sorted(extra.items())])
    return Cause("variables-differ", "%s finds %d trainable variables, %s finds %d: %s"
                 % (cell.api, len(found), reference.api, len(wanted), "; ".join(parts))), details


class Stateful(Exception):
    """A signature that writes state changed its outputs between two calls: what it does, not drift; the
    message says which ops write and which outputs changed."""


def check_repeat(cell: Cell, signature: str) -> Result:
    seen = cell.signature(signature)
    differs = list(seen.get("repeat_differs") or [])
    details = {"repeat_differs": differs}
    if not differs:
        return None, details
    if seen.get("writes_state"):
        raise Stateful("stateful: signature %s writes state (%s%s), so outputs %s changed between two calls; "
                       "every cell calls it in the same order from a fresh load"
                       % (signature, ", ".join(seen["writes_state"][:3]),
                          " and %d more" % (len(seen["writes_state"]) - 3) if len(seen["writes_state"]) > 3 else "",
                          ", ".join(differs)))
    return Cause("nondeterministic", "%s: outputs %s differ between two identical calls"
                 % (cell.label(), ", ".join("%s.%s" % (signature, d) for d in differs))), details


def check_lazy(semantics: Cell, model: Model, signature: str, eager: Optional[Cell]) -> Result:
    """Outputs computed alone (graph fetch) against the whole-signature call of the same cell (``eager``:
    the same runtime, device and api), so TF-version drift is never reported as laziness."""
    alone = semantics.arrays(signature, "alone_file")
    if not alone:
        raise NoReference("%s computed no output alone for %s" % (semantics.label(), signature))
    if eager is None:
        raise NoReference("%s has no whole-signature call of %s.%s" % (semantics.label(), model.id, signature))
    everything = eager.arrays(signature) or {}
    stateful = set(eager.signature(signature).get("repeat_differs") or [])  # state, not a value to compare
    differences = []  # type: List[Difference]
    for name in sorted((set(alone) & set(everything)) - stateful):
        path = "%s.%s" % (signature, name)
        dtype = "string" if everything[name].dtype.kind in "OSU" else str(everything[name].dtype)
        differences.append(compare(path, alone[name], everything[name],
                                   tolerance_for(dtype, path, model.tolerances, model.id, semantics.device)))
    details = {"reference": eager.label(), "differences": [d.as_dict() for d in differences]}
    if not differences:
        raise NoReference("no output computed both alone here and all together in %s" % eager.label())
    failing = [d for d in differences if not d.ok]
    if not failing:
        return None, details
    return Cause("lazy-eager-mismatch", "alone in %s vs all outputs in %s: %s"
                 % (semantics.label(), eager.label(), "; ".join(d.line() for d in failing))), details
