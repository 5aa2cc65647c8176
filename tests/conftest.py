"""Shared fixtures of the framework's own tests."""
import os
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The framework's tests run every case they start: a reuse store shared between tests (or with the user's own
# runs) would replay one test's cases in another. tests/test_reuse.py turns reuse on with a store of its own.
os.environ["CONFORMANCE_FRESH"] = "1"


@pytest.fixture
def write(tmp_path):
    """Write a dedented text file under tmp_path and return its path."""

    def write(name, text):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return str(path)

    return write


@pytest.fixture(scope="session")
def zoo_dir():
    """The built zoo (`tox -e zoo`); the TensorFlow tests load its models."""
    path = os.environ.get("CONFORMANCE_ZOO_DIR") or os.path.join(ROOT, ".zoo")
    if not os.path.isfile(os.path.join(path, "text_embed.stamp")):
        pytest.fail("the zoo is not built at %s: run `tox -e zoo` first (tox -m test does)" % path)
    return path
