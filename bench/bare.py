"""A runtime's bare twin as the floor needs it: the tox env's interpreter and environment, without tox.

``tox exec`` costs 0.6 s of CPU per call (six at once: 2.8 s) that the twin's floor must not hold; the
interpreter and the environment tox gives the env's commands (``set_env``: TF_CPP_MIN_LOG_LEVEL,
PYTHONHASHSEED, TFHUB_CACHE_DIR, ...) are asked of tox once, outside any timing.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ASK = "import json, os, sys; print(json.dumps([sys.executable, dict(os.environ)]))"
_known = {}


def interpreter_and_env(runtime):
    """``(python, environ)`` of ``runtime``'s tox env, as its commands see them."""
    if runtime not in _known:
        completed = subprocess.run(["tox", "exec", "-q", "-e", runtime, "--", "python", "-c", _ASK], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("[")]
        if completed.returncode != 0 or not lines:
            sys.exit("bench: tox env %s did not answer (exit %d): %s"
                     % (runtime, completed.returncode, (completed.stderr or completed.stdout)[-2000:]))
        _known[runtime] = tuple(json.loads(lines[-1]))
    return _known[runtime]


def twin_command(runtime, runtime_dir, twin="twin.py"):
    """The command and environment that replay ``runtime_dir`` in ``runtime``'s env (``bench/<twin> --json``:
    ``twin.py``, the load, semantics, cost and proof cases; ``twin_train.py``, the train and cluster cases)."""
    python, environ = interpreter_and_env(runtime)
    return [python, os.path.join(ROOT, "bench", twin), runtime_dir, "--json"], environ
