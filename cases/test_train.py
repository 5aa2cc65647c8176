"""Fine-tuning: one SGD step through each api, as the TF Hub guides write it (hub.Module(trainable=True,
tags={"train"}) in a graph, hub.KerasLayer(trainable=True) in a Keras model, GradientTape over hub.load's
trainable_variables). ``train[<model>-<runtime>-<device>-<api>]`` holds that every trainable variable gets a
finite gradient, that a Keras model holds the regularization losses the model exports, that batch norm's
moving statistics move where the module has update ops, and that the step lowers the loss on the agreed
inputs."""
import pytest

from conformance.causes import Cause
from conformance.outcome import settle, settle_lost


def test_train(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    record = runtime_session.probe_train(model, case.api, device.name)
    if "lost" in record:
        settle_lost(case, record, case_record)
    case_record(train=record)
    if "skip" in record:
        pytest.skip(record["skip"])
    if "error" in record:
        settle(case.id, case.expectation, Cause(record["error"]["cause"], record["error"]["diagnosis"]))
        return
    cause = None
    if record["gradients_missing"]:
        cause = Cause("gradient-missing", "no gradient reaches %s" % ", ".join(record["gradients_missing"]))
    elif not record["gradients_finite"]:
        cause = Cause("gradient-not-finite", "a gradient holds inf or nan on the agreed inputs")
    elif record.get("regularization_losses", 0) < record.get("exported_regularization_losses", 0):
        cause = Cause("regularization-lost", "the model exports %d regularization losses, the Keras model holds %d"
                      % (record["exported_regularization_losses"], record["regularization_losses"]))
    elif record.get("update_ops") and record.get("statistics") and not record.get("statistics_moved"):
        cause = Cause("update-ops-ignored", "the train variant's %d update ops ran with the step but its moving "
                      "statistics (%s) did not move" % (record["update_ops"], ", ".join(record["statistics"][:3])))
    elif record.get("random_ops"):  # dropout in the trained graph: each run draws a new loss
        if not record.get("moved"):
            cause = Cause("no-progress", "one SGD step left every trainable variable as it was")
    elif not record["loss_after"] < record["loss_before"]:
        cause = Cause("no-progress", "one SGD step did not lower the loss (%g before, %g after)"
                      % (record["loss_before"], record["loss_after"]))
    settle(case.id, case.expectation, cause)
