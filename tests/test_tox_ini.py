"""tox.ini is generated from matrix.yaml; this test fails when they drift apart."""
import configparser

from conformance.commands.tox_ini import render, render_overrides
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


def test_each_env_installs_with_its_runtimes_committed_overrides():
    """UV_OVERRIDE names overrides/<runtime>.txt, generated with tox.ini: what keeps hub's and tf-keras's own
    requirements from installing a second TensorFlow."""
    matrix = load_matrix("matrix.yaml")
    generated = render_overrides(matrix)
    for path, text in generated.items():
        with open(path) as stream:
            assert stream.read() == text, "run `python -m conformance tox-ini`"
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(render(matrix))
    for runtime in matrix.runtimes:
        set_env = [line.strip() for line in ini["testenv:%s" % runtime.id]["set_env"].splitlines()]
        assert "UV_OVERRIDE = {tox_root}/overrides/%s.txt" % runtime.id in set_env
        lines = [line for line in generated["overrides/%s.txt" % runtime.id].splitlines() if not line.startswith("#")]
        assert lines == runtime.overrides
    assert "UV_OVERRIDE = {tox_root}/overrides/tf2.21.txt" in ini["testenv:tests"]["set_env"]


def test_check_names_an_overrides_file_of_no_runtime(tmp_path, capsys):
    import shutil

    from conformance.__main__ import main

    shutil.copy("matrix.yaml", str(tmp_path / "matrix.yaml"))
    shutil.copy("expectations.yaml", str(tmp_path / "expectations.yaml"))
    output = str(tmp_path / "tox.ini")
    assert main(["--matrix", str(tmp_path / "matrix.yaml"), "tox-ini", "--output", output]) == 0
    assert main(["--matrix", str(tmp_path / "matrix.yaml"), "tox-ini", "--output", output, "--check"]) == 0
    (tmp_path / "overrides" / "tf9.txt").write_text("tensorflow\n")
    capsys.readouterr()
    assert main(["--matrix", str(tmp_path / "matrix.yaml"), "tox-ini", "--output", output, "--check"]) == 1
    assert "overrides/tf9.txt: no runtime tf9 in" in capsys.readouterr().err
