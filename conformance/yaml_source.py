"""YAML loading that remembers where each value came from, so errors can say ``file:line``."""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence, Union

import yaml


class SourceError(ValueError):
    """A bad input file: the message is one line that names the file, the line and the key."""


class Located(dict):
    """A mapping that knows its file and the line of each key (1-based)."""

    path = ""  # type: str
    line = 0  # type: int
    key_lines = None  # type: Dict[str, int]

    def line_of(self, key: str) -> int:
        return (self.key_lines or {}).get(key, self.line)


class LocatedList(list):
    path = ""  # type: str
    line = 0  # type: int
    item_lines = None  # type: Sequence[int]

    def line_of(self, index: int) -> int:
        lines = self.item_lines or []
        return lines[index] if index < len(lines) else self.line


def _loader_for(path: str):
    class Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node):
        loader.flatten_mapping(node)
        mapping = Located()
        mapping.path, mapping.line, mapping.key_lines = path, node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in mapping:
                raise SourceError("%s:%d: duplicate key %r" % (path, key_node.start_mark.line + 1, key))
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(loader, node):
        items = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        items.path, items.line = path, node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def load(path: str) -> Any:
    """Parse ``path``; a syntax error becomes a one-line :class:`SourceError`."""
    if not os.path.isfile(path):
        raise SourceError("%s: file not found" % path)
    with open(path, "rb") as stream:
        text = stream.read()
    try:
        return yaml.load(text, Loader=_loader_for(path))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        raise SourceError("%s:%d: invalid YAML: %s" % (path, line, error.problem or error.context))


def where(node: Union[Located, LocatedList, Any], key: Optional[Union[str, int]] = None,
          fallback: str = "") -> str:
    """``file:line`` of ``node`` (or of its ``key``) for error messages."""
    if isinstance(node, Located):
        return "%s:%d" % (node.path, node.line_of(key) if key is not None else node.line)
    if isinstance(node, LocatedList):
        return "%s:%d" % (node.path, node.line_of(key) if isinstance(key, int) else node.line)
    return fallback
