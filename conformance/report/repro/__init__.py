"""A reproduction per failing case: ``<report>/repro/<case>.py`` and the inputs it feeds, a standalone script
(TensorFlow, tensorflow_hub and numpy only) that loads the model as the run did (eager or graph mode, any api),
feeds the recorded inputs and raises the same error; its docstring states the runtime. What a user attaches
to an upstream bug.

Written for every unexpected failure (``--repro-expected``: expected ones too) of a ``load`` case, where the
run recorded what the script needs: the handle, and the inputs unless the load itself failed; and of a
``numeric`` case, whose script also holds the outputs to the reference outputs the compare step saved
(``<case>.reference.npz``) within the run's tolerances and prints those that differ. The report links each
case to its script (``repro`` in results.json).
"""
from __future__ import annotations

import os
import re
import shutil
from typing import Any, Dict, List, Optional

import jinja2

from conformance.observations import safe_stem

FAILED = ("fail", "crash", "timeout", "xfail")
SCRIPTED = ("load", "numeric", "train", "gradient", "step")  # the checks a script is written for
TRAINED = {"train": None, "gradient": "gradients", "step": "variables"}  # a step's script; what it compares
TRAIN_APIS = ("hub.load", "saved_model", "hub.KerasLayer")  # eager fine-tuning steps a script takes
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
    if result.get("check") not in SCRIPTED or result.get("status") not in FAILED:
        return False
    return expected_too or result["status"] != "xfail"


def _python(value: Any) -> str:
    """A Python literal of plain data (JSON's null/true/false are not Python)."""
    return repr(value)


def render(result: Dict[str, Any], info: Dict[str, Any], env: Dict[str, str], run_id: str,
           failure: Dict[str, Any], inputs_name: Optional[str], script_name: str, load: Dict[str, Any],
           reference: Optional[Dict[str, Any]] = None, train: Optional[Dict[str, Any]] = None) -> str:
    """The script; ``load``: the details of the load case of the cell (the case's own for a load case);
    ``reference``: for a numeric case, its ``file`` (in the repro folder), ``label`` and ``tolerances``;
    ``train``: for a train case, its ``variant`` (None, signature, frozen) and the frozen layer's ``output_key``."""
    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance", "templates"),
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    environment.filters["py"] = _python
    error = failure["error"]
    fetched = failure.get("fetched")
    signature = failure["signature"] or result.get("signature") or _default_signature(load)
    mode = info.get("mode", "eager")
    tf1_graph = mode == "graph" and str(info.get("tensorflow", "")).startswith("1.")
    reference = reference or {}
    train = train or {}
    template = "repro_train.py.j2" if result["check"] in TRAINED else "repro.py.j2"
    return environment.get_template(template).render(
        variant=train.get("variant"), output_key=train.get("output_key"), learning_rate=train.get("learning_rate", 0.01),
        compared=train.get("compared"), step=train.get("step", "train"),
        case=result["test"], runtime=result["runtime"], mode=mode, device=result["device"],
        api=result["api"], info=info, run_id=run_id, script_name=script_name,
        distributions=", ".join("%s %s" % item for item in sorted((info.get("distributions") or {}).items()))
        or "(not recorded)",
        env=["%s=%s" % item for item in sorted(env.items())], env_items=sorted(env.items()),
        signature=signature, stage=error.get("stage", "load"), error_type=error.get("type", "?"),
        cause=error.get("cause", "?"), message=" ".join(str(error.get("message", "")).split())[:300],
        handle=load.get("handle"), tags=load.get("tags"), clear_devices=bool(load.get("clear_devices")),
        inputs_file=inputs_name, fetch=fetched if isinstance(fetched, list) else None,
        compile_xla=not tf1_graph, xla_place="/device:XLA_CPU:0" if tf1_graph else "/device:CPU:0",
        reference_file=reference.get("file"), reference_label=reference.get("label", "the reference"),
        tolerances=reference.get("tolerances") or {})


def _default_signature(details: Dict[str, Any]) -> str:
    seen = details.get("signatures_seen") or []
    return "default" if "default" in seen or not seen else ("serving_default" if "serving_default" in seen
                                                            else seen[0])


