"""The env-and-case part of ``bisect``: one probe of one TensorFlow build, i.e. a throwaway env holding that
build in place of a runtime's declared TensorFlow (uv venv + uv pip install, with the runtime's other
requirements and its generated overrides, uv's cache shared), and only the bisected case (or cell) run there
by the same pytest cases the runtime runs. The probe's outcome is the case's raw outcome (``pass``,
``fail (<cause>)``, ``skip``, ``crash``...), not its verdict against expectations.

A build that cannot be probed for another reason (no wheel for this Python, an install error, a
tensorflow-hub that does not import with it, a runtime that cannot start) is a skipped probe, with uv's or
pytest's own error line as the reason; each probe's folder (--work) keeps install.log and pytest.log."""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
from typing import Any, Dict, Optional, Tuple

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from conformance.bisect_search import Probe
from conformance.matrix import Matrix, Runtime, load_matrix
from conformance.observations import read_run
from conformance.package_index import kind, nightly_date
from conformance.run_ids import new_run_id
from conformance.yaml_source import SourceError

# Keras companions whose version follows TensorFlow's: a release probe pins the one the runtime declares to
# the probe's minor version, a nightly probe takes the builds uploaded up to the day after the probe's date.
_TF_KERAS = "tf-keras"
_NIGHTLY_COMPANIONS = ("tf-keras-nightly", "keras-nightly", "tb-nightly")
_CAUSE_IN_MESSAGE = re.compile(r"(?:\(|\]: )([a-z][a-z0-9]*(?:-[a-z0-9]+)*): ")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Za-z_]\w*(?:Error|Exception|Exit)\b:? ")
_INSTALL_TIMEOUT = 3600
_CASE_TIMEOUT = 3600


@dataclasses.dataclass(frozen=True)
class Target:
    """What a probe runs: one case (``case`` is its short id, ``load[m-r-d-api]``) or one cell (every case
    of ``model`` × ``runtime`` × ``device``; ``case`` is None)."""
    runtime: str
    model: str
    device: str
    case: Optional[str] = None

    @property
    def name(self) -> str:
        return self.case or "%s/%s/%s" % (self.model, self.runtime, self.device)

    @property
    def keyword(self) -> str:
        """pytest's -k expression selecting it (case names are ``test_<check>[<param>]``)."""
        return "test_" + self.case if self.case else "[%s-%s-%s-" % (self.model, self.runtime, self.device)

    def selects(self, case_id: str, entry: Dict[str, Any]) -> bool:
        if self.case:
            return case_id == self.case
        return (entry.get("model"), entry.get("runtime"), entry.get("device")) == (self.model, self.runtime,
                                                                                    self.device)


def parse_target(text: str, matrix: Matrix) -> Target:
    """A case id (``test_load[hazard-tf2.21-cpu-hub.load]``, its nodeid, or the short ``load[...]``) or a
    cell (``hazard/tf2.21/cpu``) of ``matrix``; raises SourceError naming what was expected."""
    runtimes = sorted((r.id for r in matrix.runtimes), key=len, reverse=True)
    models = sorted((m.id for m in matrix.models), key=len, reverse=True)
    if "[" not in text:
        parts = text.split("/")
        if len(parts) != 3 or parts[0] not in models or parts[1] not in runtimes or parts[2] not in matrix.devices:
            raise SourceError("bisect: %r: expected a case id such as load[hazard-tf2.21-cpu-hub.load] or a cell "
                              "MODEL/RUNTIME/DEVICE of %s" % (text, matrix.path))
        return Target(runtime=parts[1], model=parts[0], device=parts[2])
    name = text.split("::")[-1]
    name = name[len("test_"):] if name.startswith("test_") else name
    check, _, param = name.partition("[")
    param = param.rstrip("]")
    for model in models:
        for runtime in runtimes:
            prefix = "%s-%s-" % (model, runtime)
            if param.startswith(prefix):
                device = param[len(prefix):].split("-", 1)[0]
                if device in matrix.devices:
                    return Target(runtime=runtime, model=model, device=device, case="%s[%s]" % (check, param))
    raise SourceError("bisect: %r: no model and runtime of %s start the case's parameters %r (expected "
                      "MODEL-RUNTIME-DEVICE-API...)" % (text, matrix.path, param))


def build_requirement(text: str, runtime: Runtime) -> Tuple[str, str]:
    """``(distribution, version)`` of an endpoint given as ``tensorflow-cpu==2.17.0`` or as a bare version
    (then of the runtime's own TensorFlow distribution)."""
    try:
        if "==" not in text:
            return canonicalize_name(Requirement(runtime.tensorflow).name), str(Version(text.strip()))
        requirement = Requirement(text)
        pinned = [s.version for s in requirement.specifier if s.operator == "=="]
        if len(pinned) == 1:
            return canonicalize_name(requirement.name), str(Version(pinned[0]))
    except (InvalidRequirement, InvalidVersion):
        pass
    raise SourceError("bisect: %r: expected DISTRIBUTION==VERSION (tensorflow-cpu==2.17.0) or a bare version" % text)


