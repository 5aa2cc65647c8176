"""YAML loading that remembers where each value came from, so errors can say ``file:line``.

Matrix files are plain data, so the loader refuses what plain data does not need and what makes a small
file dangerous: anchors and aliases (a few kB of them expand into gigabytes), nesting deeper than
:data:`MAX_DEPTH` (it would exhaust the stack), text that is not UTF-8 and control characters.
Mapping keys are names: a scalar key is kept as its text (``on:`` is the key ``"on"``, not ``True``).
"""
from __future__ import annotations

import contextlib
import gc
import os
import re
from typing import Any, Dict, Optional, Sequence, Union

import yaml

MAX_DEPTH = 50  # levels of nested mappings and lists; matrix files use fewer than 10
_TOO_DEEP = "%s:%d: (nesting): more than %d levels of nested mappings and lists (matrix files need fewer than 10)"
SHOWN_CHARS = 80  # how much of a value an error message quotes
SHOWN_ITEMS = 12  # how many names an error message lists

# What YAML itself accepts (its Reader's printable set): tabs, line breaks and printable characters.
_UNPRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


class SourceError(ValueError):
    """A bad input file: the message is one line that names the file, the line and the key."""


def clipped(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters: what error messages quote of a user's value."""
    return clipped(repr(value), limit)


def kind_of(value: Any) -> str:
    """What a YAML value is, for error messages: ``mapping``, ``list``, or its Python type (``str``)."""
    return "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else type(value).__name__


def listed(names: Sequence[Any], limit: int = SHOWN_ITEMS) -> str:
    """``a, b, c`` for error messages; a long list is cut, with its length."""
    names = [str(name) for name in names]
    if len(names) <= limit:
        return ", ".join(names)
    return "%s, ... (%d in all)" % (", ".join(names[:limit]), len(names))


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


try:  # libyaml scans and parses; composing (with its checks) and constructing stay in Python
    from yaml.cyaml import CParser

    class _SafeLoader(yaml.composer.Composer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        def __init__(self, stream):
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
except ImportError:  # PyYAML built without libyaml
    _SafeLoader = yaml.SafeLoader  # type: ignore


def _loader_for(path: str):
    class Loader(_SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            event = self.peek_event()
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise SourceError("%s:%d: %s%s: anchors and aliases are not supported (write the value out)"
                                  % (path, line, "*" if isinstance(event, yaml.AliasEvent) else "&",
                                     clipped(event.anchor, 40)))
            nests = isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent))
            if nests:
                self.depth += 1
                if self.depth > MAX_DEPTH:
                    raise SourceError(_TOO_DEEP % (path, line, MAX_DEPTH))
            try:
                return super().compose_node(parent, index)
            finally:
                if nests:
                    self.depth -= 1

    def construct_mapping(loader, node):
        loader.flatten_mapping(node)
        mapping = Located()
        mapping.path, mapping.line, mapping.key_lines = path, node.start_mark.line + 1, {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError("%s:%d: (key): a %s cannot be a mapping key (allowed: a name, such as `id`)"
                                  % (path, line, "list" if isinstance(key_node, yaml.SequenceNode) else "mapping"))
            key = key_node.value
            if key in mapping:
                raise SourceError("%s:%d: duplicate key %s" % (path, line, shown(key)))
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.key_lines[key] = line
        return mapping

    def construct_sequence(loader, node):
        items = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
        items.path, items.line = path, node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return Loader


def _text_of(path: str, data: bytes) -> str:
    """The file's text; bytes that are not UTF-8 and control characters are errors with their position."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        raise SourceError("%s:%d: invalid YAML: byte 0x%02x at column %d is not UTF-8 (allowed: UTF-8 text)"
                          % (path, data.count(b"\n", 0, error.start) + 1, data[error.start],
                             error.start - line_start + 1))
    bad = _UNPRINTABLE.search(text)
    if bad:
        line_start = text.rfind("\n", 0, bad.start()) + 1
        raise SourceError("%s:%d: invalid YAML: control character U+%04X at column %d (allowed: printable "
                          "text, tabs and line breaks)" % (path, text.count("\n", 0, bad.start()) + 1,
                                                          ord(bad.group()), bad.start() - line_start + 1))
    return text


@contextlib.contextmanager
def _no_cyclic_gc():
    """Loading allocates an object per YAML node and no cycles: the collector's passes over them would
    make a large matrix load three times slower."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load(path: str) -> Any:
    """Parse ``path``; anything wrong with it becomes a one-line :class:`SourceError`."""
    if not os.path.isfile(path):
        raise SourceError("%s: file not found" % path)
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise SourceError("%s: cannot read: %s" % (path, error.strerror or error))
    text = _text_of(path, data)
    try:
        with _no_cyclic_gc():
            return yaml.load(text, Loader=_loader_for(path))  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        problem = " ".join(str(error.problem or error.context).split())
        if "nesting depth" in problem:  # libyaml's parser reads ahead and stops deep nesting itself
            raise SourceError(_TOO_DEEP % (path, line, MAX_DEPTH))
        raise SourceError("%s:%d: invalid YAML: %s" % (path, line, clipped(problem, 200)))
    except yaml.YAMLError as error:
        raise SourceError("%s:0: invalid YAML: %s" % (path, clipped(" ".join(str(error).split()), 200)))


def where(node: Union[Located, LocatedList, Any], key: Optional[Union[str, int]] = None,
          fallback: str = "") -> str:
    """``file:line`` of ``node`` (or of its ``key``) for error messages."""
    if isinstance(node, Located):
        return "%s:%d" % (node.path, node.line_of(key) if key is not None else node.line)
    if isinstance(node, LocatedList):
        return "%s:%d" % (node.path, node.line_of(key) if isinstance(key, int) else node.line)
    return fallback
