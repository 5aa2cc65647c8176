"""xdist worker sizing: the cores are shared among the tox envs that run at once."""
import os
import subprocess
import sys

import pytest

from conformance.pytest.plugin import pytest_xdist_auto_num_workers


@pytest.mark.parametrize("cores, parallel_envs, workers", [
    (2, None, 2),   # one env alone (tox -e): every core
    (2, "0", 0),    # tox -p: all envs at once, a core or less each: no xdist, the cases in pytest's process
    (2, "2", 0),
    (8, "2", 4),
    (8, "3", 2),
    (1, None, 0),
    (1, "5", 0),
])
def test_workers(monkeypatch, cores, parallel_envs, workers):
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    if parallel_envs is None:
        monkeypatch.delenv("CONFORMANCE_PARALLEL_ENVS", raising=False)
    else:
        monkeypatch.setenv("CONFORMANCE_PARALLEL_ENVS", parallel_envs)
    assert pytest_xdist_auto_num_workers(config=None) == workers


def test_a_one_core_share_runs_without_xdist(tmp_path):
    """``-n auto`` under ``tox -p`` on a machine with fewer cores than envs: no worker process."""
    (tmp_path / "test_where.py").write_text("def test_where(request):\n"
                                            "    print('WORKER', hasattr(request.config, 'workerinput'))\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "auto", "-s",
                             str(tmp_path / "test_where.py")], cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=120,
                            env=dict(os.environ, CONFORMANCE_PARALLEL_ENVS="0"))
    assert result.returncode == 0, result.stdout[-2000:]
    assert "WORKER False" in result.stdout and "created:" not in result.stdout, result.stdout[-2000:]


GROUPED = '''
import pytest

@pytest.mark.parametrize("n", [pytest.param(i, marks=pytest.mark.xdist_group("m%d" % (i % 2))) for i in range(6)])
def test_grouped(n, request):
    print("NODE", request.node.nodeid)
'''


def test_loadgroup_really_groups_cases_by_model(tmp_path):
    """--dist loadgroup puts every case of one model on one worker: it schedules on the ``@<group>`` suffix
    the workers append to node ids (pytest 9 drops it: hence the pin in pyproject.toml)."""
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist",
                             "loadgroup", "-v", "-s", str(tmp_path / "test_grouped.py")], cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    passed = [line for line in result.stdout.splitlines() if " PASSED " in line]
    assert len(passed) == 6, result.stdout[-2000:]
    worker_of = {}
    for line in passed:  # "[gw0] [ 16%] PASSED test_grouped.py::test_grouped[0]@m0"
        assert "@m" in line, line
        worker_of.setdefault(line.rsplit("@", 1)[1], set()).add(line.split("]")[0])
    assert all(len(workers) == 1 for workers in worker_of.values()), worker_of
