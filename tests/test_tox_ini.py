"""tox.ini is generated from matrix.yaml; this test fails when they drift apart."""
import configparser

from conformance.commands.tox_ini import render
from conformance.matrix import load_matrix


def test_committed_tox_ini_is_what_matrix_yaml_generates():
    with open("tox.ini") as stream:
        committed = stream.read()
    assert committed == render(load_matrix("matrix.yaml")), "run `python -m conformance tox-ini`"


def test_one_env_per_runtime_with_its_pins():
    matrix = load_matrix("matrix.yaml")
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(render(matrix))
    for runtime in matrix.runtimes:
        section = ini["testenv:%s" % runtime.id]
        assert section["base_python"] == "python%s" % runtime.python
        assert [line.strip() for line in section["deps"].strip().splitlines()] == runtime.requirements
        assert "--runtime=%s" % runtime.id in section["commands"]
        assert section["depends"] == "zoo"
    env_list = ini["tox"]["env_list"].split()
    assert env_list == ["zoo"] + [r.id for r in matrix.runtimes if r.is_default] + ["compare", "report"]
    assert "tf-nightly" not in env_list and "nightly = zoo, tf-nightly, compare, report" in ini["tox"]["labels"]
    assert set(ini["testenv:compare"]["depends"].split()) == {r.id for r in matrix.runtimes}
