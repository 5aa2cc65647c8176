"""The TF Hub migration guide's parameter-server case: a TF2 SavedModel trained with its variables on a
parameter server (a TF1 Session on a ``{ps, worker}`` loopback cluster) needs ``share_cluster_devices_in_session``
in the session's ConfigProto. ``cluster[<model>-<runtime>-cpu-<api>-unshared|shared]`` runs one SGD step in
a TF1 Session without and with the flag, ``...-estimator-unshared|shared`` two steps of an Estimator's
``train_and_evaluate`` (where tf.estimator exists), all of a model in one process group that ends with it."""
from __future__ import annotations


from conformance.blame import HarnessBug
from conformance.cases import CLUSTER_APIS, CLUSTER_VARIANTS
from conformance.causes import Cause, classify
from conformance.checks.registry import Check, register
from conformance.checks._case import settle, skip


def run(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    result = runtime_session.probe_cluster(model, case.api, case.signature)
    case_record(cluster={k: v for k, v in result.items() if k != "traceback"})
    outcome = result["outcome"]
    if outcome == "skip":
        skip(result["why"])
    if outcome == "harness-error":
        case_record(harness_traceback=result.get("traceback", ""))
        raise HarnessBug("the cluster case raised %s: %s" % (result["type"], result["message"]))
    if outcome in ("timeout", "crash"):
        case_record(lost=outcome, error={"stage": "cluster", "type": outcome, "message": result["message"],
                                         "cause": outcome, "diagnosis": result["message"]})
        settle(case.id, case.expectation, Cause(outcome, result["message"]))
        return
    cause = None
    if outcome == "error":
        cause = classify(result["type"], result["message"])
        case_record(error={"stage": "cluster", "type": result["type"], "message": result["message"][-3000:],
                           "cause": cause.id, "diagnosis": cause.diagnosis, "traceback": result.get("traceback", "")})
    elif "loss_before" in result and not result["loss_after"] < result["loss_before"]:
        cause = Cause("no-progress", "one SGD step did not lower the loss (%g before, %g after)"
                      % (result["loss_before"], result["loss_after"]))
    settle(case.id, case.expectation, cause)


register(Check(
    name="cluster", side="runtime", case_file="test_cluster", scope="cell", run=run, doc=__doc__, section="cluster",
    causes=("no-progress",),  # and the diagnosis table's (its errors are classified as a load's are)
    where=lambda model, runtime: model.format == "saved_model_v2",
    devices=lambda runtime, devices: [d for d in devices if d == "cpu"],
    apis=lambda apis: [a for a in apis if a in CLUSTER_APIS],
    variants=lambda api, device, signatures: list(CLUSTER_VARIANTS)))
