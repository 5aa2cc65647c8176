"""Model handles: the ``{zoo}`` / ``{zoo_url}`` placeholders and local ``.tar.gz`` files.

URLs and directories go to tensorflow_hub's own resolver (one ``TFHUB_CACHE_DIR`` for all runtimes);
a local ``.tar.gz`` is unpacked once into that cache, keyed by its content hash.
"""
from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import shutil
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


def hub_cache_entry(url: str) -> str:
    """Where tensorflow_hub's resolver keeps a URL's files: ``<cache>/<sha1 of the URL>`` (its
    ``compressed_module_resolver._module_dir``, the same in tensorflow-hub 0.12 and 0.16)."""
    return os.path.join(cache_dir(), hashlib.sha1(url.encode("utf8")).hexdigest())


def hub_cache_has(url: str) -> bool:
    """Whether a URL's files are in the cache, complete (a folder with files and no download's lock file)."""
    entry = hub_cache_entry(url)
    return os.path.isdir(entry) and bool(os.listdir(entry)) and not os.path.exists(entry + ".lock")


MAX_ARCHIVE_BYTES_ENV = "CONFORMANCE_MAX_ARCHIVE_BYTES"
MAX_ARCHIVE_BYTES = 16 << 30  # what a model's archive may unpack to, at most (and never more than the free space)


def archive_limit(directory: str) -> int:
    """The most a local archive may unpack to under ``directory``: $CONFORMANCE_MAX_ARCHIVE_BYTES (default
    16 GiB), and never more than the space free there, so a decompression bomb is refused, not unpacked."""
    limit = int(os.environ.get(MAX_ARCHIVE_BYTES_ENV) or MAX_ARCHIVE_BYTES)
    try:
        found = os.statvfs(directory)
        limit = min(limit, found.f_bavail * found.f_frsize)
    except (OSError, AttributeError):
        pass
    return limit


def _check_size(path: str, members, limit: int) -> None:
    """The members' declared sizes (what tarfile writes: a member's data is read up to its header's size)."""
    declared = sum(member.size for member in members if member.isfile())
    if declared > limit:
        raise HandleError("unsafe archive %s: its files unpack to %d bytes, more than the %d allowed (the space "
                          "free, or $%s); nothing was extracted" % (path, declared, limit, MAX_ARCHIVE_BYTES_ENV))


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
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = archive.getmembers()
            for member in members:
                problem = unsafe_member(member)
                if problem:
                    raise HandleError("unsafe archive %s: member %r %s; nothing was extracted"
                                      % (path, member.name, problem))
            _check_size(path, members, archive_limit(cache_dir()))
            try:
                if hasattr(tarfile, "data_filter"):  # Python's own guard as well, where it has one
                    archive.extractall(scratch, members, filter="data")
                else:
                    archive.extractall(scratch, members)
            except OSError as error:  # the disk filled all the same (another writer): still the archive's size
                if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    raise
                raise HandleError("unsafe archive %s: unpacking it filled the disk under %s (%s); nothing was kept"
                                  % (path, cache_dir(), error.strerror))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    try:
        os.rename(scratch, target)
    except OSError:  # another runtime unpacked it first
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def unsafe_member(member: tarfile.TarInfo) -> str:
    """Why extracting ``member`` could write outside the model directory ('' when it is safe).

    The rules of tarfile's ``data`` filter, checked by hand so Python 3.7 builds without it refuse the same
    archives: no absolute or ``..`` names, no hard links, no devices or FIFOs, no symlink leaving the tree.
    """
    name = member.name
    if name.startswith(("/", "\\")) or os.path.isabs(name):
        return "has an absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "escapes the model directory (..)"
    if member.islnk():
        return "is a hard link (to %r)" % member.linkname
    if member.isdev():
        return "is a device or FIFO"
    if member.issym():
        target = member.linkname
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if target.startswith("/") or os.path.isabs(target) or resolved == ".." or resolved.startswith("../"):
            return "is a symlink that points outside the model directory (to %r)" % target
    if not (member.isfile() or member.isdir() or member.issym()):
        return "is not a regular file, directory or symlink"
    return ""


def loadable(handle: str) -> str:
    """What to hand to the TF Hub apis: URLs and directories as they are, local archives unpacked.

    A local path that is no model is one error for every api (each api words it differently otherwise).
    """
    if is_url(handle):
        return handle
    if handle.endswith((".tar.gz", ".tgz")) and os.path.isfile(handle):
        return unpack_local_archive(handle)
    if not os.path.exists(handle):
        raise HandleError("the handle %s could not be resolved: no such file or directory" % handle)
    if os.path.isdir(handle) and not any(os.path.isfile(os.path.join(handle, name))
                                         for name in ("saved_model.pb", "saved_model.pbtxt")):
        raise HandleError("the handle %s could not be resolved: a directory without saved_model.pb" % handle)
    return handle
