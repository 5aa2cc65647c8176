"""tf.Example records written by the project's own canonical encoder, plain Python.

TF 1.15's protobuf and TF 2.x's serialize the same Example to different bytes (map order), so records made
by each runtime's protobuf differ and inputs could never be compared byte for byte. This encoder writes the
protobuf wire format itself with features in sorted order: the same bytes in every runtime.

Wire format (tensorflow/core/example/{example,feature}.proto): Example.features = 1; Features.feature = 1
(map<string, Feature>: entry key = 1, value = 2); Feature.bytes_list = 1, float_list = 2, int64_list = 3;
each list's values = 1 (floats and int64s packed).
"""
from __future__ import annotations

import struct
from typing import Mapping

import numpy as np


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 values are two's complement on the wire
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _feature(value: np.ndarray) -> bytes:
    flat = np.asarray(value).reshape(-1)
    if flat.dtype == object or flat.dtype.kind in "SU":
        items = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in flat]
        return _field(1, b"".join(_field(1, item) for item in items))
    if flat.dtype.kind == "f":
        packed = struct.pack("<%df" % len(flat), *[float(v) for v in flat])
        return _field(2, _field(1, packed) if len(flat) else b"")
    packed = b"".join(_varint(int(v)) for v in flat)
    return _field(3, _field(1, packed) if len(flat) else b"")


def encode(features: Mapping[str, np.ndarray]) -> bytes:
    """One serialized tf.Example: strings/bytes become bytes_list, floats float_list, ints and bools int64_list."""
    entries = b"".join(_field(1, _field(1, name.encode("utf-8")) + _field(2, _feature(features[name])))
                       for name in sorted(features))
    return _field(1, entries)
