"""The builds `bisect` searches (conformance/package_index.py): read from an index's JSON simple API, served
here on 127.0.0.1 with the shape PyPI gives (wheels per Python and platform, release candidates, a yanked
file, nightly builds whose date is in their version)."""
import json

import pytest

from conformance.package_index import PackageIndexError, builds_between, fetch, kind, nightly_date
from conformance.serve import LoopbackServer


def _wheel(name, version, when, python="cp311", yanked=False):
    return {"filename": "%s-%s-%s-%s-manylinux_2_17_x86_64.whl" % (name.replace("-", "_"), version, python, python),
            "upload-time": when + "T12:00:00.000000Z", "yanked": yanked, "url": "x", "hashes": {}}


RELEASES = {"name": "tensorflow-cpu", "files": [
    _wheel("tensorflow-cpu", "2.15.1", "2024-03-08"), _wheel("tensorflow-cpu", "2.16.1", "2024-03-09"),
    _wheel("tensorflow-cpu", "2.16.1", "2024-03-07", python="cp39"),  # the earliest upload dates the build
    _wheel("tensorflow-cpu", "2.17.0rc1", "2024-07-02"), _wheel("tensorflow-cpu", "2.17.0", "2024-07-11"),
    _wheel("tensorflow-cpu", "2.18.0", "2024-10-25", yanked=True),
    _wheel("tensorflow-cpu", "2.19.0", "2025-03-12"), _wheel("tensorflow-cpu", "2.20.0", "2025-08-13"),
    {"filename": "tensorflow_cpu-2.19.0.tar.gz", "upload-time": "2025-03-13T00:00:00Z", "url": "x", "hashes": {}},
    _wheel("tensorflow-gpu", "2.18.0", "2024-10-25"),  # another distribution's file on the page
]}
NIGHTLIES = {"name": "tf-nightly", "files": [
    _wheel("tf-nightly", "2.23.0.dev%s" % day, "2026-10-%s" % day[-2:]) for day in
    ("20261019", "20261023", "20261024", "20261025", "20261026")] + [_wheel("tf-nightly", "2.21.0", "2026-03-06")]}


@pytest.fixture
def index(tmp_path):
    for document in (RELEASES, NIGHTLIES):
        folder = tmp_path / document["name"]
        folder.mkdir()
        (folder / "index.html").write_text(json.dumps(document))
    with LoopbackServer(str(tmp_path)) as server:
        yield server.url


def test_releases_between_two_releases_oldest_first_with_their_first_upload_date(index):
    builds = builds_between("tensorflow-cpu", "2.15.1", "2.20.0", fetch("tensorflow_cpu", index))
    assert builds == [("2.15.1", "2024-03-08"), ("2.16.1", "2024-03-07"), ("2.17.0", "2024-07-11"),
                      ("2.19.0", "2025-03-12"), ("2.20.0", "2025-08-13")]  # no rc, no yanked 2.18.0


def test_nightly_builds_between_two_nightlies_dated_by_their_version(index):
    builds = builds_between("tf-nightly", "2.23.0.dev20261023", "2.23.0.dev20261026", fetch("tf-nightly", index))
    assert builds == [("2.23.0.dev20261023", "2026-10-23"), ("2.23.0.dev20261024", "2026-10-24"),
                      ("2.23.0.dev20261025", "2026-10-25"), ("2.23.0.dev20261026", "2026-10-26")]


@pytest.mark.parametrize("old, new, message", [
    ("2.21.0", "2.23.0.dev20261026", r"^tf-nightly 2.21.0 and 2.23.0.dev20261026: bisect between two releases or "
                                     r"two nightly builds, not release and nightly$"),
    ("2.23.0.dev20261026", "2.23.0.dev20261019", r"^tf-nightly: 2.23.0.dev20261026 is not older than"),
    ("2.23.0.dev20261020", "2.23.0.dev20261026", r"^tf-nightly==2.23.0.dev20261020: the package index has no such"),
])
def test_endpoints_of_two_kinds_the_wrong_way_round_or_missing_are_one_line(index, old, new, message):
    with pytest.raises(PackageIndexError, match=message):
        builds_between("tf-nightly", old, new, fetch("tf-nightly", index))


def test_an_index_without_the_package_names_the_url(index):
    with pytest.raises(PackageIndexError, match=r"^package index http://127.0.0.1:\d+/tf-nope/: cannot list"):
        fetch("tf-nope", index)


def test_kinds_and_dates_of_versions():
    assert (kind("2.17.0"), kind("2.17.0rc1"), kind("2.23.0.dev20261026")) == ("release", "pre", "nightly")
    assert nightly_date("2.23.0.dev20261026") == "2026-10-26" and nightly_date("2.17.0") is None
