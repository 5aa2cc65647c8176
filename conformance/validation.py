"""Turns JSON Schema errors into one-line messages with ``file:line``, the key and what is allowed."""
from __future__ import annotations

import re
from typing import Any, Iterable, List

import jsonschema

from conformance.yaml_source import Located, LocatedList, SourceError


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


def _describe(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        unexpected = re.findall(r"'([^']+)'", error.message.split("(")[-1])
        allowed = sorted(schema.get("properties", {}))
        key = unexpected[0] if unexpected else "?"
        if allowed:
            return "unknown key %r (allowed: %s)" % (key, ", ".join(allowed))
        return "bad key %r: %s" % (key, error.message)
    if error.validator == "required":
        return "missing key %s" % error.message.split(" is a required")[0]
    if error.validator == "enum":
        return "%r is not allowed (expected one of: %s)" % (error.instance, ", ".join(map(str, schema["enum"])))
    if error.validator == "type":
        return "expected %s, got %s %r" % (schema.get("type"), type(error.instance).__name__, error.instance)
    if error.validator == "pattern":
        return "%r does not match %s" % (error.instance, schema.get("pattern"))
    if error.validator == "minItems":
        return "expected at least %d item(s), got %r" % (schema["minItems"], error.instance)
    if error.validator == "anyOf":
        return "expected a string or a list of strings, got %r" % (error.instance,)
    return error.message


def check(document: Any, schema: dict, name: str) -> None:
    """Raise :class:`SourceError` for the first (by line) schema violation in ``document``."""
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(document))
    if not errors:
        return

    def key(error):
        # additionalProperties errors sit on the mapping; point at the offending key instead.
        path = list(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = re.findall(r"'([^']+)'", error.message.split("(")[-1])
            if extra:
                path.append(extra[0])
        return path

    def line_number(error):
        return int(_line(document, key(error)).rsplit(":", 1)[1])

    first = min(errors, key=line_number)
    path = key(first)
    where = name + ("" if not path else _path_text(path) if isinstance(path[0], int) else "." + _path_text(path))
    raise SourceError("%s: %s: %s" % (_line(document, path), where, _describe(first)))
