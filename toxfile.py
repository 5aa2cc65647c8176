"""tox inline plugin (stdlib only: it runs in tox's own interpreter).

- puts the interpreters matrix.yaml needs on PATH: pyenv has Python 3.7 on these machines but its shims
  refuse it unless selected, so tox (and uv under tox-uv) would not find it;
- shares one run id between all envs of a `tox` invocation, and tells them how many run at once;
- under CI (CI=true) a missing interpreter is an error, locally a skip with a reason;
- before the `tests` env runs, Debian's chromium is there for the report's browser test (installed with
  apt-get when missing and the machine allows it), so the README's commands set up a fresh machine.
"""
import os
import sys

from tox.plugin import impl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conformance import chromium, debian_packages  # noqa: E402
from conformance.pythons import REQUIRED_PYTHONS, find_python  # noqa: E402
from conformance.run_ids import new_run_id  # noqa: E402

for _version in REQUIRED_PYTHONS:
    _found = find_python(_version)
    if _found and os.path.dirname(_found) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.path.dirname(_found) + os.pathsep + os.environ.get("PATH", "")

os.environ.setdefault("CONFORMANCE_RUN_ID", new_run_id())

# tox.ini reads `skip_missing_interpreters = {env:CONFORMANCE_SKIP_MISSING_INTERPRETERS:true}`.
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    os.environ.setdefault("CONFORMANCE_SKIP_MISSING_INTERPRETERS", "false")


@impl
def tox_add_core_config(core_conf, state):
    """Tell the envs how many of them run at once, so each sizes its xdist workers (plugin.py)."""
    parallel = getattr(state.conf.options, "parallel", 0)
    if parallel != 0:  # None is `tox -p` / `-p all`: every selected env at once
        os.environ["CONFORMANCE_PARALLEL_ENVS"] = str(parallel or 0)


BROWSER_ENVS = ("tests",)  # the envs whose tests drive Chromium
SANDBOX_ENVS = ("tests", "tests-py37")  # besides the runtime envs: the envs whose executors run in bubblewrap


@impl
def tox_before_run_commands(tox_env):
    if tox_env.name in BROWSER_ENVS:
        try:
            chromium.ensure()
        except chromium.ChromiumMissing as missing:
            raise RuntimeError("%s: %s" % (tox_env.name, missing))
    if tox_env.name in SANDBOX_ENVS or _runs_a_runtime(tox_env):
        try:  # without it the run goes on, unsandboxed: the runtime's terminal summary says so
            debian_packages.ensure("bwrap", "bubblewrap", "the executors' sandbox")
        except debian_packages.PackageMissing as missing:
            print("%s: %s; running without a sandbox" % (tox_env.name, missing))


def _runs_a_runtime(tox_env) -> bool:
    """A runtime env (generated from matrix.yaml: its command runs the cases with ``--runtime=``)."""
    try:
        return any("--runtime=" in str(arg) for command in tox_env.conf["commands"] for arg in command.args)
    except Exception:  # noqa: BLE001 - an env without commands
        return False
