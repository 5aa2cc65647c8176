"""The zoo's build hash changes with the builder code and the writer's pins, so stale models rebuild."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from conformance.matrix import load_matrix
from conformance.zoo import store
from conformance.zoo.catalog import ZOO, ZooModel, build_hash, by_name


def test_every_zoo_model_has_a_writer_runtime_and_a_matrix_entry():
    matrix = load_matrix("matrix.yaml")
    handles = " ".join(model.handle for model in matrix.models)
    for model in ZOO:
        matrix.runtime(model.writer)  # raises for an unknown writer
        assert "{zoo}/%s" % model.name in handles


def test_hash_depends_on_pins_arguments_and_code(tmp_path, monkeypatch):
    model = by_name("text_embed")
    base = build_hash(model, ["tensorflow==1.15.5"])
    assert build_hash(model, ["tensorflow==1.15.5"]) == base
    assert build_hash(model, ["tensorflow==1.15.4"]) != base
    twin = ZooModel(model.name, model.builder, model.writer, model.format, kwargs={"scale_weight": 1.0001})
    assert build_hash(twin, ["tensorflow==1.15.5"]) != base
    (tmp_path / "fake_builder.py").write_text("def build(path):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake = ZooModel("fake", "fake_builder:build", "tf2.21", "saved_model_v2")
    before = build_hash(fake, [])
    (tmp_path / "fake_builder.py").write_text("def build(path):\n    return 1\n")
    assert build_hash(fake, []) != before


def test_install_writes_the_stamp_last_and_archives(tmp_path):
    model = ZooModel("tiny", "x:y", "tf2.21", "hub_tf1", archive=True)
    built = tmp_path / "scratch" / "tiny"
    built.mkdir(parents=True)
    (built / "saved_model.pb").write_bytes(b"pb")
    zoo = str(tmp_path / "zoo")
    (tmp_path / "zoo").mkdir()
    assert not store.is_fresh(zoo, model, "h1")
    store.install(zoo, model, str(built), "h1", {"writer": "tf2.21"})
    assert store.is_fresh(zoo, model, "h1") and not store.is_fresh(zoo, model, "h2")
    assert json.loads((tmp_path / "zoo" / "tiny.stamp").read_text())["hash"] == "h1"
    assert (tmp_path / "zoo" / "tiny.tar.gz").stat().st_size > 0


def test_only_the_zoo_models_a_matrix_names_are_built(tmp_path):
    import subprocess
    import sys

    from conformance.commands.zoo import wanted_models
    from conformance.matrix import load_matrix

    assert {m.name for m in wanted_models(load_matrix(os.path.join(ROOT, "matrix.yaml")))} >= {
        "text_embed", "estimator_tf1", "keras_saved"}
    mine = tmp_path / "matrix.yaml"
    mine.write_text('runtimes:\n  - {id: tf2.21, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, '
                    'tensorflow_hub: tensorflow-hub==0.16.1, mode: eager}\nmodels:\n  - {id: mine, handle: /m}\n')
    result = subprocess.run([sys.executable, "-m", "conformance", "--matrix", str(mine), "zoo", "--zoo",
                             str(tmp_path / "zoo")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0 and "nothing to build" in result.stdout, result.stdout
    assert not (tmp_path / "zoo").exists()
