"""Handles: {zoo} / {zoo_url} placeholders, local .tar.gz archives, and the Python finder."""
import os
import tarfile

import pytest

from conformance import pythons
from conformance.handles import HandleError, expand, loadable


def test_expand_placeholders():
    places = {"zoo": "/z", "zoo_url": "http://127.0.0.1:5000"}
    assert expand("{zoo}/m", places, "m") == "/z/m"
    assert expand("{zoo_url}/m.tar.gz", places, "m") == "http://127.0.0.1:5000/m.tar.gz"
    assert expand("https://tfhub.dev/google/x/1", places, "x") == "https://tfhub.dev/google/x/1"


def test_missing_placeholder_names_the_model():
    with pytest.raises(HandleError, match=r"model 'm': handle '\{zoo_url\}/m' uses \{zoo_url\}, which this run "
                                          r"does not provide \(known: zoo\)"):
        expand("{zoo_url}/m", {"zoo": "/z"}, "m")


def test_local_archive_is_unpacked_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "saved_model.pb").write_bytes(b"pb")
    archive = str(tmp_path / "model.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(str(tmp_path / "model" / "saved_model.pb"), arcname="saved_model.pb")
    first = loadable(archive)
    assert open(os.path.join(first, "saved_model.pb"), "rb").read() == b"pb"
    assert loadable(archive) == first
    assert loadable(str(tmp_path / "model")) == str(tmp_path / "model"), "directories pass through"


def test_archive_escaping_its_directory_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    archive = str(tmp_path / "evil.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(str(evil), arcname="../evil.txt")
    with pytest.raises(HandleError, match="escapes the model directory"):
        loadable(archive)


def test_find_python_skips_interpreters_that_refuse(tmp_path, monkeypatch):
    refusing = tmp_path / "bin" / "python3.7"
    refusing.parent.mkdir()
    refusing.write_text("#!/bin/sh\necho 'pyenv: python3.7: command not found' >&2\nexit 127\n")
    refusing.chmod(0o755)
    monkeypatch.setenv("PATH", str(refusing.parent))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pythons.candidates("3.7")[0] == str(refusing)
    assert pythons.find_python("3.7") is None


def test_a_pyenv_shim_on_path_is_tried_after_pyenvs_own_interpreters(tmp_path, monkeypatch):
    root = tmp_path / "pyenv"
    shim = root / "shims" / "python3.7"
    real = root / "versions" / "3.7.16" / "bin" / "python3.7"
    for path in (shim, real):
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\necho 3.7\n")
        path.chmod(0o755)
    monkeypatch.setenv("PATH", str(shim.parent))
    monkeypatch.setenv("PYENV_ROOT", str(root))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert pythons.candidates("3.7") == [str(real), str(shim)]
    assert pythons.find_python("3.7") == str(real)


def test_a_local_path_that_is_no_model_is_one_cause_for_every_api(tmp_path):
    """Each api words a missing or empty directory differently (error / incompatible-format /
    unresolvable-handle); the harness says it once, before any api is asked."""
    from conformance.causes import classify_exception
    from conformance.handles import HandleError, loadable

    for path in (str(tmp_path / "missing"), str(tmp_path)):
        with pytest.raises(HandleError) as info:
            loadable(path)
        assert classify_exception(info.value).id == "unresolvable-handle", str(info.value)
    (tmp_path / "saved_model.pb").write_bytes(b"")
    assert loadable(str(tmp_path)) == str(tmp_path)
