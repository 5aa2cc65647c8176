"""The parameter-server case on real TensorFlow 2.21: without share_cluster_devices_in_session the guide's
error, with it one SGD step that lowers the loss; one process serves model after model, a model past its
limit or a process that dies costs that model alone, and no process outlives its use."""
import json
import os
import subprocess
import sys

import pytest

from conformance.causes import classify
from conformance.runtime.cluster_case import ClusterProcess, run_cluster

VARIANTS = [("hub.load", False, False), ("hub.load", True, False), ("hub.KerasLayer", False, False),
            ("hub.KerasLayer", True, False)]


def gone(pid):
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.tensorflow
def test_the_flag_decides_whether_a_tf2_savedmodel_trains_on_a_parameter_server(zoo_dir):
    results = run_cluster(os.path.join(zoo_dir, "reusable_tf2_written"), ["serve"], VARIANTS, 300)
    for api in ("hub.load", "hub.KerasLayer"):
        unshared, shared = results["%s unshared" % api], results["%s shared" % api]
        assert unshared["outcome"] == "error", unshared
        cause = classify(unshared["type"], unshared["message"])
        assert cause.id == "remote-device-unshared" and "/job:ps/" in cause.diagnosis, cause
        assert shared["outcome"] == "ok" and shared["loss_after"] < shared["loss_before"], shared
        assert shared["flag"] == "share_cluster_devices_in_session"  # the top-level field in TF >= 2.2
        assert shared["variables"], "the model's trainable variables are what the step updates"
    assert gone(results["hub.load shared"]["pid"]), "the case's process group, servers included, is ended"


@pytest.mark.tensorflow
def test_the_estimator_variant_says_that_tf_estimator_is_gone_from_tf_2_21(zoo_dir):
    results = run_cluster(os.path.join(zoo_dir, "reusable_tf2_written"), ["serve"],
                          [("hub.KerasLayer", False, True)], 300)
    assert results["hub.KerasLayer estimator-unshared"] == dict(results["hub.KerasLayer estimator-unshared"],
                                                                outcome="skip")
    assert "tf.estimator" in results["hub.KerasLayer estimator-unshared"]["why"]


@pytest.mark.tensorflow
def test_a_tf1_written_savedmodel_fails_differently_with_the_flag_in_tf2(zoo_dir):
    results = run_cluster(os.path.join(zoo_dir, "reusable_tf1_written"), ["serve"], [("hub.load", True, False)], 300)
    shared = results["hub.load shared"]
    assert shared["outcome"] == "error"
    assert classify(shared["type"], shared["message"]).id == "function-device-pinned"


@pytest.mark.tensorflow
def test_one_process_serves_model_after_model_and_a_model_past_its_limit_costs_that_model_alone(zoo_dir):
    cluster = ClusterProcess(models_per_process=2)
    try:
        late = cluster.run(os.path.join(zoo_dir, "reusable_tf2_written"), ["serve"], VARIANTS[:2], 0.5)
        assert {r["outcome"] for r in late.values()} == {"timeout"}
        assert "0.5s" in late["hub.load unshared"]["message"]
        assert gone(late["hub.load unshared"]["pid"]), "killed with its process group"
        first = cluster.run(os.path.join(zoo_dir, "reusable_tf1_written"), ["serve"], [("hub.load", True, False)], 300)
        pid = first["hub.load shared"]["pid"]
        assert pid != late["hub.load unshared"]["pid"] and not gone(pid), "a fresh process, kept for the next model"
        second = cluster.run(os.path.join(zoo_dir, "reusable_tf2_written"), ["serve"], [("hub.load", True, False)], 300)
        assert second["hub.load shared"]["outcome"] == "ok" and second["hub.load shared"]["pid"] == pid
        assert gone(pid), "ended after models_per_process models: the servers of every case go with it"
        assert cluster.started == 2
    finally:
        cluster.close()


def test_a_cluster_process_that_dies_costs_its_model_with_the_evidence():
    cluster = ClusterProcess(env=dict(os.environ, PYTHONHOME="/nonexistent"))  # the interpreter cannot start
    results = cluster.run("/m/a", None, VARIANTS[:2], 60)
    assert {r["outcome"] for r in results.values()} == {"crash"}
    assert "without a result" in results["hub.load unshared"]["message"]
    assert "Fatal Python error" in results["hub.load unshared"]["message"], results
    assert cluster.process is None, "the next model starts a fresh process"


def test_cluster_cases_are_made_for_tf2_savedmodels_on_cpu_through_two_apis(write):
    from conformance.cases import runtime_cases
    from conformance.matrix import load_matrix

    matrix = load_matrix(write("matrix.yaml", """
        runtimes:
          - {id: tf2, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
             mode: eager}
        models:
          - {id: tf2_model, handle: /m/a, format: saved_model_v2}
          - {id: tf1_model, handle: /m/b, format: saved_model_tf1}
          - {id: unknown, handle: https://example.org/m}
        """))
    cases = runtime_cases(matrix, matrix.runtimes[0], "cluster")
    assert sorted(c.id for c in cases) == sorted(
        "cluster[tf2_model-tf2-cpu-%s-%s]" % (api, variant)
        for api in ("hub.load", "hub.KerasLayer")
        for variant in ("unshared", "shared", "estimator-unshared", "estimator-shared"))


