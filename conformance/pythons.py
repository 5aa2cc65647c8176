"""Finding a Python interpreter of a given version on a machine where pyenv has it but PATH does not."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
from typing import List, Optional

REQUIRED_PYTHONS = ("3.7",)  # interpreters the default runtimes need beyond the one running tox


def _works(path: str, version: str) -> bool:
    try:
        out = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.decode().strip() == version


def candidates(version: str) -> List[str]:
    """Places to look, in order: PATH, pyenv's versions, uv-managed interpreters. A pyenv shim on PATH comes
    after pyenv's own interpreters: it is a chain of bash scripts (0.1 s on every tox command) that refuses a
    version not selected."""
    found, shims = [], []
    roots = [r for r in (os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")) if r]
    on_path = shutil.which("python%s" % version)
    if on_path:
        is_shim = any(os.path.dirname(on_path) == os.path.join(root, "shims") for root in roots)
        (shims if is_shim else found).append(on_path)
    for root in roots:
        found.extend(sorted(glob.glob(os.path.join(root, "versions", "%s.*" % version, "bin",
                                                   "python%s" % version)), reverse=True))
    found.extend(shims)
    uv_dir = os.path.expanduser("~/.local/share/uv/python")
    found.extend(sorted(glob.glob(os.path.join(uv_dir, "cpython-%s.*" % version, "bin", "python%s" % version)),
                        reverse=True))
    return found


def find_python(version: str) -> Optional[str]:
    """An interpreter path that really runs ``version`` (pyenv shims that refuse are skipped), or None."""
    for path in candidates(version):
        if _works(path, version):
            return path
    return None
