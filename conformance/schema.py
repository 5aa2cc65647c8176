"""JSON Schemas of matrix.yaml and expectations.yaml (the shape; meaning is checked in matrix.py).

Checks JSON Schema cannot spell are named formats (``requirement``, ``handle``, ``ini-text``,
``input-spec``), implemented in validation.py; ``description`` says what is allowed, for error messages.
"""
from __future__ import annotations

from conformance import causes, op_libraries

DEVICES = ["cpu", "xla", "gpu"]
APIS = ["hub.Module", "hub.load", "hub.KerasLayer", "saved_model"]
MODES = ["graph", "eager"]
FORMATS = ["hub_tf1", "saved_model_tf1", "saved_model_v2"]
STATUSES = ["pass", "fail", "skip"]
DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
          "string"]

HANDLE_PLACEHOLDERS = ["zoo", "zoo_url"]  # {zoo}: the built zoo directory, {zoo_url}: it served on 127.0.0.1
DEFAULT_CASE_TIMEOUT = 600.0
TOX_ENVS = ["zoo", "compare", "report", "tests", "tests-py37"]  # tox.ini's own envs: no runtime may take these
TOX_LABELS = ["runtimes", "test"]  # and its own labels



def __getattr__(name: str):
    """``CAUSES``: every cause a failure can be diagnosed with (what an expectation's `cause` may name),
    derived from the registered checks (conformance/checks/: each declares the causes it may name; ``load``
    declares conformance/causes.py's rule table and its fallback) and the harness's own (error, timeout,
    crash). Computed on first use: the checks import the matrix, which imports this module."""
    if name == "CAUSES":
        from conformance.checks import registry

        value = list(dict.fromkeys([rule[0] for rule in causes._RULES] + registry.declared_causes()))
        globals()["CAUSES"] = value
        return value
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


# Ids name pytest cases, tox envs and files: a safe token.
_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", "maxLength": 200,
       "description": "letters, digits, _ . - not starting with . or -, at most 200 characters"}
_REQUIREMENT = {"type": "string", "format": "requirement"}
_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 86400,
            "description": "seconds, more than 0 and at most 86400"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_STRING_OR_STRINGS = {"anyOf": [{"type": "string"}, _STRINGS]}

_FEATURE = {
    "type": "object", "additionalProperties": False, "required": ["dtype"],
    "properties": {"dtype": {"enum": ["float32", "int64", "string"]},
                   "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}}},
}

INPUT = {
    "type": "object", "additionalProperties": False, "format": "input-spec",
    "properties": {
        "npz": {"type": "string", "minLength": 1},
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
        "tensorflow": _REQUIREMENT,
        "tensorflow_hub": _REQUIREMENT,
        "extras": {"type": "array", "items": _REQUIREMENT},
        "mode": {"enum": MODES},
        "env": {"type": "object", "additionalProperties": {"type": "string", "format": "ini-text"},
                "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 200,
                                  "description": "an environment variable name: letters, digits and _"}},
        "labels": {"type": "array", "items": _ID},
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
        "handle": {"type": "string", "minLength": 1, "format": "handle"},
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
        "timeout": _SECONDS,
        "trust": {"type": "boolean"},
        "clear_devices": {"type": "boolean"},
        "requires": {"type": "array", "items": {"enum": op_libraries.NAMES}},
    },
}

MATRIX = {
    "type": "object", "additionalProperties": False, "required": ["runtimes", "models"],
    "properties": {
        "expectations": _STRING_OR_STRINGS,
        "overhead_threshold": {"type": "number", "exclusiveMinimum": 0},
        "case_timeout": _SECONDS,
        "models_per_job": {"type": "integer", "minimum": 1, "maximum": 100000},
        "reuse": {"type": "boolean"},
        "full_run_weekday": {"enum": ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]},
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
                "keras": {"enum": ["2", "3"]},
                "tensorflow": {"type": "string"}, "tensorflow_hub": {"type": "string"},
            },
        },
        "status": {"enum": STATUSES},
        "intermittent": {"type": "array", "items": {"enum": STATUSES}},
        "cause": _STRING_OR_STRINGS,  # known causes: checked by expectations.load_expectations
        "reason": {"type": "string", "minLength": 1},
        "link": {"type": "string"},
        # why a rule may cover every case of a model, a runtime or the whole matrix (expectation_audit.py)
        "broad": {"type": "string", "minLength": 1},
    },
}

EXPECTATIONS = {"type": "array", "items": EXPECTATION}
