"""A reproduction per failing load case: ``<report>/repro/<case>.py`` and the inputs it feeds, a standalone
script (TensorFlow, tensorflow_hub and numpy only) that loads the model as the run did, feeds the recorded
inputs and raises the same error; its docstring states the runtime. What a user attaches to an upstream bug.

Written for every unexpected failure of a ``load`` case (``--repro-expected``: expected ones too), where the
run recorded what the script needs: the handle, and the inputs unless the load itself failed. The report
links each case to its script (``repro`` in results.json).
"""
from __future__ import annotations

import os
import re
import shutil
from typing import Any, Dict, List, Optional

import jinja2

FAILED = ("fail", "crash", "timeout", "xfail")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def stem(case_id: str) -> str:
    """``load[hazard-tf2.21-cpu-hub.load]`` → ``load-hazard-tf2.21-cpu-hub.load``."""
    return _UNSAFE.sub("-", case_id).strip("-")[:180]


def _first_failure(details: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """(signature, stage, error, inputs file) of the first failing signature, or of the load itself."""
    if details.get("error"):
        return {"signature": None, "error": details["error"], "inputs_file": None, "fetched": None}
    for name, seen in sorted((details.get("signatures") or {}).items()):
        if seen.get("error"):
            return {"signature": name, "error": seen["error"], "inputs_file": seen.get("inputs_file"),
                    "fetched": seen.get("fetched")}
    return None


def wanted(result: Dict[str, Any], expected_too: bool) -> bool:
    if result.get("check") != "load" or result.get("status") not in FAILED:
        return False
    return expected_too or result["status"] != "xfail"


def render(result: Dict[str, Any], info: Dict[str, Any], env: Dict[str, str], run_id: str,
           failure: Dict[str, Any], inputs_name: Optional[str], script_name: str) -> str:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance", "templates"),
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    details = result["details"]
    error = failure["error"]
    fetched = failure.get("fetched")
    signature = failure["signature"] or result.get("signature") or _default_signature(details)
    return environment.get_template("repro.py.j2").render(
        case=result["test"], runtime=result["runtime"], mode=info.get("mode", "eager"), device=result["device"],
        api=result["api"], info=info, run_id=run_id, script_name=script_name,
        distributions=", ".join("%s %s" % item for item in sorted((info.get("distributions") or {}).items()))
        or "(not recorded)",
        env=["%s=%s" % item for item in sorted(env.items())], env_items=sorted(env.items()),
        signature=signature, stage=error.get("stage", "load"), error_type=error.get("type", "?"),
        cause=error.get("cause", "?"), message=" ".join(str(error.get("message", "")).split())[:300],
        handle=details.get("handle"), tags=details.get("tags"), clear_devices=bool(details.get("clear_devices")),
        inputs_file=inputs_name, fetch=fetched if isinstance(fetched, list) else None)


def _default_signature(details: Dict[str, Any]) -> str:
    seen = details.get("signatures_seen") or []
    return "default" if "default" in seen or not seen else ("serving_default" if "serving_default" in seen
                                                            else seen[0])


def write(document: Dict[str, Any], runs_root: str, output: str, envs: Dict[str, Dict[str, str]],
          expected_too: bool = False) -> List[str]:
    """Write the scripts under ``output``/repro, set each case's ``repro`` (its path in the report); returns
    one line per case that gets none, saying why. ``runs_root``: what results' ``source`` is relative to."""
    folder = os.path.join(output, "repro")
    skipped = []  # type: List[str]
    for result in document["results"]:
        if not wanted(result, expected_too):
            continue
        details = result.get("details") or {}
        failure = _first_failure(details)
        if failure is None or not details.get("handle"):
            skipped.append("%s: no reproduction (the run recorded no handle or error for it)" % result["test"])
            continue
        info = document["run_info"].get(result["runtime"]) or {}
        if info.get("mode") == "graph" and result.get("api") in ("hub.load", "hub.KerasLayer"):
            skipped.append("%s: no reproduction (%s in graph mode is not written yet)" % (result["test"],
                                                                                       result["api"]))
            continue
        os.makedirs(folder, exist_ok=True)
        name = stem(result["test"])
        inputs_name = None
        if failure["inputs_file"]:
            source = os.path.join(runs_root, result.get("source", ""), failure["inputs_file"])
            if not os.path.isfile(source):
                skipped.append("%s: no reproduction (its inputs %s are gone)" % (result["test"], source))
                continue
            inputs_name = name + ".inputs.npz"
            shutil.copyfile(source, os.path.join(folder, inputs_name))
        text = render(result, info, envs.get(result["runtime"], {}), "+".join(document["run_ids"]), failure,
                      inputs_name, name + ".py")
        with open(os.path.join(folder, name + ".py"), "w") as stream:
            stream.write(text)
        result["repro"] = "repro/%s.py" % name
    return skipped
