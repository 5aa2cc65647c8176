"""The user's path: a model given as ``id`` + ``handle`` and nothing else runs every check a full entry runs,
in a real TF 1.15 (graph mode, the tf1.15-graph env that `tox -p` creates) and TF 2.21 runtime, for a local
directory, a .tar.gz and a URL, TF1 and TF2 formats. Its graph variant (tags) is read from its files."""
import glob
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TF115 = os.path.join(ROOT, ".tox", "tf1.15-graph", "bin", "python")

pytestmark = pytest.mark.tensorflow

# Zoo ids (the zoo's measured expectations apply to them), each cut to one line.
ONE_LINE_MODELS = """models:
  - {id: text_embed, handle: "{zoo}/text_embed"}
  - {id: text_embed_url, handle: "{zoo_url}/text_embed.tar.gz"}
  - {id: image_features, handle: "{zoo}/image_features"}
  - {id: legacy_saved_model, handle: "{zoo}/legacy_saved_model"}
  - {id: estimator_tf1, handle: "{zoo}/estimator_tf1"}
  - {id: reusable_tf1_written, handle: "{zoo}/reusable_tf1_written"}
  - {id: elementwise_module, handle: "{zoo}/elementwise_module"}
  - {id: serve_train_graph, handle: "{zoo}/serve_train_graph"}
  - {id: fixed_batch, handle: "{zoo}/fixed_batch"}
  - {id: varlen_serving, handle: "{zoo}/varlen_serving"}
  - {id: sparse_triplets, handle: "{zoo}/sparse_triplets"}
  - {id: keras_two_inputs, handle: "{zoo}/keras_two_inputs"}
  - {id: no_trainable, handle: "{zoo}/no_trainable"}
"""


@pytest.fixture
def one_line_matrix(tmp_path):
    with open(os.path.join(ROOT, "matrix.yaml")) as stream:
        text = stream.read()
    settings = text.split("\nmodels:\n")[0].replace("expectations: expectations.yaml",
                                                    "expectations: %s" % os.path.join(ROOT, "expectations.yaml"))
    path = tmp_path / "matrix.yaml"
    path.write_text(settings + "\n" + ONE_LINE_MODELS)
    return str(path)


def run_runtime(python, runtime, matrix, zoo_dir, tmp_path):
    command = [python, "-m", "pytest", "cases", "--runtime", runtime, "--matrix", matrix, "--zoo", zoo_dir,
               "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "--reports", str(tmp_path / "reports"),
               "--run-id", "one-line", "-k", "cpu"]
    env = dict(os.environ, TFHUB_CACHE_DIR=str(tmp_path / "tfhub_cache"))
    env.pop("CONFORMANCE_RUN_ID", None)
    result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=900)
    cases = {}
    for path in glob.glob(str(tmp_path / "reports" / "runs" / "one-line" / runtime / "*.json")):
        with open(path) as stream:
            cases.update(json.load(stream)["cases"])
    return result, cases


def _assert_walked(result, cases, runtime):
    assert cases, result.stdout[-3000:]
    errors = {case: entry.get("message", "")[:300] for case, entry in cases.items() if entry["status"] == "error"}
    assert errors == {}, "harness errors on one-line entries: %s" % errors
    assert result.returncode == 0, result.stdout[-3000:]
    checks = {case.split("[")[0] for case in cases}
    assert {"load", "train"} <= checks, checks
    generic = [case for case, entry in cases.items() if re.search(r"\]: error:", entry.get("message", ""))]
    assert generic == [], "failures with the generic cause: %s" % generic


def test_one_line_entries_run_every_check_in_tf115_graph(one_line_matrix, zoo_dir, tmp_path):
    if not os.path.isfile(TF115):
        pytest.skip("needs the tf1.15-graph env (`tox -p` creates it)")
    result, cases = run_runtime(TF115, "tf1.15-graph", one_line_matrix, zoo_dir, tmp_path)
    _assert_walked(result, cases, "tf1.15-graph")
    serving = cases["load[legacy_saved_model-tf1.15-graph-cpu-saved_model]"]
    assert serving["status"] == "pass", "the TF1 loader needs tags; the files say [serve]"
    assert (serving["tags"], serving["tags_from_files"]) == (["serve"], True)
    module = cases["load[text_embed-tf1.15-graph-cpu-hub.Module]"]
    assert module["status"] == "pass" and module["tags"] == [], "a Hub module's default variant, not {train}"
    assert cases["load[text_embed_url-tf1.15-graph-cpu-hub.Module]"]["status"] == "pass"
    assert cases["train[text_embed-tf1.15-graph-cpu-hub.Module]"]["status"] in ("pass", "xfail")
    assert "semantics[estimator_tf1-tf1.15-graph-cpu-saved_model-predict]" in cases
    elementwise = cases["load[elementwise_module-tf1.15-graph-cpu-hub.Module]"]
    assert elementwise["status"] == "pass", "an input of unknown rank is given a shape that runs"
    assert elementwise["signatures"]["default"]["inputs_found"]["shapes"] == {"x": [2]}
    both = cases["load[serve_train_graph-tf1.15-graph-cpu-saved_model]"]
    assert both["status"] == "pass" and both["tags"] == ["serve", "train"], "the one meta graph there is"
    assert cases["load[varlen_serving-tf1.15-graph-cpu-saved_model]"]["status"] == "pass", \
        "one value per VarLen feature: the graph densifies it to [batch, 1]"


def test_one_line_entries_run_every_check_in_tf221(one_line_matrix, zoo_dir, tmp_path):
    result, cases = run_runtime(sys.executable, "tf2.21", one_line_matrix, zoo_dir, tmp_path)
    _assert_walked(result, cases, "tf2.21")
    assert {"cluster", "semantics"} <= {case.split("[")[0] for case in cases}
    for api in ("hub.load", "hub.KerasLayer", "saved_model"):
        loaded = cases["load[estimator_tf1-tf2.21-cpu-%s]" % api]
        assert loaded["status"] == "pass", (api, loaded.get("message"))
        assert loaded["tags"] == ["serve"] and loaded["tags_from_files"] is True
    assert cases["load[text_embed_url-tf2.21-cpu-hub.load]"]["tags"] == []
    fixed = cases["load[fixed_batch-tf2.21-cpu-hub.load]"]
    assert fixed["status"] == "pass", "an output exported for a batch of one: batch 1 is found"
    assert fixed["signatures"]["serving_default"]["inputs_found"]["batch"] == 1
    assert fixed["signatures"]["serving_default"]["inputs_found"]["tried"] == ["batch 2: shape-mismatch"]
    for api in ("hub.load", "hub.KerasLayer", "saved_model"):
        assert cases["load[sparse_triplets-tf2.21-cpu-%s]" % api]["status"] == "pass", \
            "flattened sparse parts are fed as one consistent SparseTensor"
        assert cases["load[keras_two_inputs-tf2.21-cpu-%s]" % api]["status"] == "pass", \
            "__call__ gets the list of inputs it was saved with"
    assert cases["train[no_trainable-tf2.21-cpu-hub.load]"]["status"] == "skip"
    assert cases["cluster[no_trainable-tf2.21-cpu-hub.load-shared]"]["status"] == "skip"
