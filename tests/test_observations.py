"""Observation files: one per worker, rewritten atomically, crash marks kept, runs summarized."""
import json
import os

import numpy as np

from conformance.commands import summary
from conformance.observations import Recorder, journal_path, load_document, read_run


def test_a_crash_loses_nothing_recorded_and_leaves_the_running_mark(tmp_path, monkeypatch):
    monkeypatch.setattr("conformance.observations.SNAPSHOT_SECONDS", 3600.0)  # only the journal is written
    recorder = Recorder(str(tmp_path), "run1", "tf2.21", "gw0", {"tensorflow": "2.21.0"})
    recorder.begin("load[m-tf2.21-cpu-hub.load]", {"model": "m"})
    recorder.update("load[m-tf2.21-cpu-hub.load]", status="pass")
    recorder.begin("load[m-tf2.21-xla-hub.load]", {"model": "m"})  # the worker dies here: no close()
    with open(journal_path(recorder.path), "a") as journal:
        journal.write('{"case": "load[m-tf2.21-xla-hub.load]", "fie')  # a half-written last line
    with open(recorder.path) as stream:
        assert json.load(stream)["cases"] == {}, "the snapshot predates the cases"
    document = load_document(recorder.path)
    assert document["run_info"] == {"tensorflow": "2.21.0"}
    assert document["cases"]["load[m-tf2.21-cpu-hub.load]"]["status"] == "pass"
    assert document["cases"]["load[m-tf2.21-xla-hub.load]"]["status"] == "running"
    leftovers = [name for name in os.listdir(os.path.dirname(recorder.path)) if name.startswith(".tmp")]
    assert leftovers == []


def test_snapshot_and_journal_agree_after_close(tmp_path):
    recorder = Recorder(str(tmp_path), "run1", "tf1", "main", {})
    for index in range(50):
        recorder.begin("load[%d]" % index, {})
        recorder.update("load[%d]" % index, status="pass", details={"n": index})
    recorder.close()
    with open(recorder.path) as stream:
        snapshot = json.load(stream)
    assert snapshot["journal_lines"] == 100
    assert load_document(recorder.path)["cases"] == snapshot["cases"]
    assert snapshot["cases"]["load[49]"]["details"] == {"n": 49}



def test_ended_cases_kept_as_text_write_the_same_document_and_can_still_be_told_more(tmp_path):
    """A worker keeps the cases before its current one as JSON text: the snapshot must not differ from one of
    the dicts (same bytes as json.dumps of the whole), and a late word about an ended case is not lost."""
    recorder = Recorder(str(tmp_path), "run1", "tf2.21", "gw0", {"tensorflow": "2.21.0", "note": '"cases":{}'})
    recorder.begin("load[\u00e9-b]", {"model": "\u00e9", "record": {"outputs": [1.5, None], "cases": {}}})
    recorder.update("load[\u00e9-b]", status="fail", lost="crash")
    recorder.begin("load[a]", {"model": "a"})
    assert list(recorder.document["cases"]) == ["load[a]"], "the ended case is no longer held as dicts"
    assert recorder.entry("load[\u00e9-b]")["lost"] == "crash"
    recorder.update("load[\u00e9-b]", message="told after the next case began")
    recorder.update("load[a]", status="pass")
    recorder.close()
    with open(recorder.path) as stream:
        written = stream.read()
    whole = dict(recorder.document, cases=recorder.cases())
    assert written == json.dumps(whole, sort_keys=True, separators=(",", ":"))
    cases = load_document(recorder.path)["cases"]
    assert cases["load[\u00e9-b]"] == dict(cases["load[\u00e9-b]"], status="fail", lost="crash",
                                           message="told after the next case began", model="\u00e9")
    assert cases["load[a]"]["status"] == "pass"

