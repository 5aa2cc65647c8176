"""Debian's Chromium for the report's browser test: found, or installed where the machine allows it.

Playwright never downloads a browser here (its CDN is not a package registry); Debian's ``chromium``
package is. ``tox -e tests`` calls :func:`ensure` before its commands (toxfile.py), so the README's commands
set up everything on a fresh machine, as root or with passwordless sudo.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from typing import List, Optional

PACKAGE = "chromium"


class ChromiumMissing(RuntimeError):
    pass


def find() -> Optional[str]:
    return shutil.which("chromium") or ("/usr/bin/chromium" if os.path.isfile("/usr/bin/chromium") else None)


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


def ensure() -> str:
    """The chromium executable, installing Debian's package with apt-get if it is missing."""
    found = find()
    if found:
        return found
    prefix = _installer()
    if prefix is None:
        raise ChromiumMissing("the report's browser test needs Debian's chromium: install it with "
                              "`sudo apt-get install chromium` (no root or apt-get here to do it for you)")
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", PACKAGE]):
        done = subprocess.run(prefix + command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              universal_newlines=True)
        if done.returncode != 0:
            raise ChromiumMissing("`%s` failed (exit %d): %s" % (" ".join(command), done.returncode,
                                                                   (done.stderr.strip().splitlines() or [""])[-1]))
    found = find()
    if not found:
        raise ChromiumMissing("apt-get installed %s but no chromium executable is on PATH" % PACKAGE)
    return found
