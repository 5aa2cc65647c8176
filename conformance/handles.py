"""Model handles: the ``{zoo}`` / ``{zoo_url}`` placeholders and local ``.tar.gz`` files.

URLs and directories go to tensorflow_hub's own resolver (one ``TFHUB_CACHE_DIR`` for all runtimes);
a local ``.tar.gz`` is unpacked once into that cache, keyed by its content hash.
"""
from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from typing import Mapping


class HandleError(ValueError):
    pass


def expand(handle: str, places: Mapping[str, str], model_id: str) -> str:
    """Replace ``{zoo}`` and ``{zoo_url}``; an unknown or unavailable placeholder names the model."""
    try:
        return handle.format(**places)
    except KeyError as missing:
        raise HandleError("model %r: handle %r uses {%s}, which this run does not provide (known: %s)"
                          % (model_id, handle, missing.args[0], ", ".join(sorted(places)) or "none"))


def is_url(handle: str) -> bool:
    return handle.startswith(("http://", "https://", "gs://"))


def cache_dir() -> str:
    return os.environ.get("TFHUB_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "tfhub_modules")


def unpack_local_archive(path: str) -> str:
    """A local ``.tar.gz`` model, unpacked into the shared cache (once per content)."""
    digest = hashlib.sha1()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    target = os.path.join(cache_dir(), "local-" + digest.hexdigest())
    if os.path.isdir(target):
        return target
    os.makedirs(cache_dir(), exist_ok=True)
    scratch = tempfile.mkdtemp(dir=cache_dir(), prefix=".unpack-")
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            if member.name.startswith("/") or ".." in member.name.split("/"):
                raise HandleError("%s: archive member %r escapes the model directory" % (path, member.name))
        archive.extractall(scratch)
    try:
        os.rename(scratch, target)
    except OSError:  # another runtime unpacked it first
        pass
    return target


def loadable(handle: str) -> str:
    """What to hand to the TF Hub apis: URLs and directories as they are, local archives unpacked."""
    if not is_url(handle) and handle.endswith((".tar.gz", ".tgz")) and os.path.isfile(handle):
        return unpack_local_archive(handle)
    return handle
