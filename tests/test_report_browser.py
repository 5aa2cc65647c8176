"""End to end in a real browser: a real tf2.21 run, its report rendered by headless Chromium (Debian's
package, driven by Playwright): the grid shows statuses, a cell opens its details, and a model id that
carries HTML (a model's handle, in its error message) is shown as text."""
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
  - {id: plain, handle: "{zoo}/text_embed", format: hub_tf1, tags: [], signatures: [default], apis: [hub.load],
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


def test_a_cell_opens_its_details(browser_page):
    button = browser_page.locator("#grid tr.model button.xfail").first
    target = button.get_attribute("data-target")
    assert not browser_page.is_visible("#" + target)
    button.click()
    assert browser_page.is_visible("#" + target)
    assert "expected failure" in browser_page.inner_text("#" + target)


def test_html_in_a_message_is_text_not_markup(browser_page):
    button = browser_page.locator("#grid tr.model button.fail").first
    target = button.get_attribute("data-target")
    button.click()
    assert EVIL in browser_page.inner_text("#" + target)
    assert browser_page.eval_on_selector_all("em", "ems => ems.length") == 0
