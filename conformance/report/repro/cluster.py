"""``cluster`` cases (the migration guide's parameter-server case): the script starts a ``{ps, worker}``
cluster of TF1 servers on loopback ports in its own process, loads the model under
``replica_device_setter`` (its variables on the ps), takes one SGD step on a loss that consumes the model's
output in a TF1 Session on the worker with or without ``share_cluster_devices_in_session``, or two steps of
an Estimator's ``train_and_evaluate`` (the ``estimator-`` variants), as conformance/runtime/cluster.py does
(repro_cluster.py.j2). It raises the same TensorFlow error, or ``AssertionError: no-progress: ...``. The
servers cannot be stopped: the script ends its process with ``os._exit`` once it has printed its result."""
from __future__ import annotations

from typing import Any, Dict, Optional

from conformance.report.repro.common import cell_of, header, render


def script(result: Dict[str, Any], context: Dict[str, Any]) -> Optional[str]:
    details = result.get("details") or {}
    record = details.get("cluster") or {}
    load = context["by_test"].get("load[%s]" % cell_of(result))
    handle = ((load or {}).get("details") or {}).get("handle")
    why = None
    if not record:
        why = "the run recorded no cluster result for it"
    elif record.get("outcome") in ("timeout", "crash"):
        why = "the cluster process was lost (%s): its servers' state is not recorded" % record["outcome"]
    elif not handle:
        why = "the cell's load case recorded no handle"
    if why is not None:
        context["skipped"].append("%s: no reproduction (%s)" % (result["test"], why))
        return None
    error = dict((details.get("error") or {}), stage="cluster")
    if not details.get("error"):
        error.update(type="no-progress", cause="no-progress", message=result.get("message", ""))
    variant = result.get("signature") or "unshared"
    context_ = header(result, context["info"], context["env"], context["run_id"], context["name"] + ".py", error,
                      variant, load["details"], None)
    return render("repro_cluster.py.j2", shared=variant.endswith("-shared") or variant == "shared",
                  estimator=variant.startswith("estimator-"), recorded_flag=record.get("flag"), **context_)
