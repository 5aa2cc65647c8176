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
    """Places to look, in order: PATH, pyenv's versions, uv-managed interpreters."""
    found = []
    on_path = shutil.which("python%s" % version)
    if on_path:
        found.append(on_path)
    roots = [os.environ.get("PYENV_ROOT"), os.path.expanduser("~/.pyenv")]
    for root in [r for r in roots if r]:
        found.extend(sorted(glob.glob(os.path.join(root, "versions", "%s.*" % version, "bin",
                                                   "python%s" % version)), reverse=True))
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
