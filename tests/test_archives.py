"""Hostile archives: a local .tar.gz handle can never write outside its model directory in the cache, and a
refused archive leaves nothing behind."""
import io
import os
import tarfile

import pytest

from conformance.causes import classify_exception
from conformance.handles import HandleError, unpack_local_archive


def _archive(path, *members):
    with tarfile.open(str(path), "w:gz") as archive:
        info = tarfile.TarInfo("saved_model.pb")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"data"))
        for member in members:
            archive.addfile(member, io.BytesIO(b"evil") if member.isfile() else None)
    return str(path)


def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    if kind == tarfile.REGTYPE:
        info.size = 4
    return info


@pytest.mark.parametrize("member, problem", [
    (_member("/tmp/hub-conformance-evil"), "has an absolute path"),
    (_member("../evil"), "escapes the model directory"),
    (_member("link", tarfile.SYMTYPE, "/etc/passwd"), "is a symlink that points outside"),
    (_member("variables/link", tarfile.SYMTYPE, "../../outside"), "is a symlink that points outside"),
    (_member("hard", tarfile.LNKTYPE, "saved_model.pb"), "is a hard link"),
    (_member("device", tarfile.CHRTYPE), "is a device or FIFO"),
    (_member("fifo", tarfile.FIFOTYPE), "is a device or FIFO"),
], ids=["absolute", "dotdot", "symlink-absolute", "symlink-relative", "hardlink", "device", "fifo"])
def test_hostile_members_are_refused_and_nothing_is_left(tmp_path, monkeypatch, member, problem):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    path = _archive(tmp_path / "model.tar.gz", member)
    with pytest.raises(HandleError) as info:
        unpack_local_archive(path)
    message = str(info.value)
    assert message.startswith("unsafe archive %s: member %r %s" % (path, member.name, problem)), message
    assert classify_exception(info.value).id == "unsafe-archive"
    assert os.listdir(str(cache)) == [], "no .unpack-* directory, no model directory"
    assert not os.path.exists("/tmp/hub-conformance-evil") and not (tmp_path / "evil").exists()


def test_a_symlink_inside_the_model_is_fine(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    path = _archive(tmp_path / "model.tar.gz", _member("assets/vocab.txt"),
                    _member("assets/alias.txt", tarfile.SYMTYPE, "vocab.txt"))
    target = unpack_local_archive(path)
    assert os.path.isfile(os.path.join(target, "saved_model.pb"))
    assert os.readlink(os.path.join(target, "assets", "alias.txt")) == "vocab.txt"
