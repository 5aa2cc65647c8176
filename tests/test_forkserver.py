"""Executors are forked from one process per worker that imported TensorFlow once (the fork server): a
replaced or lost executor costs a fork, not an import. Real TensorFlow 2.21; the statuses that name a dead
executor (its signal) and the rule that no TensorFlow process outlives its worker must still hold."""
import os
import signal
import time

import pytest

from conformance.matrix import DEFAULT_MATRIX, load_matrix
from conformance.runtime import channel
from conformance.runtime.child_process import HarnessError
from conformance.runtime.forkserver import ForkServer

pytestmark = pytest.mark.tensorflow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATRIX = os.path.join(ROOT, DEFAULT_MATRIX)


def _parent(pid):
    with open("/proc/%d/stat" % pid) as stream:
        return int(stream.read().rsplit(")", 1)[1].split()[1])


def _state(pid):
    """R/S/D..., Z for a zombie, or None once the pid is gone."""
    try:
        with open("/proc/%d/stat" % pid) as stream:
            return stream.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _wait_for(condition, what, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never happened: %s" % what
        time.sleep(0.05)


@pytest.fixture
def setup(tmp_path, zoo_dir):
    return {"matrix": MATRIX, "runtime": "tf2.21", "places": {"zoo": zoo_dir}, "outputs": str(tmp_path)}


def _ready(child, setup):
    channel.send(child.requests, setup)
    kind, value = channel.receive(child.replies, time.monotonic() + 120)
    assert kind == "ready", value
    return value


def test_every_executor_is_a_fork_of_one_tensorflow_import(setup):
    server = ForkServer(setup, os.environ, start_timeout=600)
    try:
        with open("/proc/%d/maps" % server.pid) as maps:
            assert "_pywrap_tensorflow" in maps.read(), "the fork server imported TensorFlow before any fork"
        first, second = server.fork(), server.fork()
        for child in (first, second):
            assert _parent(child.pid) == server.pid
            ready = _ready(child, setup)
            assert ready["pid"] == child.pid and ready["devices"]["cpu"].available
            assert not ready["mismatches"], ready["mismatches"]
        first.close()
        assert first.returncode == 0, "an executor whose requests end exits cleanly and is reaped"
        os.kill(second.pid, signal.SIGABRT)
        _wait_for(lambda: _state(second.pid) == "Z", "the aborted executor ended")
        assert second.kill() == -signal.SIGABRT, "a signal that ended an executor is its exit status"
        second.close()
    finally:
        server.close()
    assert server.process.returncode == 0


def test_executors_die_with_their_fork_server(setup):
    server = ForkServer(setup, os.environ, start_timeout=600)
    child = server.fork()
    _ready(child, setup)
    os.kill(server.pid, signal.SIGKILL)
    server.process.wait()
    _wait_for(lambda: _state(child.pid) in (None, "Z"), "the executor of a killed fork server ended")
    assert child.kill() is None, "nobody is left to tell its exit status"
    child.close()
    server.close()


def test_a_dead_fork_server_is_the_harness_error_and_the_next_model_gets_a_new_one(zoo_dir, tmp_path):
    """The fork server killed under a running executor: the case in flight is the harness's error, never a
    crash of its model, and the next request starts a fork server and an executor again."""
    from conformance.runtime.supervisor import SupervisedSession

    matrix = load_matrix(MATRIX)
    session = SupervisedSession(matrix.runtime("tf2.21"), MATRIX, {"zoo": zoo_dir}, str(tmp_path), lambda m: 300)
    try:
        hazard = matrix.model("hazard")
        assert session.probe_semantics(hazard, "hub.load", "cpu", "default")["alone"]
        first_server, executor = session._forkserver.pid, session._executor.pid
        os.kill(first_server, signal.SIGKILL)
        _wait_for(lambda: _state(executor) in (None, "Z"), "the executor of a killed fork server ended")
        with pytest.raises(HarnessError, match="fork server of runtime tf2.21 ended \\(SIGKILL\\).*not the model"):
            session.probe_counter(hazard, "hub.load", "cpu", "default")
        found = session.probe_semantics(matrix.model("side_effect"), "hub.load", "cpu", "default")
        assert sorted(found["alone"]) == ["counted", "counter", "default"], found
        assert session._forkserver.pid != first_server
    finally:
        session.close()