def test_snapshots_cost_at_most_a_constant_times_the_journal(tmp_path, monkeypatch):
    """Each snapshot rewrites the whole document: written every few seconds, they cost a run time quadratic in
    its cases. Written once the journal has doubled, they cost a constant times the final document, and
    still come (readers replay less)."""
    monkeypatch.setattr("conformance.observations.SNAPSHOT_SECONDS", 0.0)  # time never holds one back
    recorder = Recorder(str(tmp_path), "run1", "tf2.21", "gw0", {})
    sizes = []
    flush = recorder.flush

    def counted_flush():
        flush()
        sizes.append(os.path.getsize(recorder.path))
        assert load_document(recorder.path)["cases"] == recorder.cases()

    recorder.flush = counted_flush
    for index in range(2000):
        recorder.begin("load[%d]" % index, {"model": "m%d" % index})
        recorder.update("load[%d]" % index, status="pass", details={"n": index})
    recorder.close()
    assert 5 <= len(sizes) <= 15, "about log2(4000 lines) snapshots, not one per line: %d" % len(sizes)
    assert sum(sizes) <= 3 * sizes[-1], "the snapshots wrote %d bytes for a %d-byte document" % (sum(sizes),
                                                                                                 sizes[-1])


def test_outputs_are_saved_as_npz_with_strings(tmp_path):
    recorder = Recorder(str(tmp_path), "run1", "tf1.15-graph", "main", {})
    name = recorder.save_outputs("m-cpu-hub_load-default", {
        "default": np.arange(6, dtype=np.float32).reshape(2, 3),
        "words": np.array([b"a", b"bc"], dtype=object)})
    with np.load(os.path.join(recorder.directory, name)) as saved:
        assert saved["default"].tolist() == [[0, 1, 2], [3, 4, 5]]
        assert saved["words"].tolist() == [b"a", b"bc"]


def test_parallel_runtimes_and_workers_do_not_clobber(tmp_path):
    for runtime, worker in (("tf1", "gw0"), ("tf1", "gw1"), ("tf2", "main")):
        recorder = Recorder(str(tmp_path), "run1", runtime, worker, {})
        recorder.begin("load[m-%s-cpu-%s]" % (runtime, worker), {})
        recorder.update("load[m-%s-cpu-%s]" % (runtime, worker), status="pass")
    documents = [document for _, document in read_run(str(tmp_path), "run1")]
    assert sorted((d["runtime"], d["worker"]) for d in documents) == [("tf1", "gw0"), ("tf1", "gw1"),
                                                                       ("tf2", "main")]


def test_damaged_file_is_reported_not_fatal(tmp_path):
    Recorder(str(tmp_path), "run1", "tf1", "gw0", {})
    damaged = tmp_path / "runs" / "run1" / "tf1" / "gw1.json"
    damaged.write_text('{"cases": {')
    documents = dict(read_run(str(tmp_path), "run1"))
    assert "unreadable observation file" in documents[str(damaged)]["error"]


def test_summary_counts_and_exit_status(tmp_path, capsys):
    recorder = Recorder(str(tmp_path), "run1", "tf2", "gw0", {})
    for status in ("pass", "pass", "xfail", "skip"):
        case = "load[%s-%d]" % (status, len(recorder.cases()))
        recorder.begin(case, {})
        recorder.update(case, status=status, message="Skipped: runtime tf2 has no gpu device (probed: CPU:0)")

    class Args:
        reports, run_id = str(tmp_path), "run1"

    assert summary.run(Args) == 0
    recorder.begin("load[crashed]", {})
    assert summary.run(Args) == 1
    out = capsys.readouterr().out
    assert "UNEXPECTED running load[crashed]: its worker died during the case" in out
    assert "skipped     1: Skipped: runtime has no gpu device" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("tf2 ", "all "))}
    assert rows["tf2"] == ["2", "1", "0", "1", "1", "0", "0", "0", "5"]


def test_model_supplied_names_never_become_paths():
    from conformance.observations import safe_stem

    assert safe_stem("m-cpu-saved_model-serving_default") == "m-cpu-saved_model-serving_default"
    slashed = safe_stem("m-cpu-hub_load-tensorflow/serving/regress")
    assert "/" not in slashed and slashed.startswith("m-cpu-hub_load-tensorflow_serving_regress~")
    assert slashed != safe_stem("m-cpu-hub_load-tensorflow_serving_regress"), "no two names share a file"
    assert "/" not in safe_stem("../../etc/passwd") and not safe_stem("..").startswith(".")
    assert len(safe_stem("x" * 10000)) < 100
