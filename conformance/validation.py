"""Turns JSON Schema errors into one-line messages with ``file:line``, the key and what is allowed.

Also implements the schema's named formats, the checks of one value that JSON Schema cannot spell:
``requirement`` (PEP 508, nothing tox.ini would read differently), ``ini-text`` (one line of tox.ini),
``handle`` (a model handle before its placeholders are filled) and ``input-spec`` (agreed inputs).
"""
from __future__ import annotations

import re
import string
from functools import reduce
from operator import mul
from typing import Any, Iterable, List

import jsonschema
from packaging.requirements import InvalidRequirement, Requirement

from conformance import schema
from conformance.yaml_source import Located, LocatedList, SourceError, clipped, kind_of, shown

MAX_INPUT_ELEMENTS = 10 ** 7  # an agreed input larger than this would not fit the machine
URL_SCHEMES = ("http", "https", "gs")

FORMATS = jsonschema.FormatChecker(formats=())
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def _reject_unsafe_characters(text: str) -> None:
    found = _UNSAFE_CHARACTER.search(text)
    if found:
        raise ValueError("control character or line break U+%04X at position %d" % (ord(found.group()),
                                                                                   found.start() + 1))


@FORMATS.checks("ini-text", raises=ValueError)
def _ini_text(text: Any) -> bool:
    """One line of tox.ini: no control characters or line breaks, no trailing backslash (a continuation)."""
    if isinstance(text, str):
        _reject_unsafe_characters(text)
        if text.endswith("\\"):
            raise ValueError("a trailing backslash continues the line in tox.ini")
    return True


@FORMATS.checks("requirement", raises=ValueError)
def _requirement(text: Any) -> bool:
    """A PEP 508 requirement such as ``tensorflow-cpu==2.21.0``, safe to write into tox.ini's deps."""
    if not isinstance(text, str):
        return True
    _ini_text(text)
    if "{" in text or "}" in text:
        raise ValueError("braces are not allowed (tox would substitute them)")
    try:
        Requirement(text)
    except InvalidRequirement as error:
        raise ValueError("not a PEP 508 requirement: %s" % clipped(str(error).splitlines()[0], 100))
    return True


@FORMATS.checks("handle", raises=ValueError)
def _handle(handle: Any) -> bool:
    """An http(s):// or gs:// URL, a directory or a .tar.gz, with only the known ``{placeholders}``."""
    if not isinstance(handle, str):
        return True
    _reject_unsafe_characters(handle)
    scheme = _SCHEME.match(handle)
    if scheme and scheme.group(1).lower() == "file":
        raise ValueError("file:// URLs are not resolved the same way by every tensorflow_hub: use a plain path")
    if scheme and scheme.group(1).lower() not in URL_SCHEMES:
        raise ValueError("unsupported scheme %s:// (allowed: http://, https://, gs://, a directory or a .tar.gz)"
                         % clipped(scheme.group(1), 20))
    try:
        fields = list(string.Formatter().parse(handle))
    except ValueError as error:
        raise ValueError("%s (write a literal brace as {{ or }})" % error)
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in schema.HANDLE_PLACEHOLDERS or spec or conversion:
            raise ValueError("unknown placeholder {%s} (allowed: %s)"
                             % (clipped(name + ("!" + conversion if conversion else "") + (":" + spec if spec else ""),
                                        40), ", ".join("{%s}" % p for p in schema.HANDLE_PLACEHOLDERS)))
    return True


def _values_shape(values: Any) -> List[int]:
    """The shape of a rectangular nested list of numbers; a ValueError names the first problem."""
    if isinstance(values, list):
        shapes = [_values_shape(item) for item in values]
        for shape in shapes[1:]:
            if shape != shapes[0]:
                raise ValueError("values are ragged: items of shapes %s and %s in one list (allowed: a "
                                 "rectangular nested list)" % (shapes[0], shape))
        return [len(values)] + (shapes[0] if shapes else [])
    if isinstance(values, (bool, int, float)):
        return []
    raise ValueError("values hold %s, a %s (allowed: numbers and booleans; text goes in `strings`)"
                     % (shown(values, 40), kind_of(values)))


def _count(shape: Iterable[int]) -> int:
    return reduce(mul, shape, 1)


