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


def test_the_training_tables_name_each_failures_cause():
    """The fine-tuning table (format × api × runtime) and the parameter-server table read the cause of a
    failure from its record or from an expected failure's message."""
    from conformance.report import page

    def case(check, model, runtime, api, status, message="", details=None, signature=None):
        return {"check": check, "model": model, "runtime": runtime, "device": "cpu", "api": api, "status": status,
                "message": message, "details": details or {}, "signature": signature, "test": "%s[%s]" % (check, model)}

    results = [
        case("train", "hub_model", "tf2", "hub.KerasLayer", "xfail",
             "KerasLayer refuses TF1 Hub (fine-tune-unsupported: hub.KerasLayer cannot fine-tune ...)"),
        case("train", "tf2_model", "tf2", "hub.load", "pass"),
        case("train", "tf2_model", "tf2", "hub.KerasLayer", "fail",
             details={"train": {"error": {"cause": "keras-mismatch"}}}),
        case("cluster", "tf2_model", "tf2", "hub.load", "xfail", "flag needed (remote-device-unshared: ...)",
             signature="unshared"),
        case("cluster", "tf2_model", "tf2", "hub.load", "pass", signature="shared"),
    ]
    formats = {"hub_model": "hub_tf1", "tf2_model": "saved_model_v2"}
    table = page.compat_table(results, formats, ["tf2"], ["hub.load", "hub.KerasLayer"], "compat_train")
    texts = {(row["format"], row["api"]): row["entries"][0]["text"] for row in table["rows"]}
    assert texts[("hub_tf1", "hub.KerasLayer")] == "fails: fine-tune-unsupported"
    assert texts[("saved_model_v2", "hub.load")] == "works"
    assert texts[("saved_model_v2", "hub.KerasLayer")] == "fails: keras-mismatch"
    cluster = page.cluster_table(results, ["tf2"])
    assert cluster["rows"][0]["entries"][0]["text"] == "unshared: fails (remote-device-unshared); shared: trains"


def test_the_gradient_drift_table_shows_each_runtimes_largest_difference():
    """Per model × api × step and runtime: the reference runtime, the largest relative difference where the
    gradients agree, and the cause where they drift."""
    from conformance.report import page

    def gradient(runtime, status, max_rel, message=""):
        return {"check": "gradient", "model": "m", "runtime": runtime, "device": "cpu", "api": "hub.load",
                "status": status, "message": message, "signature": "train", "test": "gradient[m-%s]" % runtime,
                "details": {"details": {"reference": "tf2.15-eager cpu hub.load",
                                        "differences": [{"max_rel": 0.0, "margin": 0.0},
                                                        {"max_rel": max_rel, "margin": max_rel / 1e-6 / 2}]}}}

    results = [gradient("tf2.15-eager", "pass", 0.0), gradient("tf2.21", "pass", 3.2e-7),
               gradient("tf1.15-eager", "fail", 0.5, "gradient[m-tf1.15-eager]: gradient-drift: vs ...")]
    table = page.drift_table(results, ["tf1.15-eager", "tf2.15-eager", "tf2.21", "tf2.21-keras3"])
    (row,) = table["rows"]
    assert (row["model"], row["api"], row["step"]) == ("m", "hub.load", "train")
    assert [e["text"] for e in row["entries"]] == ["gradient-drift: max rel 0.5", "reference",
                                                   "max rel 3.2e-07 (16% of tolerance)", "—"]
    assert [e["status"] for e in row["entries"]] == ["fail", "pass", "pass", "none"]
