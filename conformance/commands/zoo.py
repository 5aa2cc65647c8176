"""``zoo``: build the stale zoo models the matrix uses, each inside its writer runtime's pinned packages
(a throwaway venv installed by uv with the runtime's overrides, so that it holds one TensorFlow as the
runtime's tox env does). A matrix of your own models only builds nothing."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List

from filelock import FileLock

from conformance.matrix import load_matrix
from conformance.pythons import find_python
from conformance.versions import overrides as overrides_of
from conformance.zoo import store
from conformance.zoo.catalog import ZOO, ZooModel, build_hash, by_name, default_zoo_dir, writer_pins

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAMEWORK_REQUIREMENTS = ["pyyaml", "jsonschema", "packaging", "filelock",
                          "importlib-metadata; python_version < '3.8'"]


def register(commands) -> None:
    parser = commands.add_parser("zoo", help="build the project's model zoo (cached by builder hash)")
    parser.add_argument("--zoo", default=None, help="zoo directory (default: $CONFORMANCE_ZOO_DIR or .zoo)")
    parser.add_argument("--force", action="store_true", help="rebuild every model")
    parser.set_defaults(run=run)


def _uv() -> str:
    found = shutil.which("uv")
    if not found:
        raise SystemExit("zoo: `uv` is not on PATH (pip install uv): it builds each model in its writer runtime")
    return found


_ZOO_HANDLE = re.compile(r"^\{zoo(?:_url)?\}/([A-Za-z0-9_.-]+?)(?:\.tar\.gz)?/?$")


def wanted_models(matrix) -> List[ZooModel]:
    """The zoo models the matrix's handles name (``{zoo}/NAME``, ``{zoo_url}/NAME.tar.gz``): your own
    models never cost a zoo build."""
    names = {found.group(1) for found in (_ZOO_HANDLE.match(m.handle) for m in matrix.models) if found}
    return [model for model in ZOO if model.name in names]


def run(args) -> int:
    matrix = load_matrix(args.matrix)
    wanted = wanted_models(matrix)
    if not wanted:
        print("zoo: no model in %s uses {zoo} or {zoo_url}: nothing to build" % args.matrix)
        return 0
    runtimes = {runtime.id for runtime in matrix.runtimes}
    for model in wanted:
        if model.writer not in runtimes:
            print("zoo: %s: zoo model %s is written by runtime %s, which the matrix does not declare"
                  % (args.matrix, model.name, model.writer), file=sys.stderr)
            return 2
    zoo_dir = os.path.abspath(args.zoo or default_zoo_dir(ROOT))
    os.makedirs(zoo_dir, exist_ok=True)
    with FileLock(os.path.join(zoo_dir, ".lock")):
        stale = {}  # type: Dict[str, List[str]]
        for model in wanted:
            writer = matrix.runtime(model.writer)
            if args.force or not store.is_fresh(zoo_dir, model, build_hash(model, writer_pins(model, writer))):
                stale.setdefault(writer.id, []).append(model.name)
            else:
                print("zoo: %s is fresh" % model.name)
        for writer_id, names in sorted(stale.items()):
            writer = matrix.runtime(writer_id)
            python = find_python(writer.python)
            if python is None:
                print("zoo: no Python %s found for %s (looked on PATH, in pyenv and uv)" % (writer.python, writer_id),
                      file=sys.stderr)
                return 3
            pins = list(dict.fromkeys(pin for name in names for pin in writer_pins(by_name(name), writer)))
            with tempfile.TemporaryDirectory(prefix="hub-conformance-writer-") as scratch:
                result = _build_in(writer, pins, python, scratch, names, zoo_dir, args.matrix)
            if result != 0:
                print("zoo: building %s in %s failed (exit %d)" % (", ".join(names), writer_id, result),
                      file=sys.stderr)
                return result
    return 0


def _build_in(writer, pins: List[str], python: str, scratch: str, names: List[str], zoo_dir: str,
              matrix_path: str) -> int:
    """Install ``pins`` (the writer runtime's packages and the op libraries these models need) with the uv
    overrides that keep one TensorFlow into a venv in ``scratch``, then build there (from uv's cache this
    takes seconds: its files are hard links)."""
    env = dict(os.environ, PYTHONPATH=ROOT, **dict(writer.env))
    env.pop("VIRTUAL_ENV", None)
    env.pop("UV_OVERRIDE", None)
    venv = os.path.join(scratch, "venv")
    overrides = os.path.join(scratch, "overrides.txt")
    with open(overrides, "w") as stream:
        stream.write("\n".join(overrides_of(pins)) + "\n")
    interpreter = os.path.join(venv, "bin", "python")
    print("zoo: building %s in %s" % (", ".join(names), writer.id), flush=True)
    for command in ([_uv(), "venv", "--quiet", "--python", python, venv],
                    [_uv(), "pip", "install", "--quiet", "--python", interpreter, "--override", overrides]
                    + pins + FRAMEWORK_REQUIREMENTS,
                    [interpreter, "-m", "conformance.zoo.build", "--zoo", zoo_dir, "--matrix",
                     os.path.abspath(matrix_path), "--runtime", writer.id] + names):
        result = subprocess.run(command, env=env, cwd=ROOT)
        if result.returncode != 0:
            return result.returncode
    return 0
