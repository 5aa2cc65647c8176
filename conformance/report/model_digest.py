"""The model file digest the history store keeps per case: sha256 of a local model's files (a directory: every
file's relative path and bytes; an archive: its bytes). A ``{zoo}`` model whose zoo is not on this machine (the
nightly's report job builds none) has its zoo build hash instead, ``build-<hash>``: what its files are made from
(the builder's code and the writer's pins). A URL handle has no digest (None): the store then cannot tell a
changed model from an unchanged one."""
from __future__ import annotations

import hashlib
import os
import re
from typing import Dict, Optional

from conformance.handles import HandleError, expand, is_url


def file_digest(path: str) -> Optional[str]:
    digest = hashlib.sha256()
    if os.path.isfile(path):
        files = [(os.path.basename(path), path)]
    elif os.path.isdir(path):
        files = []
        for folder, folders, names in os.walk(path):
            folders.sort()
            files.extend((os.path.relpath(os.path.join(folder, n), path), os.path.join(folder, n)) for n in sorted(names))
    else:
        return None
    for name, full in files:
        digest.update(name.replace(os.sep, "/").encode("utf-8") + b"\0")
        with open(full, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _build_hash(matrix, handle: str) -> Optional[str]:
    from conformance.zoo.catalog import build_hash, by_name, writer_pins

    found = re.match(r"\{zoo(?:_url)?\}/([A-Za-z0-9_.-]+?)(?:\.tar\.gz)?/?$", handle)
    if not found:
        return None
    try:
        model = by_name(found.group(1))
        return "build-" + build_hash(model, writer_pins(model, matrix.runtime(model.writer)))
    except (KeyError, ValueError, ImportError):
        return None


def digests(matrix, zoo_dir: str, base: str) -> Dict[str, Optional[str]]:
    """Per model id of ``matrix``: its digest (``base``: the directory relative handles are relative to)."""
    found = {}  # type: Dict[str, Optional[str]]
    places = {"zoo": zoo_dir, "zoo_url": zoo_dir}  # {zoo_url}/x.tar.gz is served from the zoo directory
    for model in matrix.models:
        try:
            handle = expand(model.handle, places, model.id)
        except HandleError:
            found[model.id] = None
            continue
        found[model.id] = None if is_url(handle) else file_digest(os.path.join(base, handle))
        if found[model.id] is None:
            found[model.id] = _build_hash(matrix, model.handle)
    return found
