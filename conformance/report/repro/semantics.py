"""``semantics`` and ``cost`` cases: the script calls the signature as TF2 code does (every output computed)
and computes each output alone (``obj.prune`` of a TF1 model loaded by ``hub.load`` /
``tf.saved_model.load``), on the inputs the case fed. A semantics script prints the all-outputs call's error
and the outputs the TF1 code fetched working alone, and raises ``AssertionError: migration-hazard: ...``; a
cost script counts the ops of the all-outputs function and of each needed output's pruned one and raises
``AssertionError: overhead: ...`` above the run's threshold (repro_semantics.py.j2). Eager mode only: in graph
mode a lazy api runs only what is fetched and a function call's outputs fail alone too, so no zoo case of
these fails there; one that does gets a line saying no script is written."""
from __future__ import annotations

from typing import Any, Dict, Optional

from conformance.report.repro.common import cell_of, copy_inputs, header, render, signature_inputs

APIS = ("hub.load", "saved_model", "hub.KerasLayer")


def script(result: Dict[str, Any], context: Dict[str, Any]) -> Optional[str]:
    details = result.get("details") or {}
    record = details.get("semantics") or {}
    load = context["by_test"].get("load[%s]" % cell_of(result))
    skipped = context["skipped"]
    mode = context["info"].get("mode", "eager")
    why = None
    if mode != "eager" or result.get("api") not in APIS:
        why = "a %s script in %s mode through %s is not written" % (result["check"], mode, result.get("api"))
    elif load is None or not (load.get("details") or {}).get("handle"):
        why = "the cell's load case recorded no handle"
    inputs_file = None if why else signature_inputs(load, result["signature"], record.get("inputs_fingerprint"))
    if why is None and inputs_file is None:
        why = "the load case recorded other inputs, or none, for %s" % result["signature"]
    if why is not None:
        skipped.append("%s: no reproduction (%s)" % (result["test"], why))
        return None
    inputs_name = copy_inputs(context["runs_root"], load, inputs_file, context["folder"], context["name"],
                              result["test"], skipped)
    if inputs_name is None:
        return None
    cause = "migration-hazard" if result["check"] == "semantics" else "overhead"
    error = {"stage": result["check"], "type": "all-outputs call" if cause == "migration-hazard" else "op count",
             "cause": cause, "message": result.get("message", "")}
    context_ = header(result, context["info"], context["env"], context["run_id"], context["name"] + ".py", error,
                      result["signature"], load["details"], inputs_name)
    return render("repro_semantics.py.j2", check=result["check"], needed=list(details.get("needed") or []),
                  outputs=list(record.get("outputs") or []), threshold=details.get("threshold"),
                  recorded_ops=details.get("ops") or record.get("ops") or {}, **context_)