def probe_runtime_entry(entry: Dict[str, Any], distribution: str, version: str) -> Dict[str, Any]:
    """The matrix entry of the runtime with this build as its TensorFlow, and a release's tf-keras pinned to
    the build's minor version (tf-keras 2.21 does not run on TensorFlow 2.17)."""
    entry = dict(entry, tensorflow="%s==%s" % (distribution, version))
    if kind(version) == "release":
        minor = ".".join(version.split(".")[:2])
        extras = []
        for extra in entry.get("extras") or []:
            if canonicalize_name(Requirement(extra).name) == _TF_KERAS:
                extra = "%s~=%s.0" % (_TF_KERAS, minor)
            extras.append(extra)
        entry["extras"] = extras
    return entry


def _absolute(base: str, value: str) -> str:
    if "://" in value or value.startswith("{") or os.path.isabs(value):
        return value
    return os.path.join(base, value)


def write_probe_matrix(matrix_path: str, runtime_id: str, distribution: str, version: str, path: str) -> Matrix:
    """A copy of the matrix whose runtime ``runtime_id`` installs this build (same id, so the case ids are the
    bisected ones), with its relative paths made absolute; returns it loaded (op libraries resolved for the
    build)."""
    with open(matrix_path) as stream:
        document = yaml.safe_load(stream)
    base = os.path.dirname(os.path.abspath(matrix_path))
    document["runtimes"] = [probe_runtime_entry(r, distribution, version) if r.get("id") == runtime_id else r
                            for r in document["runtimes"]]
    names = document.get("expectations") or []
    names = [names] if isinstance(names, str) else names
    document["expectations"] = [_absolute(base, name) for name in names]
    for model in document.get("models") or []:
        model["handle"] = _absolute(base, model["handle"])
    with open(path, "w") as stream:
        yaml.safe_dump(document, stream, sort_keys=False)
    return load_matrix(path)


def _last_line(text: str, limit: int = 300) -> str:
    """What uv's or pytest's output says went wrong, on one line: its first `error:` line with the line that
    explains it (uv's `cause: Because...`), else its last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if line.lower().startswith("error:") or "hub-conformance could not start" in line or "is not what" in line:
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if following.startswith(("cause:", "Caused by:", "\u2570\u2500\u25b6", "Because")):
                line = "%s: %s" % (line.rstrip(":"), following)
            if line.endswith("Traceback (most recent call last):"):  # the exception the traceback ends with
                raised = [later for later in lines[index:] if _EXCEPTION_LINE.match(later)]
                line = line[:-len("Traceback (most recent call last):")] + (raised[-1] if raised else "a traceback")
            return line[:limit]
    return (lines[-1] if lines else "no output")[:limit]


def outcome_of(entry: Dict[str, Any]) -> str:
    """A case's raw outcome: its status (an expected failure is a failure) and the diagnosed cause."""
    status = entry.get("status", "crash")
    status = {"xfail": "fail", "running": "crash"}.get(status, status)
    if status in ("fail", "crash", "timeout"):
        found = _CAUSE_IN_MESSAGE.search(entry.get("message") or "")
        if found:
            return "%s (%s)" % (status, found.group(1))
    return status


