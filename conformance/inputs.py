"""The agreed inputs of a signature: deterministic, byte-identical in every runtime.

Values come from ``numpy.random.RandomState`` (its stream is frozen across numpy versions, unlike
``default_rng``) seeded by a CRC of ``model/signature/input``, so Python 3.7 + numpy 1.18 and
Python 3.11 + numpy 2 produce the same bytes.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

WORDS = ["the", "quick", "brown", "fox", "hub", "module", "tensor", "graph", "eager", "model", "lazy", "dog"]
DEFAULT_RANGE = (-1.0, 1.0)
UNKNOWN_DIM = 3  # size given to an unknown non-batch dimension

Encoder = Callable[[Mapping[str, np.ndarray]], bytes]

# What is tried, in this order, where nothing states an input's shape (docs/matrix.md, "Inputs found"): for an
# input of unknown rank, a batch first (numbers compare over several rows), then a scalar (a TF1 serving
# signature's `delta`), a column, one element, a batch of short rows; the whole list again with a batch of 1
# (a fixed-shape output such as [1, 10, 10, 1] rejects 2); and in generated tf.Example records one value per
# example of a VarLen feature first (what serving data usually holds; a graph may densify it to [batch, 1]),
# then UNKNOWN_DIM. The first candidate whose call runs is recorded and used by every later check.
UNKNOWN_RANK_SHAPES = (("batch",), (), ("batch", 1), (1,), ("batch", UNKNOWN_DIM))
VARLEN_VALUES = (1, UNKNOWN_DIM)
_STATES_SHAPE = ("shape", "values", "strings", "npz", "tf_example")


@dataclass(frozen=True)
class Candidate:
    """One way of making a signature's inputs where nothing states them all: a batch size, shapes for its
    inputs of unknown rank, and how many values a generated tf.Example gives each VarLen feature."""
    batch: int
    shapes: Tuple[Tuple[str, Tuple[int, ...]], ...] = ()
    varlen: int = 1

    def label(self) -> str:
        parts = ["batch %d" % self.batch] + ["%s: %s" % (name, list(shape)) for name, shape in self.shapes]
        return ", ".join(parts + (["%d value(s) per VarLen feature" % self.varlen] if self.varlen != 1 else []))

    def as_dict(self) -> Dict[str, Any]:
        return {"batch": self.batch, "shapes": {name: list(shape) for name, shape in self.shapes},
                "varlen": self.varlen, "label": self.label()}


def candidates(described: Mapping[str, Mapping[str, Any]], specs: Mapping[str, Mapping[str, Any]], batch: int
               ) -> List[Candidate]:
    """The candidates to try for a signature, in order; one (the plain default) where nothing is to search.
    Inputs given in full by ``specs`` (matrix.yaml's ``inputs:``) are never searched, nor is their batch."""
    unknown = sorted(name for name, info in described.items()
                     if info.get("shape") is None and not any(key in (specs.get(name) or {}) for key in _STATES_SHAPE))
    varlen = any(feature.get("kind") in ("sparse", "ragged")
                 for spec in specs.values() for feature in (spec.get("tf_example") or {}).values())
    declared = bool(specs) and all(any(key in (specs.get(name) or {}) for key in ("shape", "values", "strings",
                                                                                   "npz"))
                                   for name in described)
    batches = [batch] + ([1] if batch > 1 and not declared else [])
    batched = len(unknown) < len(described)  # the batch reaches inputs other than the unknown-rank ones
    found, seen = [], set()
    for size in batches:
        for template in (UNKNOWN_RANK_SHAPES if unknown else ((),)):
            shape = tuple(size if d == "batch" else int(d) for d in template)
            shapes = tuple((name, shape) for name in unknown)
            for values in (VARLEN_VALUES if varlen else (1,)):
                key = (size if batched else 0, shapes, values)  # the same arrays are not tried twice
                if key not in seen:
                    seen.add(key)
                    found.append(Candidate(size, shapes, values))
    return found


def seed_of(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode("utf-8")) & 0x7FFFFFFF


class InputsUnknown(Exception):
    """The harness cannot make valid inputs for a signature: the case says what is missing (cause
    ``inputs-unknown``), never blames the model."""


def _shape(declared: Optional[Sequence[Optional[int]]], spec: Mapping[str, Any], batch: int, where: str) -> List[int]:
    if "shape" in spec:
        return list(spec["shape"])
    if "values" in spec:
        return list(np.asarray(spec["values"]).shape)
    if "strings" in spec:
        return [len(spec["strings"])]
    if declared is None:
        if "tf_example" in spec:
            return [batch]  # serialized examples: a vector of records
        raise InputsUnknown("%s has unknown rank and the graph does not say it: give its `shape` in matrix.yaml "
                            "`inputs:`" % where)
    return [(batch if i == 0 else UNKNOWN_DIM) if d is None or d < 0 else int(d) for i, d in enumerate(declared)]


def _numbers(random: np.random.RandomState, dtype: str, shape: List[int], value_range) -> np.ndarray:
    low, high = value_range
    if dtype in ("float16", "float32", "float64", "bfloat16"):
        values = random.uniform(low, high, size=shape)
        # bfloat16 is not a numpy dtype: send float32 and let the runtime cast.
        return values.astype(np.float32 if dtype == "bfloat16" else dtype)
    if dtype == "bool":
        return random.randint(0, 2, size=shape).astype(np.bool_)
    low_int, high_int = (0, 10) if value_range == DEFAULT_RANGE else (int(low), int(high) + 1)
    return random.randint(low_int, high_int, size=shape).astype(dtype)


def _strings(random: np.random.RandomState, shape: List[int]) -> np.ndarray:
    count = int(np.prod(shape)) if shape else 1
    words = [" ".join(WORDS[i] for i in random.randint(0, len(WORDS), size=1 + random.randint(0, 4)))
             for _ in range(count)]
    return np.array([w.encode("utf-8") for w in words], dtype=object).reshape(shape)


def _examples(random: np.random.RandomState, features: Mapping[str, Mapping[str, Any]], count: int,
              encode: Encoder) -> np.ndarray:
    records = []
    for _ in range(count):
        values = {}
        for name in sorted(features):
            feature = features[name]
            shape = list(feature.get("shape") or [1])
            if feature["dtype"] == "string":
                values[name] = _strings(random, shape)
            else:
                values[name] = _numbers(random, feature["dtype"], shape, DEFAULT_RANGE)
        records.append(encode(values))
    return np.array(records, dtype=object)


def _leave_absent(random: np.random.RandomState, array: np.ndarray, kind: str) -> np.ndarray:
    """A sparse input's absent entries are zeros, a ragged input's rows end before their trailing zeros
    (see conformance.runtime.apis.tensors): make present entries non-zero and leave some absent."""
    if kind not in ("sparse", "ragged") or array.ndim == 0:
        return array
    array = array.copy()
    if array.dtype.kind in "iu":
        array[array == 0] = 1
    elif array.dtype.kind == "b":
        array[...] = True
    zero = b"" if array.dtype == object else array.dtype.type(0)
    if kind == "sparse":
        array[random.uniform(size=array.shape) < 0.5] = zero
    elif array.ndim >= 2:  # ragged: row i keeps a length in 1..n of its first ragged dimension
        lengths = random.randint(1, array.shape[1] + 1, size=array.shape[0])
        for row, length in enumerate(lengths):
            array[row, length:] = zero
    return array


def make_input(model: str, signature: str, name: str, dtype: str, declared_shape: Optional[Sequence],
               spec: Optional[Mapping[str, Any]] = None, batch: int = 2,
               encode_example: Optional[Encoder] = None, kind: str = "dense") -> np.ndarray:
    """One agreed input; ``kind`` sparse or ragged gives a dense array whose zeros are the absent entries."""
    spec = spec or {}
    if "npz" in spec:
        with np.load(spec["npz"], allow_pickle=False) as arrays:
            if name not in arrays:
                raise ValueError("model %r signature %r: %s has no array %r (it has: %s)"
                                 % (model, signature, spec["npz"], name, ", ".join(sorted(arrays))))
            value = arrays[name]
        return value.astype(object) if value.dtype.kind == "S" else value
    dtype = spec.get("dtype", dtype)
    shape = _shape(declared_shape, spec, batch, "model %r signature %r input %r" % (model, signature, name))
    if "values" in spec:
        return np.asarray(spec["values"], dtype=object if dtype == "string" else dtype).reshape(shape)
    if "strings" in spec:
        return np.array([s.encode("utf-8") for s in spec["strings"]], dtype=object).reshape(shape)
    random = np.random.RandomState(seed_of(model, signature, name))
    if "tf_example" in spec:
        if encode_example is None:
            raise ValueError("model %r signature %r input %r: tf_example inputs need an encoder (the runtime)"
                             % (model, signature, name))
        return _examples(random, spec["tf_example"], int(np.prod(shape)), encode_example).reshape(shape)
    if dtype == "string":
        return _leave_absent(random, _strings(random, shape), kind)
    return _leave_absent(random, _numbers(random, dtype, shape, tuple(spec.get("range", DEFAULT_RANGE))), kind)


def make_inputs(model: str, signature: str, described: Mapping[str, Mapping[str, Any]],
                specs: Optional[Mapping[str, Mapping[str, Any]]] = None, batch: int = 2,
                encode_example: Optional[Encoder] = None) -> Dict[str, np.ndarray]:
    """Inputs for every input of a signature, from its description ``{name: {dtype, shape}}``."""
    specs = specs or {}
    return {name: make_input(model, signature, name, info["dtype"], info.get("shape"), specs.get(name), batch,
                             encode_example, info.get("kind", "dense"))
            for name, info in sorted(described.items())}


def fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """A digest of the inputs' bytes, recorded so runtimes can prove they fed the same data."""
    digest = zlib.crc32(b"")
    for name in sorted(arrays):
        array = arrays[name]
        digest = zlib.crc32(name.encode("utf-8"), digest)
        if array.dtype == object:
            for item in array.reshape(-1):
                digest = zlib.crc32(bytes(item), digest)
        else:
            digest = zlib.crc32(np.ascontiguousarray(array).tobytes(), digest)
        digest = zlib.crc32(repr(list(array.shape)).encode("ascii"), digest)
    return "%08x" % (digest & 0xFFFFFFFF)
