"""``train``, ``gradient`` and ``step`` cases: the fine-tuning step the run took, on the load case's inputs
(repro_train.py.j2). Eager: ``tf.GradientTape`` over ``trainable_variables`` of ``hub.load`` /
``tf.saved_model.load``, or ``hub.KerasLayer`` in a Keras model with a ``Dense(1)`` head fitted on one batch
(and the ``-signature`` and ``-frozen`` variants). Graph mode: ``hub.Module(trainable=True)`` (its ``train``
variant where it has one) or ``hub.load`` / the TF1 loader under ``minimize(var_list=...)`` in a session, and
the same Keras model fitted by Keras in its graph. A ``gradient`` or ``step`` case's script holds the plain
eager step to the reference runtime's arrays the compare step kept."""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

from conformance.report.repro.common import cell_of, copy_reference
from conformance.report.repro.load import finish

TRAINED = {"train": None, "gradient": "gradients", "step": "variables"}  # a step's script; what it compares
EAGER_APIS = ("hub.load", "saved_model", "hub.KerasLayer")  # eager fine-tuning steps a script takes
GRAPH_APIS = ("hub.Module", "hub.load", "saved_model", "hub.KerasLayer")  # graph-mode ones


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


def _not_written(result: Dict[str, Any], mode: str) -> Optional[str]:
    """Why no script is written for this step, or None."""
    api, check = result.get("api"), result["check"]
    if check != "train" and result.get("signature") != "train":
        return "a %s comparison of a step other than the plain one is not written yet" % check
    if mode == "graph" and check != "train":
        return "a %s comparison in graph mode is not written yet (the graph step is)" % check
    if mode == "graph" and api not in GRAPH_APIS or mode != "graph" and api not in EAGER_APIS:
        return "a fine-tuning step through %s in %s mode is not written" % (api, mode)
    if mode == "graph" and api != "hub.KerasLayer" and result.get("signature") not in (None, "train"):
        return "the %s variant is hub.KerasLayer's" % result.get("signature")
    return None


def script(result: Dict[str, Any], context: Dict[str, Any]) -> Optional[str]:
    mode = context["info"].get("mode", "eager")
    why = _not_written(result, mode)
    if why is not None:
        context["skipped"].append("%s: no reproduction (%s)" % (result["test"], why))
        return None
    cell = cell_of(result)
    load = context["by_test"].get("load[%s]" % cell)
    step = result if result["check"] == "train" else context["by_test"].get("train[%s]" % cell)
    failure = _train_failure(step, load) if step is not None else None
    train, reference = None, None
    if failure is not None:
        record = step["details"].get("train") or {}
        train = {"variant": step.get("signature"), "output_key": _output_key(load, failure["signature"]),
                 "learning_rate": record.get("learning_rate") or 0.01, "compared": TRAINED[result["check"]],
                 "train_tags": record.get("tags")}
    if failure is not None and result["check"] != "train":
        compared = (result.get("details") or {}).get("details") or {}
        first = next((d for d in compared.get("differences") or [] if not d.get("ok")), {})
        failure["error"] = {"stage": "compare", "type": "%s difference" % TRAINED[result["check"]],
                            "cause": "%s-drift" % result["check"],
                            "message": "vs %s: %s" % (compared.get("reference"), first.get("line", ""))}
        reference = copy_reference(result, context["runs_root"], context["folder"], context["name"],
                                   context["skipped"])
        if reference is None:
            return None
    return finish(result, context, load, failure, reference, train, template="repro_train.py.j2")