@FORMATS.checks("input-spec", raises=ValueError)
def _input_spec(spec: Any) -> bool:
    """One source of values (npz, values, strings or tf_example) that fills the declared ``shape``."""
    if not isinstance(spec, dict):
        return True
    sources = [key for key in ("npz", "values", "strings", "tf_example") if key in spec]
    if len(sources) > 1:
        raise ValueError("%s are alternatives: give one" % " and ".join(sources))
    shape = spec.get("shape")
    if isinstance(shape, list) and all(isinstance(d, int) for d in shape) and _count(shape) > MAX_INPUT_ELEMENTS:
        raise ValueError("shape %s has %d elements (allowed: at most %d)" % (shown(shape, 40), _count(shape),
                                                                           MAX_INPUT_ELEMENTS))
    if "values" in spec:
        if spec.get("dtype") == "string":
            raise ValueError("values with dtype string: give text in `strings`")
        found = _values_shape(spec["values"])
        if isinstance(shape, list) and _count(found) != _count(shape):
            raise ValueError("values have shape %s (%d numbers) but shape %s needs %d"
                             % (found, _count(found), shown(shape, 40), _count(shape)))
    if isinstance(spec.get("strings"), list) and isinstance(shape, list) and len(spec["strings"]) != _count(shape):
        raise ValueError("%d strings but shape %s needs %d" % (len(spec["strings"]), shown(shape, 40), _count(shape)))
    bounds = spec.get("range")
    if isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds) \
            and not bounds[0] <= bounds[1]:
        raise ValueError("range %s is empty (allowed: [low, high] with low <= high)" % shown(bounds, 40))
    return True


def _path_text(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += "[%d]" % part if isinstance(part, int) else (".%s" % part if text else str(part))
    return text or "(top level)"


def _line(document: Any, path: List[Any]) -> str:
    """``file:line`` of the deepest node of ``path`` that carries a position."""
    node, found = document, "%s:%d" % (getattr(document, "path", "?"), getattr(document, "line", 0))
    for part in path:
        if isinstance(node, Located) and part in node:
            found = "%s:%d" % (node.path, node.line_of(part))
        elif isinstance(node, LocatedList) and isinstance(part, int) and part < len(node):
            found = "%s:%d" % (node.path, node.line_of(part))
        else:
            break
        node = node[part]
    return found


def _allowed(schema_part: dict, otherwise: str = "") -> str:
    """`` (allowed: …)`` from the schema's description, else from ``otherwise``."""
    allowed = schema_part.get("description", otherwise)
    return " (allowed: %s)" % allowed if allowed else ""


def _unknown_keys(error: jsonschema.ValidationError) -> List[str]:
    known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return sorted(key for key in error.instance if key not in known) if isinstance(error.instance, dict) else []


def _describe(error: jsonschema.ValidationError) -> str:
    schema_part = error.schema if isinstance(error.schema, dict) else {}
    instance = shown(error.instance)
    if error.validator == "additionalProperties":
        unexpected = _unknown_keys(error)
        allowed = sorted(schema_part.get("properties", {}))
        key = shown(unexpected[0]) if unexpected else "?"
        if allowed:
            return "unknown key %s (allowed: %s)" % (key, ", ".join(allowed))
        return "bad key %s" % key
    if error.validator == "required":
        return "missing key %s" % clipped(error.message.split(" is a required")[0])
    if error.validator == "enum":
        return "%s is not allowed (expected one of: %s)" % (instance, ", ".join(map(str, schema_part["enum"])))
    if error.validator == "type":
        return "expected %s, got %s %s" % (schema_part.get("type"), kind_of(error.instance), instance)
    if error.validator == "pattern":
        return "%s does not match %s%s" % (instance, schema_part.get("pattern"), _allowed(schema_part))
    if error.validator == "format":
        problem = error.cause or "not a valid %s" % schema_part.get("format")
        return str(problem) if isinstance(error.instance, dict) else "%s: %s" % (instance, problem)
    if error.validator in ("minItems", "maxItems"):
        return "expected %s %d item(s), got %s" % ("at least" if error.validator == "minItems" else "at most",
                                                   error.validator_value, instance)
    if error.validator in ("minLength", "maxLength"):
        limit = "%s %d" % ("at least" if error.validator == "minLength" else "at most", error.validator_value)
        return "%s is %d characters long%s" % (instance, len(error.instance), _allowed(schema_part, limit))
    if error.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        limit = "%s %s" % (bound[error.validator], error.validator_value)
        return "%s is out of range%s" % (instance, _allowed(schema_part, limit))
    if error.validator == "anyOf":
        return "expected a string or a list of strings, got %s" % instance
    return "%s: %s" % (instance, error.validator)


def _key_path(error: jsonschema.ValidationError) -> List[Any]:
    """The path of the offending key: an unknown or badly named key, not the mapping holding it."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":
        path.extend(_unknown_keys(error)[:1])
    elif "propertyNames" in error.schema_path:
        path.append(error.instance)
    return path


def check(document: Any, schema_of_document: dict, name: str) -> None:
    """Raise :class:`SourceError` for the first (by line) schema violation in ``document``."""
    errors = list(jsonschema.Draft7Validator(schema_of_document, format_checker=FORMATS).iter_errors(document))
    if not errors:
        return

    def line_number(error: jsonschema.ValidationError) -> int:
        return int(_line(document, _key_path(error)).rsplit(":", 1)[1])

    first = min(errors, key=line_number)
    path = _key_path(first)
    where = name + ("" if not path else _path_text(path) if isinstance(path[0], int) else "." + _path_text(path))
    raise SourceError("%s: %s: %s" % (_line(document, path), clipped(where, 200), _describe(first)))
