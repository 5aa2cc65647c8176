"""`python -m conformance init PATH...`: a matrix for a user's own models, format and tags read from their
files without TensorFlow, that validates and runs with the shipped runtimes."""
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from conformance.matrix import load_matrix
from conformance.saved_model_header import NotAModel, read

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def init(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "conformance", "--matrix", os.path.join(ROOT, "matrix.yaml"),
                           "init"] + list(args), cwd=cwd, capture_output=True, text=True)


def test_the_header_tells_the_three_formats_apart(zoo_dir):
    hub = read(os.path.join(zoo_dir, "text_embed"))
    assert hub.format == "hub_tf1" and sorted(hub.tag_sets) == [[], ["train"]]
    tf1 = read(os.path.join(zoo_dir, "estimator_tf1"))
    assert (tf1.format, tf1.tag_sets) == ("saved_model_tf1", [["serve"]])
    assert tf1.signatures == [["predict", "serving_default", "tensorflow/serving/regress"]]
    tf2 = read(os.path.join(zoo_dir, "keras_export"))
    assert (tf2.format, tf2.tag_sets, tf2.signatures) == ("saved_model_v2", [["serve"]], [["serve", "serving_default"]])
    assert read(os.path.join(zoo_dir, "text_embed.tar.gz")).format == "hub_tf1"


def test_init_writes_one_line_entries_whose_files_give_format_and_tags(zoo_dir, tmp_path):
    """init writes what the README tells users to write, id and handle; format and tags come from the files
    at run time, and the comment above each entry says what they were read as."""
    from conformance.pytest.runtime import with_detected_facts

    copy = tmp_path / "my model (v2)"
    shutil.copytree(os.path.join(zoo_dir, "keras_export"), str(copy))
    output = tmp_path / "matrix.yaml"
    done = init(os.path.join(zoo_dir, "text_embed"), os.path.join(zoo_dir, "estimator_tf1"), str(copy),
                os.path.join(zoo_dir, "text_embed.tar.gz"), "https://example.org/m/1", "-o", str(output))
    assert done.returncode == 0, done.stderr
    matrix = load_matrix(str(output))
    models = {m.id: m for m in matrix.models}
    assert list(models) == ["text_embed", "estimator_tf1", "my_model_v2", "text_embed_2", "1"]
    assert all(m.format is None and m.tags is None for m in matrix.models), "one line each: id and handle"
    detected = {m.id: m for m in with_detected_facts(matrix, {}).models}
    assert (detected["text_embed"].format, list(detected["text_embed"].tags)) == ("hub_tf1", [])
    assert (detected["estimator_tf1"].format, list(detected["estimator_tf1"].tags)) == ("saved_model_tf1",
                                                                                        ["serve"])
    assert detected["my_model_v2"].format == "saved_model_v2" and models["my_model_v2"].handle == str(copy)
    assert models["1"].handle == "https://example.org/m/1" and detected["1"].tags is None
    assert [r.id for r in matrix.runtimes] == [r.id for r in load_matrix(os.path.join(ROOT, "matrix.yaml")).runtimes]
    text = output.read_text()
    assert "# saved_model_tf1, loaded with tags [serve]; signatures: predict, serving_default, " \
           "tensorflow/serving/regress" in text
    assert matrix.expectations, "the shipped generic expectations apply to the user's models"


def test_init_never_overwrites_without_force(zoo_dir, tmp_path):
    output = tmp_path / "matrix.yaml"
    output.write_text("mine\n")
    refused = init(os.path.join(zoo_dir, "estimator_tf1"), "-o", str(output))
    assert refused.returncode == 2 and "exists" in refused.stderr and output.read_text() == "mine\n"
    assert init(os.path.join(zoo_dir, "estimator_tf1"), "-o", str(output), "--force").returncode == 0


def test_a_path_that_is_not_a_model_is_one_line_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    archive = tmp_path / "junk.tar.gz"
    with tarfile.open(str(archive), "w:gz") as writing:
        writing.add(__file__, arcname="readme.txt")
    for path in (str(tmp_path / "empty"), str(archive), str(tmp_path / "missing")):
        done = init(path, "-o", str(tmp_path / "out.yaml"))
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("error: %s: not a model" % path)
    with pytest.raises(NotAModel):
        from conformance.saved_model_header import parse
        parse(b"\x0f\x00garbage")


def test_a_handle_alone_gets_semantics_cases_for_its_signatures_with_several_outputs(zoo_dir, tmp_path):
    """Semantics and cost cases are generated before any runtime saw the model: its saved_model.pb says which
    signatures have several outputs (one-output signatures have nothing computed unasked)."""
    from conformance.cases import runtime_cases
    from conformance.pytest.runtime import with_detected_facts

    path = tmp_path / "matrix.yaml"
    path.write_text('runtimes:\n  - {id: tf2.21, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, '
                    'tensorflow_hub: tensorflow-hub==0.16.1, mode: eager}\ndevices: [cpu]\napis: [hub.load]\n'
                    'models:\n  - {id: est, handle: "{zoo}/estimator_tf1"}\n'
                    '  - {id: text, handle: "{zoo}/text_embed", tags: []}\n'
                    '  - {id: named, handle: "{zoo}/estimator_tf1", signatures: [predict]}\n'
                    '  - {id: declared, handle: "{zoo}/text_embed", tags: [], signatures: [default, tokens, __call__]}\n'
                    '  - {id: remote, handle: "https://example.org/m/1"}\n')
    matrix = with_detected_facts(load_matrix(str(path)), {"zoo": zoo_dir})
    assert [m.format for m in matrix.models] == ["saved_model_tf1", "hub_tf1", "saved_model_tf1", "hub_tf1", None]
    for check in ("semantics", "cost"):
        signatures = {(c.model, c.signature) for c in runtime_cases(matrix, matrix.runtimes[0], check)}
        # declared: `default` has one output in the module's files (no case); __call__ is not in them (kept)
        assert signatures == {("est", "predict"), ("est", "serving_default"), ("text", "tokens"),
                              ("named", "predict"), ("declared", "tokens"), ("declared", "__call__")}, check
    assert "declared" in {c.model for c in runtime_cases(matrix, matrix.runtimes[0], "load")}


def test_an_entry_without_tags_gets_its_files_default_graph_variant():
    from conformance.saved_model_header import Header

    assert Header("saved_model_tf1", [["serve", "train"]]).default_tags() == ["serve", "train"], "the only one"
    assert Header("hub_tf1", [["train"], []]).default_tags() == [], "a Hub module's default variant"
    assert Header("saved_model_tf1", [["eval"], ["serve"], ["serve", "tpu"]]).default_tags() == ["serve"]
    assert Header("saved_model_tf1", [["eval"], ["serve", "tpu"]]).default_tags() == ["serve", "tpu"]
    assert Header("saved_model_tf1", [["eval"], ["train"]]).default_tags() == ["eval"], "else the first"
    header = Header("hub_tf1", [["train"], []], [["a"], ["b"]], [{"a": 1}, {"b": 2}])
    assert header.variant(None) == 1 and header.variant(["train"]) == 0
