"""URL archives as tensorflow_hub's resolver unpacks them, made safe and complete (installed by
:func:`conformance.runtime.tfmode.import_hub`, in every executor).

tensorflow_hub (0.12 to 0.16) streams a URL's ``.tar.gz`` into its cache with
``file_utils.extract_tarfile_to_destination``, which
- writes a file only where an explicit directory entry made its folder first: an archive made with
  ``tar czf m.tar.gz saved_model.pb variables/variables.index ...`` (no directory entries) failed with
  "No such file or directory", diagnosed ``unresolvable-handle``;
- writes whatever the archive holds: a decompression bomb filled the disk, reported as a hub-conformance bug.

The replacement keeps its streaming and its refusals (links and other objects, ``..``), makes a file's folders,
and holds the archive to the size limit of local archives (:func:`conformance.handles.archive_limit`: the space
free under the cache, at most $CONFORMANCE_MAX_ARCHIVE_BYTES): each member's declared size before it is
written, and the bytes streamed while writing it. Either refusal is ``unsafe-archive``, the model's fault.
"""
from __future__ import annotations

import errno
import importlib
import os
import tarfile
from typing import Any, Callable, Optional

from conformance.handles import HandleError, archive_limit, unsafe_member

BLOCK = 1 << 20


def install(hub: Any) -> None:
    """Put :func:`extract_tarfile_to_destination` in tensorflow_hub's file_utils (its resolver calls it there)."""
    try:
        file_utils = importlib.import_module("tensorflow_hub.file_utils")
    except ImportError:
        return
    if getattr(file_utils.extract_tarfile_to_destination, "conformance", False):
        return
    merge = file_utils.merge_relative_path

    def extract(fileobj: Any, dst_path: str, log_function: Optional[Callable[[int], None]] = None) -> None:
        extract_tarfile_to_destination(fileobj, dst_path, log_function, merge)

    extract.conformance = True  # type: ignore[attr-defined]
    file_utils.extract_tarfile_to_destination = extract


def _existing(path: str) -> str:
    while path and not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path or "."


def extract_tarfile_to_destination(fileobj: Any, dst_path: str, log_function: Optional[Callable[[int], None]] = None,
                                   merge: Optional[Callable[[str, str], str]] = None) -> None:
    """tensorflow_hub's extraction, with folders made for files and the archive's size held to the limit."""
    limit = archive_limit(_existing(dst_path))
    written = 0
    with tarfile.open(mode="r|*", fileobj=fileobj) as archive:
        for member in archive:
            if not (member.isfile() or member.isdir()):  # tensorflow_hub's own refusal, its own words
                raise ValueError("Unexpected object type in tar archive: %s" % member.type)
            problem = unsafe_member(member)
            if problem:
                raise HandleError("unsafe archive: member %r %s; extraction stopped" % (member.name, problem))
            target = merge(dst_path, member.name) if merge else os.path.join(dst_path, member.name)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            if written + member.size > limit:
                raise HandleError("unsafe archive: its files unpack to more than the %d bytes allowed (the space "
                                  "free, or $CONFORMANCE_MAX_ARCHIVE_BYTES): member %r declares %d bytes after %d; "
                                  "extraction stopped" % (limit, member.name, member.size, written))
            source = archive.extractfile(member)
            if source is None:
                continue
            folder = os.path.dirname(target)
            if folder:
                os.makedirs(folder, exist_ok=True)
            try:
                with open(target, "wb") as stream:
                    while True:
                        block = source.read(BLOCK)
                        if not block:
                            break
                        written += len(block)
                        if written > limit:
                            raise HandleError("unsafe archive: member %r streams past the %d bytes allowed; "
                                              "extraction stopped" % (member.name, limit))
                        stream.write(block)
                        if log_function is not None:
                            log_function(len(block))
            except OSError as error:
                if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    raise
                raise HandleError("unsafe archive: unpacking it filled the disk under %s (%s); extraction stopped"
                                  % (dst_path, error.strerror))