class Prober(object):
    """Probes builds of one distribution for one target; each probe in its own env, removed afterwards."""

    def __init__(self, root: str, matrix_path: str, target: Target, distribution: str, work: str, zoo: str,
                 dates: Optional[Dict[str, str]] = None, keep_envs: bool = False, log=None):
        self.root, self.matrix_path, self.target = root, os.path.abspath(matrix_path), target
        self.distribution, self.work, self.zoo = distribution, os.path.abspath(work), os.path.abspath(zoo)
        self.dates = dict(dates or {})
        self.keep_envs = keep_envs
        self.log = log
        self.uv = shutil.which("uv") or "uv"

    def _say(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def _install(self, runtime: Runtime, version: str, env_dir: str) -> Optional[str]:
        """Create the env; the reason when it cannot be."""
        overrides = os.path.join(self.work, "%s-%s.overrides.txt" % (runtime.id, version))
        with open(overrides, "w") as stream:
            stream.write("\n".join(runtime.overrides) + "\n")
        command = [self.uv, "venv", "--quiet", "--python", runtime.python, env_dir]
        made = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if made.returncode != 0:
            return "uv venv --python %s: %s" % (runtime.python, _last_line(made.stdout))
        command = [self.uv, "pip", "install", "--quiet", "--python", os.path.join(env_dir, "bin", "python"),
                   "--override", overrides, "-e", self.root] + runtime.requirements
        if kind(version) == "release":  # tensorflow-hub pulls tf-keras in: the one of this TensorFlow
            constraints = os.path.join(self.work, "%s-%s.constraints.txt" % (runtime.id, version))
            with open(constraints, "w") as stream:
                stream.write("%s~=%s.0\n" % (_TF_KERAS, ".".join(version.split(".")[:2])))
            command += ["--constraint", constraints]
        date = nightly_date(version)
        if date is not None:  # the nightly's Keras builds of its day, not today's
            after = time.strftime("%Y-%m-%d", time.gmtime(time.mktime(time.strptime(date, "%Y-%m-%d")) + 2 * 86400))
            for companion in _NIGHTLY_COMPANIONS:
                command += ["--exclude-newer-package", "%s=%s" % (companion, after)]
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_OVERRIDE")}
        installed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   universal_newlines=True, env=env, timeout=_INSTALL_TIMEOUT)
        with open(os.path.join(os.path.dirname(env_dir), "install.log"), "w") as stream:
            stream.write(" ".join(command) + "\n" + installed.stdout)
        if installed.returncode != 0:
            return "install failed: %s" % _last_line(installed.stdout)
        return None

    def _run_case(self, runtime: Runtime, probe_matrix: str, env_dir: str, reports: str,
                  run_id: str) -> Tuple[int, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("VIRTUAL_ENV", "CONFORMANCE_RUN_ID", "PYTHONPATH", "TF_USE_LEGACY_KERAS")}
        env.update(dict(runtime.env))
        env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", "CONFORMANCE_ZOO_DIR": self.zoo,
                    "PATH": os.path.join(env_dir, "bin") + os.pathsep + env.get("PATH", "")})
        env.setdefault("TFHUB_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "hub-conformance",
                                                       "tfhub"))
        command = [os.path.join(env_dir, "bin", "python"), "-m", "pytest", "cases", "--runtime=%s" % runtime.id,
                   "--matrix", probe_matrix, "--reports", reports, "--run-id", run_id, "--zoo", self.zoo,
                   "--models", self.target.model, "-k", self.target.keyword, "-p", "no:cacheprovider",
                   "-p", "no:xdist", "-q"]
        ran = subprocess.run(command, cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, timeout=_CASE_TIMEOUT)
        with open(os.path.join(os.path.dirname(env_dir), "pytest.log"), "w") as stream:
            stream.write(" ".join(command) + "\n" + ran.stdout)
        return ran.returncode, ran.stdout

    def __call__(self, version: str) -> Probe:
        started = time.time()
        build = "%s==%s" % (self.distribution, version)
        details = {"version": version, "date": self.dates.get(version)}  # type: Dict[str, Any]
        folder = os.path.join(self.work, "%s-%s" % (self.target.runtime, version))
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        env_dir = os.path.join(folder, "env")
        try:
            try:
                runtime = write_probe_matrix(self.matrix_path, self.target.runtime, self.distribution, version,
                                             os.path.join(folder, "matrix.yaml")).runtime(self.target.runtime)
            except SourceError as error:
                return Probe(version, skipped="no runtime for this build: %s" % error,
                             seconds=time.time() - started, details=details)
            self._say("probe %s: installing" % build)
            failed = self._install(runtime, version, env_dir)
            if failed is not None:
                return Probe(version, skipped=failed, seconds=time.time() - started, details=details)
            self._say("probe %s: running %s" % (build, self.target.name))
            reports = os.path.join(folder, "reports")
            run_id = new_run_id()
            code, output = self._run_case(runtime, os.path.join(folder, "matrix.yaml"), env_dir, reports, run_id)
            return self._outcome(version, code, output, reports, run_id, started, details)
        finally:
            if not self.keep_envs:
                shutil.rmtree(env_dir, ignore_errors=True)

    def _outcome(self, version: str, code: int, output: str, reports: str, run_id: str, started: float,
                 details: Dict[str, Any]) -> Probe:
        entries = {}  # type: Dict[str, Dict[str, Any]]
        for _path, document in read_run(reports, run_id):
            info = document.get("run_info") or {}
            if info.get("tensorflow"):
                details.update(tensorflow=info.get("tensorflow"), git_version=info.get("tensorflow_git_version"),
                               distributions=info.get("distributions"))
            entries.update((case_id, entry) for case_id, entry in document.get("cases", {}).items()
                           if self.target.selects(case_id, entry))
        seconds = time.time() - started
        if code not in (0, 1) or not entries:
            why = "pytest exit %d" % code if code not in (0, 1) else "the case did not run"
            return Probe(version, skipped="%s: %s" % (why, _last_line(output)), seconds=seconds, details=details)
        errors = [case_id for case_id, entry in entries.items() if entry.get("status") == "error"]
        if errors:
            return Probe(version, skipped="harness error in %s: %s" % (errors[0], (entries[errors[0]].get("message")
                                                                                   or "")[:200]),
                         seconds=seconds, details=details)
        details["cases"] = {case_id: outcome_of(entry) for case_id, entry in sorted(entries.items())}
        if self.target.case:
            outcome = details["cases"][self.target.case]
        else:
            outcome = ", ".join("%s: %s" % item for item in sorted(details["cases"].items()))
        return Probe(version, outcome=outcome, seconds=seconds, details=details)

