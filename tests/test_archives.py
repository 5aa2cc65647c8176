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


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in blocks: a bomb's payload written without holding it in memory."""

    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        count = min(len(buffer), self.left)
        buffer[:count] = b"\0" * count
        self.left -= count
        return count


def _bomb(path, size):
    with tarfile.open(str(path), "w:gz", compresslevel=9) as archive:
        info = tarfile.TarInfo("saved_model.pb")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"data"))
        info = tarfile.TarInfo("variables/variables.data-00000-of-00001")
        info.size = size
        archive.addfile(info, io.BufferedReader(_Zeros(size)))
    return str(path)


def test_a_decompression_bomb_is_the_models_fault_and_nothing_is_unpacked(tmp_path):
    """A real small filesystem (a 2 MB tmpfs) as the cache, and an archive of 40 kB that would unpack to
    40 MB: refused before extraction (declared sizes against the free space), cause unsafe-archive."""
    import subprocess

    cache = tmp_path / "cache"
    cache.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(cache)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): %s" % mounted.stdout.strip())
    saved = os.environ.get("TFHUB_CACHE_DIR")
    os.environ["TFHUB_CACHE_DIR"] = str(cache)
    try:
        path = _bomb(tmp_path / "bomb.tar.gz", 40 << 20)
        assert os.path.getsize(path) < 100 << 10
        with pytest.raises(HandleError) as info:
            unpack_local_archive(path)
        assert os.listdir(str(cache)) == [], "nothing unpacked, no .unpack-* directory"
    finally:
        subprocess.run(["umount", str(cache)])
        if saved is None:
            del os.environ["TFHUB_CACHE_DIR"]
        else:
            os.environ["TFHUB_CACHE_DIR"] = saved
    message = str(info.value)
    assert message.startswith("unsafe archive %s: its files unpack to %d bytes, more than the " % (path, (40 << 20) + 4))
    assert classify_exception(info.value).id == "unsafe-archive"


def test_the_archive_limit_holds_where_the_disk_is_large(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CONFORMANCE_MAX_ARCHIVE_BYTES", str(1 << 20))
    with pytest.raises(HandleError, match=r"unpack to 2097156 bytes, more than the 1048576 allowed"):
        unpack_local_archive(_bomb(tmp_path / "bomb.tar.gz", 2 << 20))
    monkeypatch.setenv("CONFORMANCE_MAX_ARCHIVE_BYTES", str(4 << 20))
    target = unpack_local_archive(_bomb(tmp_path / "fine.tar.gz", 2 << 20))
    assert os.path.getsize(os.path.join(target, "variables", "variables.data-00000-of-00001")) == 2 << 20
