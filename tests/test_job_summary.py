"""`summary --markdown`: GitHub's job summary of a report, appended to $GITHUB_STEP_SUMMARY (the verdict, the
unexpected results with causes, "failing since" and links to their cells, the flakes new in this run), from the
three report runs of the planted flaky model (tests/test_history.py)."""
import os

from test_history import FLAKY, REBUILT, RUNS, conformance, three_runs


def job_summary(base, reports, run, target):
    env_before = os.environ.get("GITHUB_STEP_SUMMARY")
    os.environ["GITHUB_STEP_SUMMARY"] = str(target)
    try:
        made = conformance(base, "summary", "--markdown", "--report", str(reports / run),
                           "--report-url", "https://reports.example.invalid/nightly")
    finally:
        if env_before is None:
            os.environ.pop("GITHUB_STEP_SUMMARY")
        else:
            os.environ["GITHUB_STEP_SUMMARY"] = env_before
    assert made.returncode == 0, made.stdout
    return target.read_text()


def test_the_job_summary_says_the_verdict_causes_since_links_and_new_flakes(tmp_path):
    reports = three_runs(tmp_path)
    target = tmp_path / "step_summary.md"
    target.write_text("earlier step's summary\n")
    second = job_summary(tmp_path, reports, RUNS[1], target)
    assert second.startswith("earlier step's summary\n## hub-conformance %s: 1 unexpected result(s)" % RUNS[1])
    assert "### Flaky: 1 case(s), 1 flipped in this run with nothing changed" in second
    assert "| `%s` | new regression | [planted_flaky/tf2.21/cpu](" % FLAKY in second.split("### Flaky")[1]

    target.write_text("")
    third = job_summary(tmp_path, reports, RUNS[2], target)
    assert third.startswith("## hub-conformance %s: 3 unexpected result(s)" % RUNS[2])
    rows = {line.split("`")[1]: line for line in third.splitlines() if line.startswith("| `")}
    flaky = rows[FLAKY].split(" | ")
    assert flaky[1:3] == ["unexpected failure", "planted-flake"], rows[FLAKY]
    assert flaky[3].startswith("%s (2026-" % RUNS[1]) and flaky[3].endswith("TF 2.21.0)"), flaky[3]
    assert flaky[4] == ("[planted_flaky/tf2.21/cpu](https://reports.example.invalid/nightly/index.html"
                        "#cell=planted_flaky%2Ftf2.21%2Fcpu) |")
    assert rows[REBUILT].split(" | ")[3].startswith(RUNS[2])
    assert "### Flaky: 1 case(s), 0 flipped in this run" in third


def test_without_the_variable_it_prints_and_a_missing_report_is_one_line(tmp_path):
    reports = three_runs(tmp_path)
    printed = conformance(tmp_path, "summary", "--markdown", "--report", str(reports / RUNS[0]))
    assert printed.returncode == 0 and printed.stdout.startswith("## hub-conformance %s: no unexpected" % RUNS[0])
    missing = conformance(tmp_path, "summary", "--markdown", "--report", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert missing.stdout.strip() == ("summary: %s: No such file or directory (run `python -m conformance report` "
                                      "first)" % (tmp_path / "nowhere" / "results.json"))
