"""The report survives any string a model brings: `$`, mathtext, backslashes, HTML, very long and
non-ASCII ids, in the figure and in the page."""
import pytest

from conformance.report import html, page
from conformance.report.diff import diff

HOSTILE = ["m$x", "\\frac{1}{2}$$", "<script>alert(1)</script>", "m" * 10000, "modèle-ü-名前", "a$b$c\\"]


def _results():
    found = []
    for index, name in enumerate(HOSTILE):
        found.append({"test": "numeric[%s-tf2.21-cpu-hub.load-default]" % name, "check": "numeric", "model": name,
                      "runtime": "tf2.21", "device": "cpu", "api": "hub.load", "signature": "default",
                      "status": "fail", "expected": "pass", "message": "%s drifted" % name, "duration": 0.1,
                      "details": {"details": {"differences": [{"path": "default.%s" % name,
                                                                "max_rel": 10.0 ** -(index + 1)}]}}})
        found.append({"test": "load[%s-tf2.21-cpu-hub.load]" % name, "check": "load", "model": name,
                      "runtime": "tf2.21", "device": "cpu", "api": "hub.load", "signature": None,
                      "status": "pass", "expected": "pass", "message": "", "duration": 0.1, "details": {}})
    return found


def test_figure_labels_are_never_mathtext():
    assert page.plain_label("a$b") == "a\\$b"
    assert len(page.plain_label("m" * 10000)) == 60
    pytest.importorskip("matplotlib")
    picture = page.heatmap_png(_results(), [("tf2.21", "cpu")])
    assert picture.startswith("data:image/png;base64,")


def test_page_escapes_every_string():
    pytest.importorskip("matplotlib")
    document = {"run_ids": ["r1"], "created": "now", "git_revision": None, "results": _results(),
                "run_info": {"tf2.21": {"tensorflow": "2.21.0"}}}
    text = html.render(document, diff(document, None, None), ["tf2.21"], ["hub.load"],
                       {name: "saved_model_v2" for name in HOSTILE})
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "modèle-ü-名前" in text
