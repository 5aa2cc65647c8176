"""JSON Schemas of matrix.yaml and expectations.yaml (the shape; meaning is checked in matrix.py)."""
from __future__ import annotations

DEVICES = ["cpu", "xla", "gpu"]
APIS = ["hub.Module", "hub.load", "hub.KerasLayer", "saved_model"]
MODES = ["graph", "eager"]
FORMATS = ["hub_tf1", "saved_model_tf1", "saved_model_v2"]
STATUSES = ["pass", "fail", "skip"]
DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
          "string"]

_ID = {"type": "string", "pattern": r"^[^\s\[\]/]+$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_STRING_OR_STRINGS = {"anyOf": [{"type": "string"}, _STRINGS]}

_FEATURE = {
    "type": "object", "additionalProperties": False, "required": ["dtype"],
    "properties": {"dtype": {"enum": ["float32", "int64", "string"]},
                   "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}}},
}

INPUT = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "npz": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "dtype": {"enum": DTYPES},
        "range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "values": {"type": "array"},
        "strings": _STRINGS,
        "tf_example": {"type": "object", "additionalProperties": _FEATURE},
    },
}

RUNTIME = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "python", "tensorflow", "tensorflow_hub", "mode"],
    "properties": {
        "id": _ID,
        "python": {"type": "string", "pattern": r"^3\.[0-9]+$"},
        "tensorflow": {"type": "string"},
        "tensorflow_hub": {"type": "string"},
        "extras": _STRINGS,
        "mode": {"enum": MODES},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
        "labels": _STRINGS,
        "devices": {"type": "array", "items": {"enum": DEVICES}},
    },
}

_TOLERANCE_FIELDS = {"rtol": {"type": "number", "minimum": 0}, "atol": {"type": "number", "minimum": 0},
                     "ulp": {"type": "integer", "minimum": 0}}
TOLERANCES = {
    "type": "object", "additionalProperties": False,
    "properties": dict(_TOLERANCE_FIELDS, outputs={
        "type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": False, "properties": _TOLERANCE_FIELDS}}),
}

MODEL = {
    "type": "object", "additionalProperties": False, "required": ["id", "handle"],
    "properties": {
        "id": _ID,
        "handle": {"type": "string", "minLength": 1},
        "format": {"enum": FORMATS},
        "tags": _STRINGS,
        "signatures": _STRINGS,
        "inputs": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": INPUT}},
        "fetch": {"type": "object", "additionalProperties": _STRINGS},
        "reference": {"type": "string"},
        "runtimes": _STRINGS,
        "devices": {"type": "array", "items": {"enum": DEVICES}},
        "apis": {"type": "array", "items": {"enum": APIS}},
        "batch": {"type": "integer", "minimum": 1},
        "tolerances": TOLERANCES,
        "twin": {"type": "string"},
        "counter": {"type": "string"},
        "overhead_threshold": {"type": "number", "exclusiveMinimum": 0},
    },
}

MATRIX = {
    "type": "object", "additionalProperties": False, "required": ["runtimes", "models"],
    "properties": {
        "expectations": _STRING_OR_STRINGS,
        "overhead_threshold": {"type": "number", "exclusiveMinimum": 0},
        "devices": {"type": "array", "items": {"enum": DEVICES}, "minItems": 1},
        "apis": {"type": "array", "items": {"enum": APIS}, "minItems": 1},
        "runtimes": {"type": "array", "items": RUNTIME, "minItems": 1},
        "models": {"type": "array", "items": MODEL, "minItems": 1},
    },
}

EXPECTATION = {
    "type": "object", "additionalProperties": False, "required": ["match", "status", "reason"],
    "properties": {
        "match": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "properties": {
                "case": _STRING_OR_STRINGS, "check": _STRING_OR_STRINGS, "model": _STRING_OR_STRINGS,
                "runtime": _STRING_OR_STRINGS, "device": _STRING_OR_STRINGS, "api": _STRING_OR_STRINGS,
                "format": _STRING_OR_STRINGS, "signature": _STRING_OR_STRINGS, "mode": {"enum": MODES},
                "tensorflow": {"type": "string"}, "tensorflow_hub": {"type": "string"},
            },
        },
        "status": {"enum": STATUSES},
        "intermittent": {"type": "array", "items": {"enum": STATUSES}},
        "cause": {"type": "string"},
        "reason": {"type": "string", "minLength": 1},
        "link": {"type": "string"},
    },
}

EXPECTATIONS = {"type": "array", "items": EXPECTATION}
