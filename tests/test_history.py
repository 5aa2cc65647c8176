"""The history store (reports/history.sqlite): three report runs of a planted flaky model give its timeline,
"failing since" and the flake mark in the page and results.json, while a flip explained by a changed model file
or a changed TensorFlow is no flake; `history CASE` prints the timeline; shard merges keep one row per case.

The planted model flips where the history lives, at the report stage: the test writes the model's files once (the
report digests them, as for any local model) and three runs' observations of its case through the Recorder the
runtimes use, the middle and last one failing. Making real TensorFlow flip would cost minutes per run and test
nothing more here: the store sees exactly what it sees from a real flake (same digest, same run info, another
status)."""
import json
import os
import sqlite3
import subprocess
import sys

from conformance.observations import Recorder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INFO = {"runtime": "tf2.21", "mode": "eager", "python": "3.11.7", "tensorflow": "2.21.0",
        "tensorflow_hub": "0.16.1", "numpy": "2.4.6", "devices": {"cpu": {"available": True, "how": "x"}}}
RUNS = ["20260101T000000Z-0001", "20260102T000000Z-0002", "20260103T000000Z-0003"]
FLAKY = "load[planted_flaky-tf2.21-cpu-hub.load]"
REBUILT = "load[planted_rebuilt-tf2.21-cpu-hub.load]"
BUMPED = "load[planted_flaky-tf2.15-eager-cpu-hub.load]"


def record(reports, run, model, status, runtime="tf2.21", worker="gw0", info=INFO):
    recorder = Recorder(str(reports), run, runtime, worker, dict(info, runtime=runtime))
    case = "load[%s-%s-cpu-hub.load]" % (model, runtime)
    recorder.begin(case, {"check": "load", "model": model, "runtime": runtime, "device": "cpu", "api": "hub.load",
                          "signature": None, "expected": "pass"})
    recorder.update(case, status=status, message="" if status == "pass" else "Failed: %s: planted-flake: the test made it fail" % case,
                    duration=0.5, loaded=status == "pass")
    recorder.close()


def conformance(base, *args):
    env = dict(os.environ)
    env.pop("CONFORMANCE_RUN_ID", None)
    return subprocess.run([sys.executable, "-m", "conformance", "--matrix", str(base / "matrix.yaml")] + list(args),
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)


def planted_matrix(base):
    """matrix.yaml plus two models whose files the test writes under base/models."""
    for name in ("planted_flaky", "planted_rebuilt"):
        (base / "models" / name / "variables").mkdir(parents=True)
        (base / "models" / name / "saved_model.pb").write_bytes(b"planted model " + name.encode())
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        matrix = stream.read()
    for name in ("planted_flaky", "planted_rebuilt"):
        matrix += ('\n  - {id: %s, handle: "%s", format: saved_model_v2, apis: [hub.load], devices: [cpu]}\n'
                   % (name, base / "models" / name))
    (base / "matrix.yaml").write_text(matrix)
    with open(os.path.join(ROOT, "expectations.yaml")) as stream:
        (base / "expectations.yaml").write_text(stream.read())


def three_runs(base):
    planted_matrix(base)
    reports = base / "reports"
    statuses = {"planted_flaky": ["pass", "fail", "fail"], "planted_rebuilt": ["pass", "pass", "fail"]}
    for i, run in enumerate(RUNS):
        if i == 2:  # the rebuilt model's files change with its flip: an explained change, not a flake
            (base / "models" / "planted_rebuilt" / "saved_model.pb").write_bytes(b"rebuilt")
        for worker, (model, flips) in enumerate(sorted(statuses.items())):
            record(reports, run, model, flips[i], worker="gw%d" % worker)
        # the same model in tf2.15-eager flips with a new TensorFlow patch release: explained too
        record(reports, run, "planted_flaky", ["pass", "pass", "fail"][i], runtime="tf2.15-eager",
               info=dict(INFO, tensorflow="2.15.0" if i < 2 else "2.15.1"))
        made = conformance(base, "report", "--reports", str(reports), "--run-id", run)
        assert made.returncode in (0, 1), made.stdout
    return reports


