"""Resident memory of a process, read from Linux /proc (plain Python: both sides of the executor use it)."""
from __future__ import annotations

import os
from typing import Optional, Union


def rss_mb(pid: Union[int, str] = "self") -> Optional[float]:
    """Resident memory in MB of ``pid`` (this process by default), or None where it cannot be read."""
    try:
        with open("/proc/%s/statm" % pid) as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return None
