"""Debian packages the README's commands need, found or installed where the machine allows it (root or
passwordless sudo, and apt-get): Chromium for the report's browser test, bubblewrap for the executors'
sandbox. toxfile.py calls :func:`ensure` before an env's commands, so a fresh machine needs nothing by hand.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from typing import List, Optional


class PackageMissing(RuntimeError):
    pass


def find(executable: str) -> Optional[str]:
    return shutil.which(executable) or (os.path.join("/usr/bin", executable)
                                        if os.path.isfile(os.path.join("/usr/bin", executable)) else None)


def _installer() -> Optional[List[str]]:
    if not shutil.which("apt-get"):
        return None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return []
    sudo = shutil.which("sudo")
    if sudo and subprocess.run([sudo, "-n", "true"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL).returncode == 0:
        return [sudo, "-n"]
    return None


def ensure(executable: str, package: str, purpose: str) -> str:
    """The path of ``executable``, installing Debian's ``package`` with apt-get if it is missing."""
    found = find(executable)
    if found:
        return found
    prefix = _installer()
    if prefix is None:
        raise PackageMissing("%s needs Debian's %s: install it with `sudo apt-get install %s` (no root or apt-get "
                             "here to do it for you)" % (purpose, package, package))
    with open(os.path.join(tempfile.gettempdir(), "hub-conformance-apt.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # tox -p: several envs at once, one apt-get
        return find(executable) or _install(prefix, executable, package)


def _install(prefix: List[str], executable: str, package: str) -> str:
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(prefix + command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True)
        if done.returncode != 0:
            raise PackageMissing("`%s` failed (exit %d): %s" % (" ".join(command), done.returncode,
                                                                  (done.stderr.strip().splitlines() or [""])[-1]))
    found = find(executable)
    if not found:
        raise PackageMissing("apt-get installed %s but no %s executable is on PATH" % (package, executable))
    return found
