"""Numerical comparison of one output with its reference, with every figure a person needs to judge it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, Optional, Tuple

import numpy as np

from conformance.compare.tolerance import Tolerance


@dataclass
class Difference:
    """The outcome of comparing ``actual`` with ``reference`` at ``path``; ``ok`` when within tolerance."""

    path: str
    ok: bool
    shape: Tuple[int, ...]
    dtype: str
    tolerance: Tolerance
    problem: str = ""  # shape / dtype / nan-inf / value mismatch, in words
    max_abs: float = 0.0
    max_rel: float = 0.0
    worst_index: Optional[Tuple[int, ...]] = None
    worst_actual: Any = None
    worst_reference: Any = None
    outside: int = 0
    size: int = 0
    margin: float = 0.0  # the worst element's |diff| as a fraction of what the tolerance allowed it
    extra: Dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One line for the terminal."""
        if self.ok:
            return "%s ok: max abs %.3g, max rel %.3g, within %s" % (self.path, self.max_abs, self.max_rel,
                                                                     self.tolerance.describe())
        if self.worst_index is None:
            return "%s %s %s: %s" % (self.path, self.dtype, list(self.shape), self.problem)
        return ("%s %s %s: %d of %d outside %s; max abs %.6g, max rel %.6g; worst at %s: %r vs reference %r"
                % (self.path, self.dtype, list(self.shape), self.outside, self.size, self.tolerance.describe(),
                   self.max_abs, self.max_rel, list(self.worst_index), self.worst_actual, self.worst_reference))

    def as_dict(self) -> Dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "shape": list(self.shape), "dtype": self.dtype,
                "tolerance": self.tolerance.describe(), "problem": self.problem, "max_abs": self.max_abs,
                "max_rel": self.max_rel, "worst_index": None if self.worst_index is None else list(self.worst_index),
                "worst_actual": _plain(self.worst_actual), "worst_reference": _plain(self.worst_reference),
                "outside": self.outside, "size": self.size, "margin": self.margin, "line": self.line()}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def flatten(outputs: Any, prefix: str) -> Iterator[Tuple[str, np.ndarray]]:
    """Leaves of nested outputs with their paths: ``sig.out``, ``sig.out.inner``, ``sig.out[2]``."""
    if isinstance(outputs, dict):
        for key in sorted(outputs):
            for item in flatten(outputs[key], "%s.%s" % (prefix, key)):
                yield item
    elif isinstance(outputs, (list, tuple)):
        for index, value in enumerate(outputs):
            for item in flatten(value, "%s[%d]" % (prefix, index)):
                yield item
    else:
        yield prefix, np.asarray(outputs)


def _kind(array: np.ndarray) -> str:
    if array.dtype.kind in "OSU":
        return "string"
    return str(array.dtype)


def _ulp_distance(actual: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Units in the last place between floats of one dtype (sign-magnitude mapped to a monotone integer)."""
    int_type = {2: np.int16, 4: np.int32, 8: np.int64}[actual.dtype.itemsize]
    a = actual.view(int_type).astype(np.int64)
    b = reference.view(int_type).astype(np.int64)
    top = np.int64(1) << (8 * actual.dtype.itemsize - 1)
    a = np.where(a < 0, -top - a, a)
    b = np.where(b < 0, -top - b, b)
    return np.abs(a - b)


def compare(path: str, actual: np.ndarray, reference: np.ndarray, tolerance: Tolerance) -> Difference:
    actual, reference = np.asarray(actual), np.asarray(reference)
    dtype = _kind(reference)
    base = dict(path=path, shape=tuple(reference.shape), dtype=dtype, tolerance=tolerance, size=int(reference.size))
    if _kind(actual) != dtype:
        return Difference(ok=False, problem="dtype %s vs reference %s" % (_kind(actual), dtype), **base)
    if actual.shape != reference.shape:
        return Difference(ok=False, problem="shape %s vs reference %s" % (list(actual.shape), list(reference.shape)),
                          **base)
    if reference.size == 0:
        return Difference(ok=True, **base)
    if dtype == "string" or reference.dtype.kind in "biu":
        flat_a, flat_r = actual.reshape(-1), reference.reshape(-1)
        unequal = np.array([a != r for a, r in zip(flat_a.tolist(), flat_r.tolist())])
        outside = int(unequal.sum())
        if not outside:
            return Difference(ok=True, **base)
        first = int(np.argmax(unequal))
        index = tuple(int(i) for i in np.unravel_index(first, reference.shape))
        if reference.dtype.kind in "biu":
            diffs = np.abs(flat_a.astype(np.float64) - flat_r.astype(np.float64))
            first = int(np.argmax(diffs))
            index = tuple(int(i) for i in np.unravel_index(first, reference.shape))
            base.update(max_abs=float(diffs.max()))
        return Difference(ok=False, problem="%d of %d elements differ (exact)" % (outside, reference.size),
                          worst_index=index, worst_actual=flat_a[first], worst_reference=flat_r[first],
                          outside=outside, margin=float("inf"), **base)
    with np.errstate(divide="ignore", invalid="ignore"):  # masked by the np.where calls below
        return _compare_floats(actual, reference, tolerance, base)


def _compare_floats(actual: np.ndarray, reference: np.ndarray, tolerance: Tolerance, base: Dict[str, Any]
                    ) -> Difference:
    a = actual.astype(np.float64)
    r = reference.astype(np.float64)
    nan_mismatch = np.isnan(a) != np.isnan(r)
    inf_mismatch = (np.isinf(a) | np.isinf(r)) & ~(a == r) & ~(np.isnan(a) & np.isnan(r))
    special = nan_mismatch | inf_mismatch
    finite = np.isfinite(a) & np.isfinite(r)
    diff = np.where(finite, np.abs(a - r), 0.0)
    rel = np.where(finite & (r != 0), diff / np.where(r != 0, np.abs(r), 1.0), np.where(diff > 0, np.inf, 0.0))
    if tolerance.ulp is not None and actual.dtype.kind == "f":
        distance = np.where(finite, _ulp_distance(actual, reference.astype(actual.dtype)), 0)
        allowed = float(tolerance.ulp)
        ratio = distance / max(allowed, 1.0) if allowed else np.where(distance > 0, np.inf, 0.0)
        over = finite & (distance > tolerance.ulp)
    else:
        allowed_arr = tolerance.atol + tolerance.rtol * np.abs(r)
        over = finite & (diff > allowed_arr)
        ratio = np.where(allowed_arr > 0, diff / np.where(allowed_arr > 0, allowed_arr, 1.0),
                         np.where(diff > 0, np.inf, 0.0))
    bad = over | special
    outside = int(bad.sum())
    worst = int(np.argmax(np.where(special, np.inf, ratio).reshape(-1))) if outside else int(np.argmax(diff))
    index = tuple(int(i) for i in np.unravel_index(worst, reference.shape))
    result = Difference(ok=outside == 0, max_abs=float(diff.max()), max_rel=float(rel.max()),
                        worst_index=index if outside else None, worst_actual=actual.reshape(-1)[worst].item(),
                        worst_reference=reference.reshape(-1)[worst].item(), outside=outside,
                        margin=float(np.max(np.where(special, np.inf, ratio))), **base)
    if special.any():
        result.problem = "%d NaN/inf positions differ" % int(special.sum())
    if result.ok:
        result.worst_index = None
    return result