def _numeric_failure(result: Dict[str, Any], load: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """What a numeric case's script needs: the load case's inputs of the signature, the first difference."""
    compared = (result.get("details") or {}).get("details") or {}
    if load is None or not compared.get("reference_file"):
        return None
    seen = ((load.get("details") or {}).get("signatures") or {}).get(result.get("signature")) or {}
    first = next((d for d in compared.get("differences") or [] if not d.get("ok")), {})
    return {"signature": result.get("signature"), "inputs_file": seen.get("inputs_file"), "fetched": None,
            "error": {"stage": "compare", "type": "numeric difference", "cause": "numeric-drift",
                      "message": "vs %s: %s" % (compared.get("reference"), first.get("line", ""))}}


def _train_failure(result: Dict[str, Any], load: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """What a train case's script needs: the signature its step went through and the load case's inputs of
    it (the step feeds the cell's agreed inputs), its error or the cause its step was held to."""
    record = (result.get("details") or {}).get("train") or {}
    signature = record.get("signature")
    if load is None or not signature:
        return None
    seen = ((load.get("details") or {}).get("signatures") or {}).get(signature) or {}
    if record.get("inputs_fingerprint") and record["inputs_fingerprint"] != seen.get("inputs_fingerprint"):
        return None  # the step fed other inputs than the load case recorded
    error = dict(record.get("error") or {})
    if not error:
        found = re.search(r"\]: ([a-z][a-z0-9-]*): (.*)", result.get("message") or "")
        error = {"cause": found.group(1) if found else "?", "message": found.group(2) if found else
                 result.get("message", "")}
    error.setdefault("stage", "train")
    error.setdefault("type", error.get("cause", "?"))
    error.setdefault("message", error.get("diagnosis", ""))
    return {"signature": signature, "inputs_file": seen.get("inputs_file"), "fetched": None, "error": error}


def _output_key(load: Dict[str, Any], signature: str) -> Optional[str]:
    """The output a frozen layer takes (the run's first float output of the signature)."""
    outputs = (((load.get("details") or {}).get("signatures") or {}).get(signature) or {}).get("description", {})
    outputs = outputs.get("outputs") or {}
    floats = sorted(k for k, info in outputs.items() if str(info.get("dtype", "")).startswith(("float", "half")))
    return floats[0] if floats else None


def _copy_reference(result: Dict[str, Any], runs_root: str, folder: str, name: str,
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


def _inputs_before_loss(result: Dict[str, Any], folder: str) -> Dict[str, Any]:
    """For a case whose executor crashed or hung: the signature it was calling and the inputs it fed, which
    the executor saved before the call (its record of them died with it); the newest inputs file of the cell
    is the call that never returned. Nothing when the loss came before any call."""
    details = result["details"]
    names = {}  # type: Dict[str, str]
    for signature in details.get("signatures_seen") or []:
        cell = "%s-%s-%s-%s" % (result["model"], result["device"], result["api"].replace(".", "_"), signature.strip("_"))
        names["outputs/%s.inputs.npz" % safe_stem(cell)] = signature
    found = [name for name in names if os.path.isfile(os.path.join(folder, name))]
    if not found:
        return {}
    newest = max(found, key=lambda name: os.path.getmtime(os.path.join(folder, name)))
    return {"signature": names[newest], "inputs_file": newest}


def write(document: Dict[str, Any], runs_root: str, output: str, envs: Dict[str, Dict[str, str]],
          expected_too: bool = False) -> List[str]:
    """Write the scripts under ``output``/repro, set each case's ``repro`` (its path in the report); returns
    one line per case that gets none, saying why. ``runs_root``: what results' ``source`` is relative to."""
    folder = os.path.join(output, "repro")
    skipped = []  # type: List[str]
    by_test = {result["test"]: result for result in document["results"]}
    for result in document["results"]:
        if not wanted(result, expected_too):
            continue
        name = stem(result["test"])
        reference = None  # type: Optional[Dict[str, Any]]
        train = None  # type: Optional[Dict[str, Any]]
        mode = (document["run_info"].get(result["runtime"]) or {}).get("mode")
        cell = "%s-%s-%s-%s" % (result["model"], result["runtime"], result["device"], result["api"])
        if result["check"] in TRAINED and (mode == "graph" or result.get("api") not in TRAIN_APIS or
                                           result["check"] != "train" and result.get("signature") != "train"):
            skipped.append("%s: no reproduction (a fine-tuning step %s is not written yet)" % (
                result["test"], "in graph mode" if mode == "graph" else "through %s" % result.get("api")
                if result.get("api") not in TRAIN_APIS else "other than the plain one"))
            continue
        if result["check"] in TRAINED:
            load = by_test.get("load[%s]" % cell)
            step = result if result["check"] == "train" else by_test.get("train[%s]" % cell)
            failure = _train_failure(step, load) if step is not None else None
            if failure is not None:
                record = step["details"].get("train") or {}
                train = {"variant": step.get("signature"), "output_key": _output_key(load, failure["signature"]),
                         "learning_rate": record.get("learning_rate") or 0.01, "compared": TRAINED[result["check"]]}
            if failure is not None and result["check"] != "train":
                compared = (result.get("details") or {}).get("details") or {}
                first = next((d for d in compared.get("differences") or [] if not d.get("ok")), {})
                failure["error"] = {"stage": "compare", "type": "%s difference" % TRAINED[result["check"]],
                                    "cause": "%s-drift" % result["check"],
                                    "message": "vs %s: %s" % (compared.get("reference"), first.get("line", ""))}
                reference = _copy_reference(result, runs_root, folder, name, skipped)
                if reference is None:
                    continue
        elif result["check"] == "numeric":
            load = by_test.get("load[%s-%s-%s-%s]" % (result["model"], result["runtime"], result["device"],
                                                      result["api"]))
            failure = _numeric_failure(result, load)
            if failure is not None:
                reference = _copy_reference(result, runs_root, folder, name, skipped)
                if reference is None:
                    continue
        else:
            load = result
            failure = _first_failure(result.get("details") or {})
            if failure is not None and failure["inputs_file"] is None and result["details"].get("lost"):
                failure.update(_inputs_before_loss(result, os.path.join(runs_root, result.get("source", ""))))
        details = (load or {}).get("details") or {}
        if failure is None or not details.get("handle"):
            skipped.append("%s: no reproduction (the run recorded no handle, error or reference for it)"
                           % result["test"])
            continue
        info = document["run_info"].get(result["runtime"]) or {}
        inputs_name = None
        if failure["inputs_file"]:
            source = os.path.join(runs_root, load.get("source", ""), failure["inputs_file"])
            if not os.path.isfile(source):
                skipped.append("%s: no reproduction (its inputs %s are gone)" % (result["test"], source))
                continue
            inputs_name = name + ".inputs.npz"
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(source, os.path.join(folder, inputs_name))
        os.makedirs(folder, exist_ok=True)
        text = render(result, info, envs.get(result["runtime"], {}), "+".join(document["run_ids"]), failure,
                      inputs_name, name + ".py", details, reference, train)
        with open(os.path.join(folder, name + ".py"), "w") as stream:
            stream.write(text)
        result["repro"] = "repro/%s.py" % name
    return skipped
