"""Agreed inputs in, tensors out and back: dense, sparse and ragged values carried as dense numpy arrays.

Agreed inputs are numpy arrays in every runtime (so they are saved, fingerprinted and compared as such). A
sparse input's absent entries are its zeros (``b""`` for strings) and a ragged input's rows end before their
trailing zeros; :mod:`conformance.inputs` leaves such zeros on purpose, so the composite really is sparse or
ragged, and the same bytes rebuild the same composite in every runtime. Composite outputs come back dense.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from conformance.inputs import InputsUnknown


def identical(first: np.ndarray, second: Optional[np.ndarray]) -> bool:
    """Bitwise agreement of two calls (NaN equal to NaN): the self-consistency check."""
    if second is None or first.shape != second.shape or first.dtype != second.dtype:
        return False
    if first.dtype == object:
        return [bytes(v) for v in first.reshape(-1)] == [bytes(v) for v in second.reshape(-1)]
    return first.tobytes() == second.tobytes()


def spec(dtype: Any, shape: Any, kind: str = "dense", ragged_rank: Any = None) -> Dict[str, Any]:
    """Canonical description of one tensor: dtype name, shape (None for unknown dims or rank), kind."""
    dims = None
    if shape is not None and getattr(shape, "dims", None) is not None:
        dims = [None if d is None else int(d) for d in shape.as_list()]
    described = {"dtype": dtype.name, "shape": dims, "kind": kind}
    if kind == "ragged" and ragged_rank is not None:
        described["ragged_rank"] = int(ragged_rank)
    return described


def kind_of(tensor_spec: Any) -> str:
    """dense, sparse or ragged, from a TensorSpec-like object or a hub tensor info (via its type_spec)."""
    tensor_spec = getattr(tensor_spec, "type_spec", None) or tensor_spec
    name = type(tensor_spec).__name__
    if "Sparse" in name or getattr(tensor_spec, "is_sparse", False):
        return "sparse"
    if "Ragged" in name:
        return "ragged"
    return "dense" if "Tensor" in name or hasattr(tensor_spec, "dtype") else "composite"


def describe_spec(tensor_spec: Any) -> Dict[str, Any]:
    """:func:`spec` of a TensorSpec, SparseTensorSpec, RaggedTensorSpec or hub tensor info."""
    kind = kind_of(tensor_spec)
    shape = tensor_spec.get_shape() if hasattr(tensor_spec, "get_shape") else tensor_spec.shape
    type_spec = getattr(tensor_spec, "type_spec", None) or tensor_spec
    return spec(tensor_spec.dtype, shape, kind, getattr(type_spec, "ragged_rank", None))


def padding(array: np.ndarray) -> Any:
    return b"" if array.dtype == object or array.dtype.kind in "SU" else array.dtype.type(0)


def sparse_parts(array: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indices, values, dense_shape)`` of the non-padding entries, as a TF1 SparseTensorValue takes them."""
    present = array != padding(array)
    indices = np.argwhere(present).astype(np.int64).reshape(-1, array.ndim)
    return indices, array[present], np.asarray(array.shape, dtype=np.int64)


def ragged_parts(array: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(flat_values, row_splits)`` of a ragged (ragged_rank 1) input carried dense: each row ends before
    its trailing padding."""
    if array.ndim < 2:
        raise ValueError("a ragged input needs at least 2 dimensions, got shape %s" % (array.shape,))
    present = (array != padding(array)).reshape(array.shape[0], array.shape[1], -1).any(axis=2)
    lengths = [int(np.nonzero(row)[0][-1]) + 1 if row.any() else 0 for row in present]
    values = [array[row, :length] for row, length in enumerate(lengths)]
    flat = np.concatenate(values) if values else array[:0, 0]
    return flat, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def component_feeds(inputs: Mapping[str, np.ndarray], described: Mapping[str, Mapping[str, Any]]
                    ) -> Dict[str, np.ndarray]:
    """Inputs as a signature that TF2 flattened takes them: a sparse or ragged input with ``components``
    becomes its dense parts (indices, values, dense_shape / flat values, row splits)."""
    feeds = {}  # type: Dict[str, np.ndarray]
    for name, value in inputs.items():
        info = described.get(name, {})
        components = info.get("components")
        if not components:
            feeds[name] = value
        elif info["kind"] == "sparse":
            feeds.update(zip(components, sparse_parts(value)))
        elif info["kind"] == "ragged" and info.get("ragged_rank", 1) == 1:
            feeds.update(zip(components, ragged_parts(value)))
        else:
            raise InputsUnknown("input %r is %s with ragged_rank %s: only ragged_rank 1 is fed from its "
                                "components; give it in matrix.yaml `inputs:` as `npz`" % (
                                    name, info["kind"], info.get("ragged_rank")))
    return feeds


def to_tensor(tf: Any, value: Any, info: Mapping[str, Any]) -> Any:
    """One agreed input as the tensor the signature takes (``value`` a numpy array or a dense tensor)."""
    dense = tf.convert_to_tensor(value)
    kind = info.get("kind", "dense")
    if kind == "sparse":
        return tf.sparse.from_dense(dense)
    if kind == "ragged":
        pad = b"" if dense.dtype == tf.string else tf.zeros([], dense.dtype)
        return tf.RaggedTensor.from_tensor(dense, padding=pad, ragged_rank=info.get("ragged_rank", 1))
    return dense


def to_tensors(tf: Any, inputs: Mapping[str, Any], described: Mapping[str, Mapping[str, Any]]) -> Dict[str, Any]:
    return {name: to_tensor(tf, value, described.get(name, {})) for name, value in inputs.items()}


def densify(tf: Any, value: Any) -> Any:
    """A composite output as a dense tensor: a sparse one with zeros where absent, a ragged one padded."""
    if isinstance(value, tf.SparseTensor):
        return tf.sparse.to_dense(value)
    if isinstance(value, tf.RaggedTensor):
        return value.to_tensor()
    return value


def to_numpy(tf: Any, value: Any) -> np.ndarray:
    """An output as a numpy array (composite outputs densified)."""
    value = densify(tf, value)
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)
