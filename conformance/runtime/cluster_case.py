"""Runs one parameter-server case (:mod:`conformance.runtime.cluster`) in a process group of its own, with a
time limit, and ends the group whatever happens: a TF1 ``Server`` cannot be stopped, so no process or port
may outlive the case. Plain Python: the pytest worker calls it without importing TensorFlow."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any, Dict, Mapping, Optional, Sequence

from conformance.runtime.cluster import RESULT_PREFIX
from conformance.runtime.supervisor import stderr_evidence


def _end_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def run_cluster(handle: str, tags: Optional[Sequence[str]], api: str, shared: bool, timeout: float,
                env: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """The case's record: ``outcome`` ok | error | skip | harness-error | timeout | crash, and what it saw."""
    request = json.dumps({"handle": handle, "tags": None if tags is None else list(tags), "api": api,
                          "shared": shared})
    process = subprocess.Popen([sys.executable, "-m", "conformance.runtime.cluster", request],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               env=dict(env if env is not None else os.environ), start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_group(process)
        return {"outcome": "timeout", "message": "the cluster case passed its limit of %gs and was killed "
                                                 "(its process group, servers included)" % timeout,
                "pid": process.pid}
    finally:
        if process.poll() is None or process.returncode is not None:
            _end_group(process)  # the servers' threads die with the group, even if the child left some behind
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        return {"outcome": "crash", "message": "the cluster process ended (exit status %s) without a result: %s"
                % (process.returncode, stderr_evidence(stderr)), "pid": process.pid}
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    result["pid"] = process.pid
    return result