def test_three_runs_of_a_planted_flaky_model_give_timeline_since_and_flake_mark(tmp_path):
    reports = three_runs(tmp_path)
    document = json.loads((reports / RUNS[2] / "results.json").read_text())
    by_test = {r["test"]: r for r in document["results"]}
    flaky = by_test[FLAKY]
    assert flaky["flaky"] is True
    assert flaky["since"]["run"] == RUNS[1] and flaky["since"]["runs"] == 2 and flaky["since"]["tensorflow"] == "2.21.0"
    assert by_test[REBUILT]["flaky"] is False and by_test[REBUILT]["since"]["run"] == RUNS[2]
    assert by_test[BUMPED]["flaky"] is False and by_test[BUMPED]["since"] == dict(by_test[BUMPED]["since"], run=RUNS[2], tensorflow="2.15.1")
    assert [run["run"] for run in document["history"]["runs"]] == RUNS

    page = (reports / RUNS[2] / "index.html").read_text()
    data = json.loads(page.split('<script type="application/json" id="case-data">')[1].split("</script>")[0])
    strings = data["strings"]
    cells = {tuple(strings[i] for i in cell[:3]): cell for cell in data["cells"].values()}
    flaky_cell = cells[("planted_flaky", "tf2.21", "cpu")]
    case = flaky_cell[3][0]
    assert strings[case[1]] == FLAKY and case[8] == 1, "the case carries the flake mark"
    assert strings[case[6]].startswith("failing since %s (" % RUNS[1]), strings[case[6]]
    assert strings[case[7]] == "PFF" and strings[flaky_cell[4]] == "PFF", "its timeline over the three runs"
    rebuilt = cells[("planted_rebuilt", "tf2.21", "cpu")][3][0]
    assert len(rebuilt) == 8 and strings[rebuilt[7]] == "PPF", "no flake mark: trailing zeros are left out"
    row = page.split('data-model="planted_flaky"')[1].split("</tbody>")[0]
    cells = row.split("<button")[1:]  # tf2.15-eager's cell (a new failure with a new TensorFlow), then tf2.21's
    assert "mark new" in cells[0] and "mark flaky" not in cells[0]
    assert "mark flaky" in cells[1] and "mark new" not in cells[1], "failing for two runs: flaky, no longer new"
    assert "mark new" in page.split('data-model="planted_rebuilt"')[1].split("</tbody>")[0]
    attention = page.split('id="attention"')[1].split("</div>")[0]
    assert "planted_rebuilt tf2.21 cpu (new)" in attention and "planted_flaky tf2.21 cpu (flaky)" in attention
    second = (reports / RUNS[1] / "index.html").read_text()
    assert "mark new" in second.split('data-model="planted_flaky"')[1].split("</tbody>")[0]

    shown = conformance(tmp_path, "history", FLAKY, "--reports", str(reports))
    assert shown.returncode == 0, shown.stdout
    lines = shown.stdout.splitlines()
    assert lines[0] == FLAKY and len(lines) == 2 + 3 + 1, shown.stdout
    assert lines[2].startswith(RUNS[0]) and " pass " in lines[2] and "FLIP" not in lines[2]
    assert lines[3].startswith(RUNS[1]) and " fail " in lines[3] and "FLIP" in lines[3]
    assert lines[5].startswith("fail since %s" % RUNS[1]) and "TensorFlow 2.21.0" in lines[5] and "flaky" in lines[5]
    bumped = conformance(tmp_path, "history", BUMPED, "--reports", str(reports)).stdout
    assert "FLIP" not in bumped and "2.15.1" in bumped
    missing = conformance(tmp_path, "history", "load[nothing]", "--reports", str(reports))
    assert missing.returncode == 2 and "load[nothing] is in no run of" in missing.stdout


