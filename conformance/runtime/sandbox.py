"""The sandbox every executor runs in, under the untrusted-op scan.

With bubblewrap (``bwrap``, Debian's ``bubblewrap``), the fork server (and so every executor and cluster
process forked from it) starts in new network, IPC and UTS namespaces and a new root: no network but its own
loopback; it reads only the system's libraries (``/usr``, the ``/lib`` links, a few ``/etc`` files), the
runtime's Python and env, the project's folder (the matrix, the framework) and the models' places; it writes
only its scratch folder (its ``TMPDIR``) and its output folder. Everything else (``/etc/hostname``, ``$HOME``,
other folders under ``/tmp``) does not exist there, and its root is read-only.

Where it is in force, a model may run ops outside the allow list: the sandbox stops what they try, and the
case says which ops ran. Where it is not (no bwrap, or ``CONFORMANCE_SANDBOX=off``), such a model is
``untrusted-op`` unless matrix.yaml says ``trust: true``; run_info says which protection was in force.
URL handles are fetched before the sandbox starts (a process that never loads a model), since the sandbox
has no network.

This module is plain Python: it only builds the command line.
"""
from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

SANDBOX_ENV = "CONFORMANCE_SANDBOX"  # "auto" (default), "bubblewrap" (required), "off"
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
                "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/alternatives")
GPU_DEVICES = ("/dev/nvidia*", "/dev/dri")


class SandboxUnavailable(RuntimeError):
    """``CONFORMANCE_SANDBOX=bubblewrap`` where bubblewrap cannot run."""


@dataclass(frozen=True)
class Sandbox:
    kind: str  # "bubblewrap" or "none"
    why: str = ""  # why there is none
    reads: List[str] = field(default_factory=list)
    writes: List[str] = field(default_factory=list)

    @property
    def in_force(self) -> bool:
        return self.kind != "none"

    def run_info(self) -> Dict[str, Any]:
        if not self.in_force:
            return {"kind": "none", "why": self.why}
        return {"kind": self.kind, "network": "none (own loopback)", "reads": list(self.reads),
                "writes": list(self.writes)}

    def command(self, argv: List[str]) -> List[str]:
        """``argv`` run inside the sandbox (as it is where there is none)."""
        if not self.in_force:
            return list(argv)
        # Its own pid namespace and /proc: no /proc/<pid>/root of a process outside leads back to the host's
        # files (forkserver.py finds its children's pids as seen from outside).
        args = ["bwrap", "--die-with-parent", "--new-session", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-pid",
                "--ro-bind", "/usr", "/usr"]
        for path in SYSTEM_LINKS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for path in SYSTEM_FILES:
            args += ["--ro-bind-try", path, path]
        args += ["--dev", "/dev", "--proc", "/proc", "--ro-bind", "/sys", "/sys"]
        for pattern in GPU_DEVICES:
            for path in sorted(glob.glob(pattern)):
                args += ["--dev-bind-try", path, path]
        # Parents before children, so that a writable folder inside a readable one stays writable.
        places = [(path, "--ro-bind") for path in self.reads] + [(path, "--bind") for path in self.writes]
        for path, how in sorted(places, key=lambda place: (place[0].count(os.sep), place[1] == "--bind")):
            args += [how, path, path]
        # The new root (a tmpfs holding the mount points) read-only: writes go to the writable folders only;
        # temporary files to the first of them (its scratch folder).
        args += ["--remount-ro", "/"]
        if self.writes:
            args += ["--setenv", "TMPDIR", self.writes[0]]
        return args + ["--chdir", os.getcwd(), "--"] + list(argv)


def _existing(paths: Iterable[str]) -> List[str]:
    """Real, existing, distinct paths, none inside another of the list."""
    found = sorted({os.path.realpath(path) for path in paths if path and os.path.exists(path)})
    return [path for path in found if not any(path.startswith(other.rstrip(os.sep) + os.sep)
                                              for other in found if other != path)]


def runtime_places() -> List[str]:
    """Where this Python and its env live (the env's interpreter is a link into a Python installation)."""
    executable = os.path.realpath(sys.executable)
    return [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(executable))] + \
        [path for path in sys.path if path and os.path.isdir(path) and path.rstrip(os.sep) not in ("", "/tmp")]


@functools.lru_cache(maxsize=None)
def _bubblewrap_problem() -> Optional[str]:
    """None where bubblewrap can make a sandbox here, else why not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed: `apt-get install bubblewrap`"
    try:
        done = subprocess.run(["bwrap", "--unshare-net", "--ro-bind", "/", "/", "true"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return "bwrap did not run: %s" % error
    if done.returncode != 0:
        return "bwrap cannot make namespaces here: %s" % (done.stderr.strip().splitlines() or ["?"])[-1]
    return None


def choose(reads: Iterable[str], writes: List[str]) -> Sandbox:
    """The protection in force for this run (``CONFORMANCE_SANDBOX``: auto, bubblewrap or off); the first of
    ``writes`` is its scratch folder."""
    wanted = os.environ.get(SANDBOX_ENV, "auto")
    if wanted not in ("auto", "bubblewrap", "off"):
        raise SandboxUnavailable("%s=%s: expected auto, bubblewrap or off" % (SANDBOX_ENV, wanted))
    if wanted == "off":
        return Sandbox("none", "turned off by %s=off" % SANDBOX_ENV)
    problem = _bubblewrap_problem()
    if problem is not None:
        if wanted == "bubblewrap":
            raise SandboxUnavailable("%s=bubblewrap, but %s" % (SANDBOX_ENV, problem))
        return Sandbox("none", problem)
    for path in writes:
        os.makedirs(path, exist_ok=True)  # a folder made later would not be in the sandbox
    scratch = list(writes)[:1]  # TMPDIR: kept first
    writes = scratch + [path for path in _existing(writes) if path not in map(os.path.realpath, scratch)]
    reads = [path for path in _existing(list(reads) + runtime_places()) if path not in writes]
    return Sandbox("bubblewrap", reads=reads, writes=writes)


def summary_line() -> str:
    """One line for the terminal: which protection the executors run under, or why none."""
    try:
        chosen = choose([], [])
    except SandboxUnavailable as error:
        return "sandbox: %s" % error
    if chosen.in_force:
        return ("sandbox: bubblewrap (no network; reads the runtime, the project and the models; writes its "
                "output folder)")
    return ("sandbox: none, %s; a model with ops outside the allow list is untrusted-op unless `trust: true`"
            % chosen.why)
