"""A reproduction per failing case: ``<report>/repro/<case>.py`` and the arrays it feeds, a standalone script
(TensorFlow, tensorflow_hub and numpy only) that loads the model as the run did (eager or graph mode, any api),
feeds the recorded inputs and raises the same error or prints the same difference; its docstring states the
runtime. What a user attaches to an upstream bug.

Written for every unexpected failure (``--repro-expected``: expected ones too) of the checks in ``KINDS``, each
kind by its module: ``load`` and ``numeric`` (load.py), ``train``, ``gradient`` and ``step`` (train.py),
``semantics`` and ``cost`` (semantics.py), ``proof`` (proof.py), ``cluster`` (cluster.py). A failing case
that gets none (another check, or what its script needs was not recorded) gets one line saying why. The
report links each case to its script (``repro`` in results.json).
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, List

from conformance.report.repro import cluster, load, proof, semantics, train

FAILED = ("fail", "crash", "timeout", "xfail")
KINDS = {"load": load.script, "numeric": load.numeric_script, "train": train.script, "gradient": train.script,
         "step": train.script, "semantics": semantics.script, "cost": semantics.script, "proof": proof.script,
         "cluster": cluster.script}
SCRIPTED = tuple(KINDS)  # the checks a script is written for
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def stem(case_id: str) -> str:
    """``load[hazard-tf2.21-cpu-hub.load]`` → ``load-hazard-tf2.21-cpu-hub.load``."""
    return _UNSAFE.sub("-", case_id).strip("-")[:180]


def failed(result: Dict[str, Any], expected_too: bool) -> bool:
    """A failure the report owes a script (or a line saying why there is none)."""
    if result.get("status") not in FAILED:
        return False
    return expected_too or result["status"] != "xfail"


def wanted(result: Dict[str, Any], expected_too: bool) -> bool:
    return result.get("check") in KINDS and failed(result, expected_too)


def write(document: Dict[str, Any], runs_root: str, output: str, envs: Dict[str, Dict[str, str]],
          expected_too: bool = False) -> List[str]:
    """Write the scripts under ``output``/repro, set each case's ``repro`` (its path in the report); returns
    one line per failing case that gets none, saying why. ``runs_root``: what results' ``source`` is relative
    to."""
    folder = os.path.join(output, "repro")
    skipped = []  # type: List[str]
    by_test = {result["test"]: result for result in document["results"]}
    for result in document["results"]:
        if not failed(result, expected_too):
            continue
        if result.get("check") not in KINDS:
            skipped.append("%s: no reproduction (no script is written for %s cases yet)"
                           % (result["test"], result.get("check")))
            continue
        name = stem(result["test"])
        info = document["run_info"].get(result["runtime"]) or {}
        context = {"by_test": by_test, "info": info, "env": envs.get(result["runtime"], {}),
                   "run_id": "+".join(document["run_ids"]), "runs_root": runs_root, "folder": folder, "name": name,
                   "skipped": skipped}
        text = KINDS[result["check"]](result, context)
        if text is None:
            continue
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name + ".py"), "w") as stream:
            stream.write(text)
        result["repro"] = "repro/%s.py" % name
    return skipped
