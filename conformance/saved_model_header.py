"""What a model directory is, read without TensorFlow: its format, graph variants (tags) and signatures.

A few fields of ``saved_model.pb`` are read straight from the protobuf wire format (SavedModel.meta_graphs,
MetaGraphDef.meta_info_def.tags, .signature_def keys, .object_graph_def), so ``python -m conformance init``
works on the plain-Python side, on Python 3.7, before any runtime exists.
"""
from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Tuple


class NotAModel(ValueError):
    """The path holds no saved_model.pb (or tfhub_module.pb) that could be read."""


@dataclass
class Header:
    format: str  # hub_tf1, saved_model_tf1 or saved_model_v2
    tag_sets: List[List[str]] = field(default_factory=list)  # one per graph variant (meta graph)
    signatures: List[List[str]] = field(default_factory=list)  # per graph variant
    outputs: List[Dict[str, int]] = field(default_factory=list)  # per graph variant: signature -> output count

    def default_tags(self) -> List[str]:
        """The graph variant a model entry without ``tags`` is loaded with: the only one; else the TF1 Hub
        format's default variant (no tags), a SavedModel's ``serve`` variant (alone, else with others, e.g.
        ``{serve, train}``); else the first."""
        if not self.tag_sets:
            return []
        preferred = [[]] if self.format == "hub_tf1" else [["serve"]]
        for tags in preferred:
            if tags in self.tag_sets:
                return list(tags)
        if self.format != "hub_tf1":
            serving = [tags for tags in self.tag_sets if "serve" in tags]
            if serving:
                return list(serving[0])
        return list(self.tag_sets[0])

    def variant(self, tags: Optional[List[str]]) -> int:
        """The graph variant a model entry's ``tags`` choose (no tags: :meth:`default_tags`'s)."""
        wanted = sorted(tags) if tags is not None else self.default_tags()
        return next((i for i, t in enumerate(self.tag_sets) if t == wanted), 0)


def _varint(data: bytes, position: int) -> Tuple[int, int]:
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise NotAModel("truncated protobuf")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: bytes) -> Iterator[Tuple[int, object]]:
    """``(field number, value)`` of one message: ints for varints, bytes for length-delimited fields."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            yield number, value
        elif wire == 2:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise NotAModel("truncated protobuf")
            yield number, data[position:position + length]
            position += length
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:
            raise NotAModel("not a protobuf message (wire type %d)" % wire)


def _signature_entry(data: bytes) -> Tuple[str, int]:
    """A signature_def map entry (key = 1, SignatureDef = 2): its name and number of outputs (field 2)."""
    name, outputs = "", 0
    for number, value in _fields(data):
        if number == 1 and isinstance(value, bytes):
            name = value.decode("utf-8")
        elif number == 2 and isinstance(value, bytes):
            outputs = sum(1 for n, _ in _fields(value) if n == 2)
    return name, outputs


def _meta_graph(data: bytes) -> Tuple[List[str], Dict[str, int], bool]:
    tags, signatures, objects = [], {}, False  # type: List[str], Dict[str, int], bool
    for number, value in _fields(data):
        if number == 1 and isinstance(value, bytes):  # meta_info_def
            tags.extend(v.decode("utf-8") for n, v in _fields(value) if n == 4 and isinstance(v, bytes))
        elif number == 5 and isinstance(value, bytes):  # signature_def map entry
            name, outputs = _signature_entry(value)
            if name != "__saved_model_init_op":
                signatures[name] = outputs
        elif number == 7 and isinstance(value, bytes):  # object_graph_def: a TF2 SavedModel's objects
            objects = objects or any(n == 1 for n, _ in _fields(value))
    return sorted(tags), signatures, objects


def parse(saved_model_pb: bytes, hub_module: bool = False) -> Header:
    graphs = [_meta_graph(v) for n, v in _fields(saved_model_pb) if n == 2 and isinstance(v, bytes)]
    if not graphs:
        raise NotAModel("saved_model.pb holds no graph")
    tf2 = any(objects for _, _, objects in graphs)
    return Header("hub_tf1" if hub_module else "saved_model_v2" if tf2 else "saved_model_tf1",
                  [tags for tags, _, _ in graphs], [sorted(signatures) for _, signatures, _ in graphs],
                  [signatures for _, signatures, _ in graphs])


def read(path: str) -> Header:
    """The header of a model directory or .tar.gz archive (read in memory, never extracted)."""
    if os.path.isdir(path):
        pb = os.path.join(path, "saved_model.pb")
        if not os.path.isfile(pb):
            raise NotAModel("%s has no saved_model.pb" % path)
        with open(pb, "rb") as stream:
            return parse(stream.read(), os.path.isfile(os.path.join(path, "tfhub_module.pb")))
    if path.endswith((".tar.gz", ".tgz")) and os.path.isfile(path):
        try:
            with tarfile.open(path, "r:gz") as archive:
                names = {os.path.normpath(m.name): m for m in archive.getmembers() if m.isfile()}
                member = names.get("saved_model.pb")  # type: Optional[tarfile.TarInfo]
                if member is None:
                    raise NotAModel("%s has no saved_model.pb at its top" % path)
                stream = archive.extractfile(member)
                return parse(stream.read() if stream else b"", "tfhub_module.pb" in names)
        except (tarfile.TarError, OSError, EOFError) as error:
            raise NotAModel("%s is not a readable .tar.gz: %s" % (path, error))
    raise NotAModel("%s is neither a model directory nor a .tar.gz" % path)


def signature_names(saved_model_pb: str, tags: Optional[Sequence[str]]) -> Dict[str, List[str]]:
    """``{"names": [...]}``: the signatures of the graph variant that ``tags`` choose in a saved_model.pb."""
    with open(saved_model_pb, "rb") as stream:
        header = parse(stream.read())
    return {"names": header.signatures[header.variant(None if tags is None else list(tags))]}


def detect(handle: str, places: Mapping[str, str]) -> Optional[Header]:
    """The header of a local model (directory or .tar.gz); None where the files are not there to read (a URL,
    a zoo not built yet): the run itself then says what it found."""
    try:
        path = handle.format(**places)
    except (KeyError, ValueError, IndexError):
        return None
    if path.startswith(("http://", "https://", "gs://")):
        return None
    try:
        return read(path)
    except (NotAModel, OSError):
        return None
