"""Runs one parameter-server case (:mod:`conformance.runtime.cluster`) in a process group of its own, with a
time limit, and ends the group whatever happens: a TF1 ``Server`` cannot be stopped, so no process or port
may outlive the case. Plain Python: the pytest worker calls it without importing TensorFlow."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from conformance.runtime.cluster import RESULT_PREFIX, variant_key
from conformance.runtime.supervisor import stderr_evidence


def _end_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def run_cluster(handle: str, tags: Optional[Sequence[str]], variants: Sequence[Tuple[str, bool, bool]], timeout: float,
                env: Optional[Mapping[str, str]] = None) -> Dict[str, Dict[str, Any]]:
    """Each variant's record (by ``variant_key``): ``outcome`` ok | error | skip | harness-error, or for all of
    them timeout | crash, and what it saw. One process runs every variant of a model (each in its own graph
    and cluster): TensorFlow is imported once."""
    request = json.dumps({"handle": handle, "tags": None if tags is None else list(tags),
                          "variants": [[api, bool(shared), bool(estimator)] for api, shared, estimator in variants]})
    process = subprocess.Popen([sys.executable, "-m", "conformance.runtime.cluster", request],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                               env=dict(env if env is not None else os.environ), start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end_group(process)
        return _everyone(variants, {"outcome": "timeout", "pid": process.pid, "message": "the cluster cases passed "
                                    "their limit of %gs and were killed (their process group, servers included)"
                                    % timeout})
    finally:
        if process.poll() is None or process.returncode is not None:
            _end_group(process)  # the servers' threads die with the group, even if the child left some behind
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        return _everyone(variants, {"outcome": "crash", "pid": process.pid, "message": "the cluster process ended "
                                    "(exit status %s) without a result: %s" % (process.returncode,
                                                                              stderr_evidence(stderr))})
    results = json.loads(lines[-1][len(RESULT_PREFIX):])
    for result in results.values():
        result["pid"] = process.pid
    return results


def _everyone(variants: Sequence[Tuple[str, bool, bool]], result: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {variant_key(*variant): dict(result) for variant in variants}
