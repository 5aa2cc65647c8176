"""One TensorFlow per runtime: the uv overrides generated for each runtime, and the check that reads the
installed distributions and stops a runtime whose env has two distributions writing one package.

The doubled envs here are real installs: small wheels built here and installed by uv (as tox-uv installs a
runtime's packages), read back through importlib.metadata."""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from conformance import versions
from conformance.matrix import load_matrix

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEVER = versions.NEVER


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def make_wheel(folder, name, version, files):
    """A pure-Python wheel of distribution ``name`` holding ``files`` ({path: text})."""
    stem = "%s-%s" % (name.replace("-", "_"), version)
    path = os.path.join(str(folder), "%s-py3-none-any.whl" % stem)
    contents = dict((key, value.encode("utf-8")) for key, value in files.items())
    contents["%s.dist-info/METADATA" % stem] = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
                                                % (name, version)).encode("utf-8")
    contents["%s.dist-info/WHEEL" % stem] = (b"Wheel-Version: 1.0\nGenerator: hub-conformance-tests\n"
                                             b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [_record_line(key, data) for key, data in sorted(contents.items())]
    record.append("%s.dist-info/RECORD,," % stem)
    contents["%s.dist-info/RECORD" % stem] = ("\n".join(record) + "\n").encode("utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        for key, data in sorted(contents.items()):
            archive.writestr(key, data)
    return path


def uv_install(target, wheels):
    """Install wheels into ``target`` with uv, one after another (each writes over the last's files)."""
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH (tox-uv installs it): the doubled envs are installed with it"
    env = dict(os.environ)
    env.pop("UV_OVERRIDE", None)  # the tests env's own overrides would remove tf-keras-nightly: doubling it is the point
    for wheel in wheels:
        subprocess.run([uv, "pip", "install", "--quiet", "--offline", "--no-deps", "--python", sys.executable,
                        "--target", str(target), wheel], check=True, env=env)
    assert os.listdir(str(target)), "uv installed nothing into %s" % target
    return str(target)


def test_overrides_keep_the_declared_member_of_each_family_and_remove_the_others():
    matrix = load_matrix(os.path.join(ROOT, "matrix.yaml"))
    legacy = matrix.runtime("tf2.21").overrides
    assert "tensorflow-cpu==2.21.0" in legacy and "tf-keras==2.21.0" in legacy
    assert "tensorflow ; %s" % NEVER in legacy  # what tf-keras 2.21.0 requires
    assert "tf-keras-nightly ; %s" % NEVER in legacy
    nightly = matrix.runtime("tf-nightly").overrides
    assert "tf-nightly" in nightly and "tf-keras-nightly" in nightly
    assert {"tensorflow ; %s" % NEVER, "tf-nightly-cpu ; %s" % NEVER, "tf-keras ; %s" % NEVER} <= set(nightly)
    assert not any(line.startswith(("tf-nightly ;", "tf-keras-nightly ;")) for line in nightly)
    keras3 = matrix.runtime("tf2.21-keras3").overrides  # tf-keras is hub's dependency there, not declared
    assert "tensorflow ; %s" % NEVER in keras3 and not any(line.startswith("tf-keras") for line in keras3)
    assert versions.overrides(["numpy", "tensorflow-hub==0.16.1"]) == []  # no TensorFlow named: nothing to keep


def test_two_distributions_writing_one_package_are_named_and_shared_namespaces_are_not(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    target = uv_install(tmp_path / "site", [
        make_wheel(wheels, "shadow-a", "1.0", {"shadowpkg/__init__.py": "A = 1\n", "nspkg/a.py": ""}),
        make_wheel(wheels, "shadow-b", "2.0.dev3", {"shadowpkg/__init__.py": "B = 1\n", "nspkg/b.py": "",
                                                    "alone.py": ""}),
    ])
    assert versions.duplicates(path=[target]) == ["shadowpkg/ written by 2 distributions: shadow-a 1.0, "
                                                  "shadow-b 2.0.dev3"]
    assert versions.providers(path=[target])["alone.py"] == [("shadow-b", "2.0.dev3")]
    assert versions.duplicates(path=[target, target]) == versions.duplicates(path=[target])  # listed twice: one


@pytest.mark.tensorflow
def test_the_tests_env_holds_one_tensorflow_the_declared_one():
    """The tests env installs tf2.21's packages with tf2.21's overrides (tox.ini): tf-keras 2.21.0 would
    otherwise bring `tensorflow` 2.21.0 next to the declared tensorflow-cpu."""
    assert versions.duplicates() == []
    installed = versions.family_versions()
    assert installed.get("tensorflow-cpu") == "2.21.0" and installed.get("tf-keras") == "2.21.0", installed
    assert "tensorflow" not in installed, installed


def _run_runtime(tmp_path, pythonpath, *args):
    command = [sys.executable, "-m", "pytest", "cases/test_load.py", "-p", "no:cacheprovider", "-q",
               "--reports", str(tmp_path / "reports"), "--run-id", "r1", "--runtime=tf2.21"] + list(args)
    env = dict(os.environ, PYTHONPATH=pythonpath, TFHUB_CACHE_DIR=str(tmp_path / "tfhub_cache"))
    env.pop("CONFORMANCE_RUN_ID", None)
    return subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600)


@pytest.mark.tensorflow
@pytest.mark.parametrize("workers", [["-p", "no:xdist"], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_doubled_env_ends_the_runtime_with_exit_4_and_one_line(tmp_path, zoo_dir, workers):
    """tf-keras-nightly installed over this env's tf-keras 2.21.0, as tox -e tf-nightly did: both write
    tf_keras/. The runtime stops before importing TensorFlow, naming both."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    site = uv_install(tmp_path / "site", [make_wheel(wheels, "tf-keras-nightly", "2.23.0.dev2026102618",
                                                     {"tf_keras/__init__.py": "raise ImportError('shadow')\n"})])
    result = _run_runtime(tmp_path, site, *workers)
    assert result.returncode == 4, result.stdout[-3000:]
    named = [line for line in result.stdout.splitlines() if "is not what" in line]
    assert len(named) == 1, result.stdout[-3000:]
    assert ("runtime tf2.21 is not what %s declares: tf_keras/ written by 2 distributions: tf-keras 2.21.0, "
            "tf-keras-nightly 2.23.0.dev2026102618 (recreate the env: tox -r -e tf2.21)"
            % os.path.join(ROOT, "matrix.yaml")) in named[0], named[0]
    assert "shadow" not in result.stdout.replace("tf-keras-nightly", "")  # stopped before any import of it