def test_a_shard_merge_keeps_one_row_per_case_and_stores_merge_strictly(tmp_path):
    planted_matrix(tmp_path)
    reports = tmp_path / "reports"
    record(reports, RUNS[0], "planted_flaky", "pass", worker="gw0")
    first = conformance(tmp_path, "report", "--reports", str(reports), "--run-id", RUNS[0])  # one shard so far
    assert first.returncode == 0, first.stdout
    record(reports, RUNS[0], "planted_rebuilt", "fail", worker="gw1")  # the second shard arrives
    merged = conformance(tmp_path, "report", "--reports", str(reports), "--run-id", RUNS[0])
    assert merged.returncode == 1, merged.stdout
    store = sqlite3.connect(str(reports / "history.sqlite"))
    assert store.execute("SELECT run, test, status FROM cases ORDER BY test").fetchall() == [
        (RUNS[0], FLAKY, "pass"), (RUNS[0], REBUILT, "fail")]
    assert store.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    store.close()

    other = tmp_path / "other"  # another machine's store: its run joins, the same case twice must agree
    record(other, RUNS[1], "planted_flaky", "fail")
    assert conformance(tmp_path, "report", "--reports", str(other), "--run-id", RUNS[1]).returncode == 1
    joined = conformance(tmp_path, "history", "--reports", str(reports), "--merge", str(other / "history.sqlite"))
    assert joined.returncode == 0 and "1 run(s), 1 case row(s) added" in joined.stdout, joined.stdout
    again = conformance(tmp_path, "history", "--reports", str(reports), "--merge", str(other / "history.sqlite"))
    assert "0 run(s), 0 case row(s) added" in again.stdout
    timeline = conformance(tmp_path, "history", FLAKY, "--reports", str(reports)).stdout
    assert RUNS[0] in timeline and RUNS[1] in timeline and "FLIP" in timeline

    clash = tmp_path / "clash"
    record(clash, RUNS[0], "planted_flaky", "fail")
    conformance(tmp_path, "report", "--reports", str(clash), "--run-id", RUNS[0])
    refused = conformance(tmp_path, "history", "--reports", str(reports), "--merge", str(clash / "history.sqlite"))
    assert refused.returncode == 2
    assert "case %s of run %s is pass in %s and fail in %s" % (FLAKY, RUNS[0], reports / "history.sqlite",
                                                               clash / "history.sqlite") in refused.stdout


def test_a_file_that_is_no_store_is_one_line_naming_it(tmp_path):
    planted_matrix(tmp_path)
    reports = tmp_path / "reports"
    record(reports, RUNS[0], "planted_flaky", "pass")
    reports.joinpath("history.sqlite").write_text("not a database, a note someone left here\n" * 100)
    made = conformance(tmp_path, "report", "--reports", str(reports), "--run-id", RUNS[0])
    assert made.returncode == 2
    assert made.stdout.strip().splitlines()[-1].startswith("report: %s: not a history store" % (reports / "history.sqlite"))


def test_the_model_digest_is_its_files_or_without_the_zoo_its_build_hash(tmp_path):
    from conformance.matrix import load_matrix
    from conformance.report.model_digest import digests

    planted_matrix(tmp_path)
    matrix = load_matrix(str(tmp_path / "matrix.yaml"))
    without_zoo = digests(matrix, str(tmp_path / "no_zoo"), str(tmp_path))
    assert without_zoo["text_embed"].startswith("build-") and without_zoo["text_embed_url"] == without_zoo["text_embed"]
    assert without_zoo["planted_flaky"] == digests(matrix, str(tmp_path / "no_zoo"), str(tmp_path))["planted_flaky"]
    (tmp_path / "zoo" / "text_embed").mkdir(parents=True)
    (tmp_path / "zoo" / "text_embed" / "saved_model.pb").write_bytes(b"built")
    with_zoo = digests(matrix, str(tmp_path / "zoo"), str(tmp_path))
    assert with_zoo["text_embed"] != without_zoo["text_embed"] and not with_zoo["text_embed"].startswith("build-")
    (tmp_path / "models" / "planted_flaky" / "variables" / "v").write_bytes(b"changed")
    assert digests(matrix, str(tmp_path / "zoo"), str(tmp_path))["planted_flaky"] != without_zoo["planted_flaky"]