@pytest.mark.tensorflow
def test_a_cluster_process_forked_from_the_fork_server_trains_in_graph_mode_without_a_second_import(
        zoo_dir, tmp_path):
    """The worker's fork server (eager mode, TensorFlow imported) forks the cluster process: the same results
    as a fresh interpreter's, a process group of its own, and a timeout or a crash costs that model alone."""
    import signal
    import time

    from conformance.matrix import DEFAULT_MATRIX
    from conformance.runtime.forkserver import ForkServer

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    setup = {"matrix": os.path.join(root, DEFAULT_MATRIX), "runtime": "tf2.21", "places": {"zoo": zoo_dir},
             "outputs": str(tmp_path)}
    server = ForkServer(setup, os.environ, start_timeout=600)
    cluster = ClusterProcess(models_per_process=3, fork=lambda: server.fork("cluster"))
    model = os.path.join(zoo_dir, "reusable_tf2_written")
    try:
        late = cluster.run(model, ["serve"], VARIANTS[:2], 0.05)
        assert {r["outcome"] for r in late.values()} == {"timeout"}, late
        assert gone(late["hub.load unshared"]["pid"]), "killed with its process group"

        results = cluster.run(model, ["serve"], VARIANTS, 300)
        pid = results["hub.load shared"]["pid"]
        with open("/proc/%d/stat" % pid) as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        assert int(fields[1]) == server.pid, "a child of the fork server, not a new interpreter"
        assert int(fields[2]) == pid, "the leader of its own process group"
        for api in ("hub.load", "hub.KerasLayer"):
            unshared, shared = results["%s unshared" % api], results["%s shared" % api]
            assert unshared["outcome"] == "error", unshared
            assert classify(unshared["type"], unshared["message"]).id == "remote-device-unshared", unshared
            assert shared["outcome"] == "ok" and shared["loss_after"] < shared["loss_before"], shared

        os.kill(pid, signal.SIGSEGV)
        deadline = time.monotonic() + 60
        while not gone(pid) and open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the cluster process never ended"
            time.sleep(0.05)
        crashed = cluster.run(model, ["serve"], VARIANTS[:1], 300)["hub.load unshared"]
        assert crashed["outcome"] == "crash" and crashed["pid"] == pid, crashed
        assert "exit status %d" % -signal.SIGSEGV in crashed["message"], crashed
        assert cluster.process is None and gone(pid), "reaped through the fork server"

        again = cluster.run(model, ["serve"], VARIANTS[1:2], 300)["hub.load shared"]
        assert again["outcome"] == "ok" and again["pid"] not in (pid, late["hub.load unshared"]["pid"]), again
        assert cluster.started == 3
    finally:
        cluster.close()
        server.close()
    assert gone(again["pid"]), "no cluster process outlives its use"


_TAKEN_PORT = """
import json, socket, sys
from conformance.runtime import cluster

taken = socket.socket()
taken.bind(("127.0.0.1", 0))
taken.listen(1)  # another process's server on the port the cluster was about to use
port = taken.getsockname()[1]
real_ports, calls = cluster._ports, []

def ports(count):
    calls.append(count)
    free = real_ports(count)
    return [port] + free[1:] if len(calls) <= int(sys.argv[2]) else free

cluster._ports = ports
cluster._graph_mode()
request = {"handle": sys.argv[1], "tags": ["serve"], "variants": [["hub.load", True, False]]}
print("RESULT " + json.dumps(cluster.answer(request)["hub.load shared"]))
"""


def _with_taken_port(model, times):
    """One variant in a fresh process whose first ``times`` port picks give a port another socket holds."""
    completed = subprocess.run([sys.executable, "-c", _TAKEN_PORT, model, str(times)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.tensorflow
def test_a_port_taken_before_tensorflow_binds_it_is_tried_again_and_never_the_models_failure(zoo_dir):
    """Six runtimes run their cluster cases at once: a port picked free can be bound by another process before
    TensorFlow's server binds it ("Could not start gRPC server"). The variant runs again on new ports; a port
    that never frees is a harness error, not the model's."""
    model = os.path.join(zoo_dir, "reusable_tf2_written")
    once = _with_taken_port(model, 1)
    assert once["outcome"] == "ok" and once["port_attempts"] == 2, once
    assert once["loss_after"] < once["loss_before"]
    never = _with_taken_port(model, 99)
    assert never["outcome"] == "harness-error" and never["port_attempts"] == 3, never
    assert never["message"].startswith("no loopback port stayed free for the cluster's TensorFlow servers in 3 "
                                       "tries (not the model's failure): "), never["message"]
    assert "Could not start gRPC server" in never["message"]
