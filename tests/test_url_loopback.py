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
