"""The HTML report at scale: a finished run's observations copied k times under new model ids, rendered,
measured (page size, render time) and, where Chromium and Playwright are installed, opened at 1600 px
(load time, where the grid starts, its width).

    python bench/report_scale.py [--run-id ID] [--copies 3] [--reports reports]

The default run has 35 models: 3 copies make the 105-model page the README describes.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def renamed(test: str, model: str, new: str) -> str:
    return test.replace("[%s-" % model, "[%s-" % new, 1)


def multiply_run(source: str, target: str, copies: int, as_runtimes: Sequence[str] = ()) -> int:
    """Copy every runtime's observation documents of run folder ``source`` into ``target``, ``copies`` times,
    model ``m`` becoming ``m_c0``, ``m_c1``, …, and each runtime's also as each of ``as_runtimes`` (a
    one-runtime run laid out as a whole matrix's columns); returns the number of cases written."""
    written = 0
    for path in glob.glob(os.path.join(source, "*", "*.json")):
        runtime = os.path.basename(os.path.dirname(path))
        with open(path) as stream:
            document = json.load(stream)
        for as_runtime in [runtime] + [r for r in as_runtimes if r != runtime]:
            os.makedirs(os.path.join(target, as_runtime), exist_ok=True)
            for copy in range(copies):
                cases = {}
                for test, case in document["cases"].items():
                    model = case.get("model")
                    new = "%s_c%d" % (model, copy) if model else model
                    test = renamed(test, model, new) if model else test
                    cases[test.replace("-%s-" % runtime, "-%s-" % as_runtime, 1)] = dict(
                        case, model=new, runtime=as_runtime)
                out = dict(document, cases=cases, worker="%s-c%d" % (document["worker"], copy), runtime=as_runtime,
                           run_info=dict(document.get("run_info") or {}, runtime=as_runtime))
                with open(os.path.join(target, as_runtime, "%s-c%d.json" % (document["worker"], copy)),
                          "w") as stream:
                    json.dump(out, stream)
                written += len(cases)
    return written


def newest_run(reports: str) -> str:
    runs = sorted(d for d in os.listdir(os.path.join(reports, "runs")) if not d.startswith("."))
    if not runs:
        sys.exit("no run under %s/runs: run `tox -p` first" % reports)
    return runs[-1]


def open_in_chromium(page: str) -> dict:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {}
    if not os.path.exists(chromium):
        return {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        tab = browser.new_page(viewport={"width": 1600, "height": 1000})
        started = time.perf_counter()
        tab.goto("file://" + page)
        tab.wait_for_load_state("load")
        seconds = time.perf_counter() - started
        box = tab.eval_on_selector("#grid", "e => e.getBoundingClientRect().toJSON()")
        browser.close()
    return {"load_seconds": round(seconds, 2), "grid_top_px": round(box["top"]), "grid_width_px": round(box["width"]),
            "grid_fits_1600_px": box["right"] <= 1600}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", default=os.path.join(ROOT, "reports"))
    parser.add_argument("--run-id", default=None, help="the run to copy (default: the newest)")
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    run_id = args.run_id or newest_run(args.reports)
    scratch = tempfile.mkdtemp(prefix="report-scale-")
    try:
        cases = multiply_run(os.path.join(args.reports, "runs", run_id), os.path.join(scratch, "runs", "scaled"),
                             args.copies)
        started = time.perf_counter()
        made = subprocess.run([sys.executable, "-m", "conformance", "report", "--reports", scratch, "--run-id",
                               "scaled", "--output", os.path.join(scratch, "out")], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        render_seconds = time.perf_counter() - started
        page = os.path.join(scratch, "out", "index.html")
        if not os.path.isfile(page):
            print(made.stdout)
            return 1
        figures = {"run": run_id, "copies": args.copies, "cases": cases,
                   "page_mb": round(os.path.getsize(page) / 1e6, 2), "report_command_seconds": round(render_seconds, 2)}
        figures.update(open_in_chromium(page))
        for key, value in figures.items():
            print("%-24s %s" % (key, value))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
