"""Run ids: ``20261124T061200Z-1a2b`` (UTC start, sortable) shared by every runtime of one run."""
import os
import time
from typing import Optional


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-%04x" % (os.getpid() & 0xFFFF)


def latest_run(reports: str) -> Optional[str]:
    runs = os.path.join(reports, "runs")
    names = sorted(n for n in os.listdir(runs) if not n.startswith(".")) if os.path.isdir(runs) else []
    return names[-1] if names else None
