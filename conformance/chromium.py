"""Debian's Chromium for the report's browser test: found, or installed where the machine allows it.

Playwright never downloads a browser here (its CDN is not a package registry); Debian's ``chromium``
package is. ``tox -e tests`` calls :func:`ensure` before its commands (toxfile.py), so the README's commands
set up everything on a fresh machine, as root or with passwordless sudo.
"""
from __future__ import annotations

from typing import Optional

from conformance import debian_packages

PACKAGE = "chromium"
ChromiumMissing = debian_packages.PackageMissing


def find() -> Optional[str]:
    return debian_packages.find("chromium")


def ensure() -> str:
    """The chromium executable, installing Debian's package with apt-get if it is missing."""
    return debian_packages.ensure("chromium", PACKAGE, "the report's browser test")
