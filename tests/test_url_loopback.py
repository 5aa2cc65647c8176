"""The URL path for real: the zoo's .tar.gz served on 127.0.0.1, resolved by tensorflow_hub's own resolver."""
import os
import shutil

import pytest

from conformance.causes import classify_exception
from conformance.serve import LoopbackServer

pytestmark = pytest.mark.tensorflow


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub_cache"))
    import tensorflow_hub

    return tensorflow_hub


@pytest.fixture
def served(zoo_dir, tmp_path):
    shutil.copy(os.path.join(zoo_dir, "text_embed.tar.gz"), str(tmp_path / "text_embed.tar.gz"))
    (tmp_path / "corrupt.tar.gz").write_bytes(b"this is not a gzip file")
    with LoopbackServer(str(tmp_path)) as server:
        yield server


def test_server_listens_on_loopback_only(served):
    assert served.url.startswith("http://127.0.0.1:")


def test_hub_resolves_and_loads_a_served_archive(hub, served, tmp_path):
    url = served.url + "/text_embed.tar.gz"
    path = hub.resolve(url)
    assert path.startswith(str(tmp_path / "tfhub_cache"))
    assert os.path.isfile(os.path.join(path, "tfhub_module.pb"))
    model = hub.load(url, tags=[])
    embedding = model.signatures["default"](sentences=__import__("tensorflow").constant(["hub modules"]))
    assert embedding["default"].shape == (1, 8)
    assert hub.resolve(url) == path, "fetched once: the second resolve hits the cache"


def test_missing_url_is_diagnosed_as_unresolvable(hub, served):
    with pytest.raises(Exception) as raised:
        hub.resolve(served.url + "/no_such_model.tar.gz")
    assert classify_exception(raised.value).id == "unresolvable-handle"


def test_corrupt_archive_is_diagnosed_as_corrupt(hub, served):
    with pytest.raises(Exception) as raised:
        hub.resolve(served.url + "/corrupt.tar.gz")
    assert classify_exception(raised.value).id == "corrupt-model"


@pytest.mark.parametrize("member", ["symlink", "dotdot"])
def test_hostile_archives_over_a_url_are_refused_by_hubs_extractor(hub, tmp_path, member):
    """URL archives are unpacked by tensorflow_hub itself, which writes only files and directories inside
    the cache: a link or a `..` member is refused, diagnosed unsafe-archive, and nothing lands outside."""
    import io
    import tarfile

    served_dir = tmp_path / "served"
    served_dir.mkdir()
    with tarfile.open(str(served_dir / "evil.tar.gz"), "w:gz") as archive:
        info = tarfile.TarInfo("saved_model.pb")
        info.size = 4
        archive.addfile(info, io.BytesIO(b"data"))
        if member == "symlink":
            link = tarfile.TarInfo("escape")
            link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path / "outside")
            archive.addfile(link)
        else:
            evil = tarfile.TarInfo("../../outside")
            evil.size = 4
            archive.addfile(evil, io.BytesIO(b"evil"))
    with LoopbackServer(str(served_dir)) as server:
        with pytest.raises(Exception) as raised:
            hub.resolve(server.url + "/evil.tar.gz")
    assert classify_exception(raised.value).id == "unsafe-archive", raised.value
    assert not (tmp_path / "outside").exists()


def _tar_without_directory_entries(source, path):
    """``tar czf m.tar.gz saved_model.pb variables/...``: files only, no directory entries."""
    import tarfile

    with tarfile.open(str(path), "w:gz") as archive:
        for folder, _, files in os.walk(source):
            for name in sorted(files):
                full = os.path.join(folder, name)
                archive.add(full, os.path.relpath(full, source), recursive=False)
    return str(path)


@pytest.fixture
def patched_hub(hub):
    from conformance.runtime.tfmode import import_hub

    return import_hub()  # as every executor imports it


def test_a_url_archive_without_directory_entries_resolves_and_loads(patched_hub, zoo_dir, tmp_path):
    import tarfile

    served_dir = tmp_path / "served"
    served_dir.mkdir()
    path = _tar_without_directory_entries(os.path.join(zoo_dir, "text_embed"), served_dir / "nodirs.tar.gz")
    with tarfile.open(path) as archive:
        assert not any(member.isdir() for member in archive.getmembers())
        assert any("/" in member.name for member in archive.getmembers()), "files inside folders"
    with LoopbackServer(str(served_dir)) as server:
        resolved = patched_hub.resolve(server.url + "/nodirs.tar.gz")
        assert os.path.isfile(os.path.join(resolved, "variables", "variables.index"))
        model = patched_hub.load(server.url + "/nodirs.tar.gz", tags=[])
    assert model.signatures["default"](sentences=__import__("tensorflow").constant(["a"]))["default"].shape == (1, 8)


def test_a_served_decompression_bomb_is_unsafe_archive_and_stops_unpacking(patched_hub, tmp_path, monkeypatch):
    """An archive of ~20 kB that would unpack to 20 MB, served on 127.0.0.1, with a 4 MB limit: refused while
    streaming, the model's fault (unsafe-archive), and the cache keeps nothing of it."""
    import io
    import tarfile

    monkeypatch.setenv("CONFORMANCE_MAX_ARCHIVE_BYTES", str(4 << 20))
    served_dir = tmp_path / "served"
    served_dir.mkdir()
    with tarfile.open(str(served_dir / "bomb.tar.gz"), "w:gz", compresslevel=9) as archive:
        for index in range(5):  # five members of 4 MB: each alone within the limit, together past it
            info = tarfile.TarInfo("variables/part-%d" % index)
            info.size = 4 << 20
            archive.addfile(info, io.BytesIO(b"\0" * info.size))
    assert os.path.getsize(str(served_dir / "bomb.tar.gz")) < 200 << 10
    with LoopbackServer(str(served_dir)) as server:
        with pytest.raises(Exception) as raised:
            patched_hub.resolve(server.url + "/bomb.tar.gz")
    assert "unsafe archive" in str(raised.value), raised.value
    assert classify_exception(raised.value).id == "unsafe-archive"
    left = [os.path.join(folder, name) for folder, _, files in os.walk(str(tmp_path / "tfhub_cache"))
            for name in files if name.startswith("part-")]
    assert sum(os.path.getsize(p) for p in left) <= 4 << 20, left
