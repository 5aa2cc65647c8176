"""The executors' sandbox (bubblewrap) holds on its own, and the allow list covers this TensorFlow.

The hostile models' runs through it are in test_isolation.py; here a plain Python process is put in the same
sandbox and tries what a model's ops would.
"""
import os
import subprocess
import sys

import pytest

from conformance.runtime import op_review, sandbox

PROBE = r"""
import os, socket, sys
def attempt(what, action):
    try:
        action()
        print(what, "ok")
    except Exception as error:
        print(what, "failed", type(error).__name__)
attempt("read secret", lambda: open(sys.argv[1]).read())
attempt("read model", lambda: open(sys.argv[2]).read())
attempt("write beside model", lambda: open(sys.argv[2] + ".new", "w").write("x"))
attempt("write /tmp", lambda: open("/tmp/escaped", "w").write("x"))
attempt("write output", lambda: open(os.path.join(sys.argv[3], "out"), "w").write("x"))
attempt("write TMPDIR", lambda: open(os.path.join(os.environ["TMPDIR"], "scratch"), "w").write("x"))
attempt("connect outside", lambda: socket.create_connection(("192.0.2.1", 80), timeout=2))
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
attempt("connect loopback", lambda: socket.create_connection(server.getsockname(), timeout=2))
attempt("host root through /proc", lambda: os.listdir("/proc/1/root" + os.path.dirname(sys.argv[1])))
"""


def test_a_process_in_the_sandbox_reaches_only_its_places(tmp_path, monkeypatch):
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "bubblewrap")  # fails here rather than skip where bwrap is missing
    secret = tmp_path / "secret" / "hostname"
    secret.parent.mkdir()
    secret.write_text("secret")
    model = tmp_path / "model" / "saved_model.pb"
    model.parent.mkdir()
    model.write_text("graph")
    scratch, output = tmp_path / "scratch", tmp_path / "output"
    chosen = sandbox.choose([str(model.parent)], [str(scratch), str(output)])
    assert chosen.kind == "bubblewrap" and chosen.run_info()["network"].startswith("none")
    done = subprocess.run(chosen.command([sys.executable, "-c", PROBE, str(secret), str(model), str(output)]),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    seen = dict(line.rsplit(" ", 1) if line.endswith(" ok") else (line.split(" failed")[0], "failed")
                for line in done.stdout.splitlines() if " ok" in line or " failed" in line)
    assert seen == {"read secret": "failed", "read model": "ok", "write beside model": "failed",
                    "write /tmp": "failed", "write output": "ok", "write TMPDIR": "ok", "connect outside": "failed",
                    "connect loopback": "ok", "host root through /proc": "failed"}, done.stdout
    assert (output / "out").exists() and not os.path.exists(str(model) + ".new")


def test_off_means_none_and_says_why(monkeypatch):
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "off")
    chosen = sandbox.choose([], [])
    assert not chosen.in_force and chosen.command(["true"]) == ["true"]
    assert "untrusted-op unless `trust: true`" in sandbox.summary_line()
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "maybe")
    with pytest.raises(sandbox.SandboxUnavailable, match="CONFORMANCE_SANDBOX=maybe: expected auto, bubblewrap or off"):
        sandbox.choose([], [])


def test_the_review_rules_propose_what_a_reviewer_expects():
    assert op_review.propose("WriteFile", ["filename", "contents"], []) == ("outside", "the file system (writes files)")
    assert op_review.propose("ReadFile", ["filename"], []) == ("path", "input 0 (filename)")
    assert op_review.propose("GenerateVocabRemapping", ["new_vocab_file", "old_vocab_file"], [])[0] == "path"
    assert op_review.propose("SetStatsAggregatorDataset", ["input_dataset", "stats_aggregator", "tag",
                                                           "counter_prefix"], []) == ("compute", "")
    assert op_review.propose("EagerPyFunc", ["input"], ["token"])[1] == "the Python interpreter"
    assert op_review.propose("AddV2", ["x", "y"], ["T"]) == ("compute", "")
    assert op_review.propose("SomeNewLoader", ["x"], ["data_file_path"])[0] == "outside"


@pytest.mark.tensorflow
def test_every_op_of_this_tensorflow_and_tensorflow_text_is_reviewed():
    """A new release (or op library) fails here until `python -m conformance.runtime.op_review` is run and its
    proposals are reviewed into allowed_ops.yaml."""
    import tensorflow_text  # noqa: F401 - its ops are registered on import

    from conformance.runtime import op_scan

    assert op_review.unreviewed(op_review.registered_ops(), op_scan.allow_list()) == {}


@pytest.mark.tensorflow
def test_the_zoo_scans_clean_and_an_unreadable_graph_is_a_finding(tmp_path):
    from conformance.runtime import op_scan
    from conformance.zoo.catalog import default_zoo_dir

    zoo = default_zoo_dir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    models = [name for name in sorted(os.listdir(zoo)) if op_scan.graph_file(os.path.join(zoo, name))]
    assert len(models) >= 30, models
    assert {name: [f.line() for f in op_scan.scan(op_scan.graph_file(os.path.join(zoo, name)))]
            for name in models} == {name: [] for name in models}
    broken = tmp_path / "saved_model.pbtxt"
    broken.write_text("meta_graphs { this is not a SavedModel")
    finding, = op_scan.scan(str(broken))
    assert finding.op == "saved_model.pbtxt" and finding.touches.startswith("the scan cannot parse it")
