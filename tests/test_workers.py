"""xdist worker sizing: the cores are shared among the tox envs that run at once."""
import pytest

from conformance.plugin import pytest_xdist_auto_num_workers


@pytest.mark.parametrize("cores, parallel_envs, workers", [
    (2, None, 2),   # one env alone (tox -e): every core
    (2, "0", 1),    # tox -p: all envs at once
    (2, "2", 1),
    (8, "2", 4),
    (8, "3", 2),
    (1, "5", 1),
])
def test_workers(monkeypatch, cores, parallel_envs, workers):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    if parallel_envs is None:
        monkeypatch.delenv("CONFORMANCE_PARALLEL_ENVS", raising=False)
    else:
        monkeypatch.setenv("CONFORMANCE_PARALLEL_ENVS", parallel_envs)
    assert pytest_xdist_auto_num_workers(config=None) == workers
