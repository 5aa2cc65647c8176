"""``load`` and ``numeric`` cases: the script loads the model through the same api, in the same mode, compiles
the call for ``xla`` as the run did, feeds the recorded inputs and raises the same error; a numeric case's
script also holds the outputs to the reference outputs the compare step saved (``<case>.reference.npz``)
within the run's tolerances and prints those that differ. ``render`` is shared with the fine-tuning steps
(train.py), whose scripts take the same header."""
from __future__ import annotations

import os
from typing import Any, Dict, Optional

from conformance.observations import safe_stem
from conformance.report.repro.common import cell_of, copy_inputs, copy_reference, header
from conformance.report.repro.common import render as render_template


def _first_failure(details: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """(signature, stage, error, inputs file) of the first failing signature, or of the load itself."""
    if details.get("error"):
        return {"signature": None, "error": details["error"], "inputs_file": None, "fetched": None}
    for name, seen in sorted((details.get("signatures") or {}).items()):
        if seen.get("error"):
            return {"signature": name, "error": seen["error"], "inputs_file": seen.get("inputs_file"),
                    "fetched": seen.get("fetched")}
    return None


def default_signature(details: Dict[str, Any]) -> str:
    seen = details.get("signatures_seen") or []
    return "default" if "default" in seen or not seen else ("serving_default" if "serving_default" in seen
                                                            else seen[0])


def render(result: Dict[str, Any], info: Dict[str, Any], env: Dict[str, str], run_id: str,
           failure: Dict[str, Any], inputs_name: Optional[str], script_name: str, load: Dict[str, Any],
           reference: Optional[Dict[str, Any]] = None, train: Optional[Dict[str, Any]] = None,
           template: str = "repro.py.j2") -> str:
    """The script; ``load``: the details of the load case of the cell (the case's own for a load case);
    ``reference``: for a numeric case, its ``file`` (in the repro folder), ``label`` and ``tolerances``;
    ``train``: for a train case, its ``variant`` (None, signature, frozen) and the frozen layer's ``output_key``."""
    fetched = failure.get("fetched")
    signature = failure["signature"] or result.get("signature") or default_signature(load)
    mode = info.get("mode", "eager")
    tf1_graph = mode == "graph" and str(info.get("tensorflow", "")).startswith("1.")
    reference = reference or {}
    train = train or {}
    context = header(result, info, env, run_id, script_name, failure["error"], signature, load, inputs_name)
    return render_template(
        template, variant=train.get("variant"), output_key=train.get("output_key"),
        learning_rate=train.get("learning_rate", 0.01), compared=train.get("compared"), step=train.get("step", "train"),
        train_tags=train.get("train_tags"), clear_devices=bool(load.get("clear_devices")),
        fetch=fetched if isinstance(fetched, list) else None,
        compile_xla=not tf1_graph, xla_place="/device:XLA_CPU:0" if tf1_graph else "/device:CPU:0",
        reference_file=reference.get("file"), reference_label=reference.get("label", "the reference"),
        tolerances=reference.get("tolerances") or {}, **context)


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


def finish(result: Dict[str, Any], context: Dict[str, Any], load: Optional[Dict[str, Any]],
           failure: Optional[Dict[str, Any]], reference: Optional[Dict[str, Any]] = None,
           train: Optional[Dict[str, Any]] = None, template: str = "repro.py.j2") -> Optional[str]:
    """The script of a load-shaped failure (its inputs copied beside it), or None and why."""
    details = (load or {}).get("details") or {}
    if failure is None or not details.get("handle"):
        context["skipped"].append("%s: no reproduction (the run recorded no handle, error or reference for it)"
                                  % result["test"])
        return None
    inputs_name = None
    if failure["inputs_file"]:
        inputs_name = copy_inputs(context["runs_root"], load, failure["inputs_file"], context["folder"],
                                  context["name"], result["test"], context["skipped"])
        if inputs_name is None:
            return None
    return render(result, context["info"], context["env"], context["run_id"], failure, inputs_name,
                  context["name"] + ".py", details, reference, train, template)


def script(result: Dict[str, Any], context: Dict[str, Any]) -> Optional[str]:
    failure = _first_failure(result.get("details") or {})
    if failure is not None and failure["inputs_file"] is None and result["details"].get("lost"):
        failure.update(_inputs_before_loss(result, os.path.join(context["runs_root"], result.get("source", ""))))
    return finish(result, context, result, failure)


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


def numeric_script(result: Dict[str, Any], context: Dict[str, Any]) -> Optional[str]:
    load = context["by_test"].get("load[%s]" % cell_of(result))
    failure = _numeric_failure(result, load)
    reference = None
    if failure is not None:
        reference = copy_reference(result, context["runs_root"], context["folder"], context["name"],
                                   context["skipped"])
        if reference is None:
            return None
    return finish(result, context, load, failure, reference)
