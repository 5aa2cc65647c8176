"""End to end in a real browser: a real tf2.21 run, its report rendered by headless Chromium (Debian's
package, driven by Playwright): the grid shows statuses, a cell opens its details (rendered from data
embedded once) and links to itself, a model id that carries HTML (a model's handle, in its error message)
is shown as text; and the same run copied to 100 models stays small, fits the first screen and filters."""
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.tensorflow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EVIL = "<em>no_such_model"
EXTRA_MODELS = """
  - {id: plain_text_embedding_under_an_id_as_long_as_registry_ids_get, handle: "{zoo}/text_embed", format: hub_tf1, tags: [], signatures: [default], apis: [hub.load],
     devices: [cpu]}
  - {id: broken, handle: "{zoo}/<em>no_such_model", format: hub_tf1, tags: [], apis: [hub.load], devices: [cpu]}
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory, zoo_dir):
    """A real run of two models in this env's runtime (tf2.21), one renamed to contain HTML, and its report."""
    base = tmp_path_factory.mktemp("browser")
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        matrix = stream.read()
    matrix += EXTRA_MODELS
    with open(os.path.join(ROOT, "expectations.yaml")) as stream:
        expectations = stream.read()
    (base / "matrix.yaml").write_text(matrix)
    (base / "expectations.yaml").write_text(expectations)
    env = dict(os.environ, TFHUB_CACHE_DIR=str(base / "tfhub"))
    env.pop("CONFORMANCE_RUN_ID", None)
    common = ["--matrix", str(base / "matrix.yaml")]
    subprocess.run([sys.executable, "-m", "pytest", "cases/test_load.py", "-q", "-p", "no:cacheprovider",
                    "--runtime=tf2.21", "--reports", str(base / "reports"), "--run-id", "r1", "--zoo", zoo_dir,
                    "-k", "hazard or text_embed_url or plain or broken", "-p", "no:xdist"] + common,
                   cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
    made = subprocess.run([sys.executable, "-m", "conformance"] + common + ["report", "--reports",
                                                                           str(base / "reports"), "--run-id", "r1"],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    page = base / "reports" / "r1" / "index.html"
    assert page.is_file(), made.stdout
    return page


@pytest.fixture
def browser_page(report):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is needed (apt-get install chromium); `tox -e tests` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto("file://%s" % report)
        yield page
        browser.close()


def test_grid_shows_the_statuses(browser_page):
    statuses = browser_page.eval_on_selector_all(
        "#grid tr.model button[data-target]", "buttons => buttons.map(b => b.className.split(' ')[1])")
    assert {"pass", "xfail", "fail"} <= set(statuses), statuses
    assert browser_page.inner_text("#verdict").startswith(("1 unexpected", "2 unexpected", "3 unexpected",
                                                           "4 unexpected", "5 unexpected", "6 unexpected"))
    assert browser_page.is_visible("#compat") and browser_page.is_visible("#run-info")


def test_a_cell_opens_its_details_and_links_to_itself(browser_page, report):
    assert not browser_page.is_visible("#details")
    browser_page.locator("#grid tbody[data-model=hazard] tr.model button.xfail").first.click()
    assert browser_page.is_visible("#details")
    assert "expected failure" in browser_page.inner_text("#details")
    link = browser_page.evaluate("location.hash")
    assert link.startswith("#cell=hazard%2Ftf2.21%2F")
    browser_page.goto("about:blank")
    browser_page.goto("file://%s%s" % (report, link))
    assert browser_page.is_visible("#details") and browser_page.inner_text("#details").startswith("hazard")


def test_html_in_a_message_is_text_not_markup(browser_page):
    browser_page.locator("#grid tr.model button.fail").first.click()
    assert EVIL in browser_page.inner_text("#details")
    assert browser_page.eval_on_selector_all("em", "ems => ems.length") == 0


# ---------------------------------------------------------------- the same run, 100 models
@pytest.fixture(scope="module")
def scaled_report(report):
    """The real run's 4 models copied 25 times: 100 models, in the columns of every default runtime of
    matrix.yaml (tf2.21's observations copied as theirs), rendered by the report command."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from conformance.matrix import load_matrix
    from report_scale import multiply_run

    reports = report.parent.parent
    runtimes = [r.id for r in load_matrix(os.path.join(ROOT, "matrix.yaml")).runtimes if r.is_default]
    multiply_run(str(reports / "runs" / "r1"), str(reports / "runs" / "r100"), 25, as_runtimes=runtimes)
    made = subprocess.run([sys.executable, "-m", "conformance", "--matrix", str(reports.parent / "matrix.yaml"),
                           "report", "--reports", str(reports), "--run-id", "r100"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    page = reports / "r100" / "index.html"
    assert page.is_file(), made.stdout
    return page


@pytest.fixture
def scaled_page(scaled_report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto("file://%s" % scaled_report)
        yield page
        browser.close()


def test_a_100_model_page_is_small_and_its_verdict_and_grid_are_on_the_first_screen(scaled_report, scaled_page):
    assert len(scaled_page.eval_on_selector_all("#grid tbody.model-rows", "rows => rows")) == 100
    assert scaled_report.stat().st_size < 10 * 1000 * 1000
    verdict = scaled_page.eval_on_selector("#verdict", "e => e.getBoundingClientRect().toJSON()")
    grid = scaled_page.eval_on_selector("#grid", "e => e.getBoundingClientRect().toJSON()")
    assert verdict["bottom"] < 1000 and grid["top"] < 1000, (verdict, grid)
    columns = scaled_page.eval_on_selector_all("#grid tr:nth-child(2) th", "ths => ths.length")
    assert columns >= 12, "every default runtime's cpu and xla columns: %d" % columns
    assert grid["right"] <= 1600 and scaled_page.evaluate("document.documentElement.scrollWidth") <= 1600, grid
    assert "gpu" in scaled_page.inner_text(".hidden-columns"), "a device no runtime has is one note, not a column"
    assert not scaled_page.is_visible("#changes"), "the full list of changes is collapsed"


def test_the_filters_narrow_the_grid_and_list_the_matching_cases(scaled_page):
    scaled_page.fill("#filter", "hazard_c7 hub.load")
    visible = scaled_page.eval_on_selector_all("#grid tbody.model-rows:not([hidden])", "rows => rows.map(r => r.dataset.model)")
    assert visible == ["hazard_c7"]
    listed = scaled_page.inner_text("#matches")
    assert "hazard_c7" in listed and "hub.load" in listed and "hazard_c8" not in listed
    scaled_page.fill("#filter", "")
    scaled_page.select_option("#status-filter", "fail")
    shown = scaled_page.eval_on_selector_all(
        "#grid tbody.model-rows:not([hidden])", "rows => rows.map(r => r.querySelectorAll('button.fail').length)")
    assert 0 < len(shown) < 100 and all(shown), "only the models with an unexpected failure stay"
    assert "case(s) match" in scaled_page.inner_text("#match-count")


def test_the_first_screen_of_100_models_says_per_api_where_the_model_works_and_the_unexpected_come_first(scaled_page):
    rows = scaled_page.eval_on_selector_all("#grid tbody.model-rows", """bodies => bodies
        .filter(b => b.getBoundingClientRect().top < window.innerHeight)
        .map(b => ({model: b.dataset.model, cells: Array.from(b.querySelectorAll('button[data-target]')).map(
            c => Array.from(c.querySelectorAll('.a')).map(a => [a.className.split(' ')[1], a.textContent]))}))""")
    assert rows, "the grid's first rows are on the first screen"
    for row in rows:
        assert len(row["cells"]) >= 12 and any(row["cells"]), row  # (a cpu-only model has empty xla cells)
        for cell in row["cells"]:
            for verdict, text in cell:
                assert verdict in ("works", "expected", "unexpected", "skipped"), (verdict, text)
                assert set(text.split(":")[0].split(", ")) <= {"load", "Keras", "Module", "SavedModel"}, text
    assert rows[0]["model"].startswith("broken_c"), "a model with an unexpected failure comes first"
    assert any(verdict == "unexpected" for cell in rows[0]["cells"] for verdict, _ in cell)
    attention = scaled_page.eval_on_selector("#attention", "e => e.getBoundingClientRect().toJSON()")
    assert attention["bottom"] < 1000 and "unexpected" in scaled_page.inner_text("#attention")
    works = scaled_page.eval_on_selector_all("#grid tbody[data-model^=plain_text_embedding] .a.works", "spans => spans.length")
    assert works > 0, "the text embedding works through hub.load"


@pytest.mark.parametrize("width,height", [(1200, 800), (1600, 1200)])
def test_a_cell_link_opens_the_cell_in_view_with_its_cases(scaled_report, width, height):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto("file://%s" % scaled_report)
        last = page.eval_on_selector_all("#grid tbody.model-rows", "bodies => bodies[bodies.length - 1].dataset.model")
        page.goto("about:blank")
        page.goto("file://%s#cell=%s%%2Ftf2.21%%2Fcpu" % (scaled_report, last))
        assert page.evaluate("window.scrollY") > 2000, "the last model's row is far down the page"
        cell = page.eval_on_selector("#details-row", "row => row.previousElementSibling.getBoundingClientRect().toJSON()")
        panel = page.eval_on_selector("#details", "e => e.getBoundingClientRect().toJSON()")
        first_case = page.eval_on_selector("#details .case", "e => e.getBoundingClientRect().toJSON()")
        assert -2 <= cell["top"] < height and cell["bottom"] <= panel["top"] + 1, (cell, panel)
        assert first_case["bottom"] < height, "the cell's first case is in view with it"
        assert page.inner_text("#details").startswith("%s — tf2.21 cpu" % last)
        browser.close()
