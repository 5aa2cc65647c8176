"""``proof`` cases: on a model with a ``counter`` signature, the script reads the counter, calls the signature
twice using only the outputs the TF1 code fetched, and reads it again (repro_proof.py.j2): where every output
is computed (eager calls, graph-mode function calls) the counter must move once per call, where only fetched
outputs run (``hub.Module`` and the TF1 loader in a session) not at all; otherwise it raises
``AssertionError: semantics-changed: ...`` as the run's case did."""
from __future__ import annotations

from typing import Any, Dict, Optional

from conformance.report.repro.common import cell_of, copy_inputs, header, render, signature_inputs

LAZY_APIS = ("hub.Module", "saved_model")  # in graph mode these run only the fetched outputs


def script(result: Dict[str, Any], context: Dict[str, Any]) -> Optional[str]:
    details = result.get("details") or {}
    proof = details.get("proof") or {}
    load = context["by_test"].get("load[%s]" % cell_of(result))
    mode = context["info"].get("mode", "eager")
    skipped = context["skipped"]
    why = None
    if not proof.get("counter"):
        why = "the run recorded no counter signature for it"
    elif result.get("api") not in ("hub.load", "saved_model") + (("hub.Module",) if mode == "graph" else ()):
        why = "a proof through %s in %s mode is not written" % (result.get("api"), mode)
    elif load is None or not (load.get("details") or {}).get("handle"):
        why = "the cell's load case recorded no handle"
    inputs_file = None if why else signature_inputs(load, result["signature"])
    if why is None and inputs_file is None:
        why = "the load case recorded no inputs for %s" % result["signature"]
    if why is not None:
        skipped.append("%s: no reproduction (%s)" % (result["test"], why))
        return None
    inputs_name = copy_inputs(context["runs_root"], load, inputs_file, context["folder"], context["name"],
                              result["test"], skipped)
    if inputs_name is None:
        return None
    error = {"stage": "proof", "type": "counter", "cause": "semantics-changed", "message": result.get("message", "")}
    context_ = header(result, context["info"], context["env"], context["run_id"], context["name"] + ".py", error,
                      result["signature"], load["details"], inputs_name)
    return render("repro_proof.py.j2", counter=proof["counter"], used=list(proof.get("used") or []),
                  calls=int(proof.get("calls") or 2), expected=0 if mode == "graph" and result["api"] in LAZY_APIS
                  else int(proof.get("calls") or 2), recorded=proof, **context_)
