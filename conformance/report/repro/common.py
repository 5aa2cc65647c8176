"""What every kind of repro script shares: the templates, the runtime its docstring states, and copying the
arrays it feeds (or is held to) from the run's folder into the report's ``repro/`` folder."""
from __future__ import annotations

import os
import shutil
from typing import Any, Dict, List, Optional

import jinja2


def _python(value: Any) -> str:
    """A Python literal of plain data (JSON's null/true/false are not Python)."""
    return repr(value)


def render(template: str, **context: Any) -> str:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance", "templates"),
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    environment.filters["py"] = _python
    return environment.get_template(template).render(**context)


def header(result: Dict[str, Any], info: Dict[str, Any], env: Dict[str, str], run_id: str, script_name: str,
           error: Dict[str, Any], signature: str, load: Dict[str, Any], inputs_file: Optional[str]) -> Dict[str, Any]:
    """The context repro_header.py.j2 takes: the runtime, the recorded error, the handle and the inputs."""
    return dict(
        case=result["test"], runtime=result["runtime"], mode=info.get("mode", "eager"), device=result["device"],
        api=result["api"], info=info, run_id=run_id, script_name=script_name,
        distributions=", ".join("%s %s" % item for item in sorted((info.get("distributions") or {}).items()))
        or "(not recorded)",
        env=["%s=%s" % item for item in sorted(env.items())], env_items=sorted(env.items()),
        signature=signature, stage=error.get("stage", "load"), error_type=error.get("type", "?"),
        cause=error.get("cause", "?"), message=" ".join(str(error.get("message", "")).split())[:300],
        handle=load.get("handle"), tags=load.get("tags"), inputs_file=inputs_file)


def signature_inputs(load: Optional[Dict[str, Any]], signature: str,
                     fingerprint: Optional[str] = None) -> Optional[str]:
    """The inputs file the load case of the cell recorded for ``signature`` (None if it recorded none, or
    other inputs than ``fingerprint``, those the case itself fed)."""
    seen = (((load or {}).get("details") or {}).get("signatures") or {}).get(signature) or {}
    if fingerprint and seen.get("inputs_fingerprint") and seen["inputs_fingerprint"] != fingerprint:
        return None
    return seen.get("inputs_file")


def copy_inputs(runs_root: str, source: Dict[str, Any], inputs_file: str, folder: str, name: str,
                test: str, skipped: List[str]) -> Optional[str]:
    """Copy a recorded inputs file beside the script as ``<name>.inputs.npz``; None (and why, in
    ``skipped``) when it is gone."""
    path = os.path.join(runs_root, source.get("source", ""), inputs_file)
    if not os.path.isfile(path):
        skipped.append("%s: no reproduction (its inputs %s are gone)" % (test, path))
        return None
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(path, os.path.join(folder, name + ".inputs.npz"))
    return name + ".inputs.npz"


def copy_reference(result: Dict[str, Any], runs_root: str, folder: str, name: str,
                   skipped: List[str]) -> Optional[Dict[str, Any]]:
    """Copy the reference arrays a compare case saved into the repro folder; None (and why, in ``skipped``)
    when they are not there."""
    compared = (result.get("details") or {}).get("details") or {}
    source = os.path.join(runs_root, result.get("source", ""), compared.get("reference_file") or "")
    if not compared.get("reference_file") or not os.path.isfile(source):
        skipped.append("%s: no reproduction (its reference arrays %s are gone)" % (result["test"], source))
        return None
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(source, os.path.join(folder, name + ".reference.npz"))
    return {"file": name + ".reference.npz", "label": compared.get("reference"),
            "tolerances": compared.get("tolerances") or {}}


def cell_of(result: Dict[str, Any]) -> str:
    """``model-runtime-device-api``: the suffix of the cell's load case id."""
    return "%s-%s-%s-%s" % (result["model"], result["runtime"], result["device"], result["api"])
