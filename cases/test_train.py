"""Fine-tuning: one SGD step through each api, as the TF Hub guides write it (hub.Module(trainable=True,
tags={"train"}) in a graph, hub.KerasLayer(trainable=True) in a Keras model, GradientTape over hub.load's
trainable_variables). ``train[<model>-<runtime>-<device>-<api>]`` holds that every trainable variable gets a
finite gradient, that a Keras model holds the regularization losses the model exports, that batch norm's
moving statistics move where the module has update ops, and that the step lowers the loss on the agreed
inputs. ``train[...-hub.KerasLayer-frozen]`` holds the guide's options for models that cannot be fine-tuned:
each ``output_key`` gives that entry of ``signature_outputs_as_dict``, the frozen layer stays as it was and
the head above it learns."""
import pytest

from conformance.causes import Cause
from conformance.outcome import settle, settle_lost


def test_train(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    record = runtime_session.probe_train(model, case.api, device.name, case.signature)
    if "lost" in record:
        settle_lost(case, record, case_record)
    case_record(train=record)
    if "skip" in record:
        pytest.skip(record["skip"])
    if "error" in record:
        settle(case.id, case.expectation, Cause(record["error"]["cause"], record["error"]["diagnosis"]))
        return
    cause = None
    if record.get("output_keys_differ"):
        cause = Cause("output-key-mismatch", "hub.KerasLayer(signature=%r, output_key=K) differs from that entry of "
                      "signature_outputs_as_dict=True for %s" % (record["signature"],
                                                                  ", ".join(record["output_keys_differ"])))
    elif record.get("frozen_trainable_weights") or record.get("frozen_weights_moved"):
        cause = Cause("frozen-layer-trained", "the frozen hub.KerasLayer (trainable=False) %s" % (
            "has trainable weights: %s" % ", ".join(record["frozen_trainable_weights"][:3])
            if record.get("frozen_trainable_weights") else "changed in fit: %s"
            % ", ".join(record["frozen_weights_moved"][:3])))
    elif record["gradients_missing"]:
        cause = Cause("gradient-missing", "no gradient reaches %s" % ", ".join(record["gradients_missing"]))
    elif not record["gradients_finite"]:
        cause = Cause("gradient-not-finite", "a gradient holds inf or nan on the agreed inputs")
    elif record.get("regularization_losses", 0) < record.get("exported_regularization_losses", 0):
        cause = Cause("regularization-lost", "the model exports %d regularization losses, the Keras model holds %d"
                      % (record["exported_regularization_losses"], record["regularization_losses"]))
    elif record.get("update_ops") and record.get("statistics") and not record.get("statistics_moved"):
        cause = Cause("update-ops-ignored", "the train variant's %d update ops ran with the step but its moving "
                      "statistics (%s) did not move" % (record["update_ops"], ", ".join(record["statistics"][:3])))
    elif record.get("state_changed_by_calls") or record.get("writes_state"):  # the model's own calls move its
        pass  # state (a counter): the losses before and after the step are taken at different states
    elif record.get("random_ops"):  # dropout in the trained graph: each run draws a new loss
        if not record.get("moved"):
            cause = Cause("no-progress", "one SGD step left every trainable variable as it was")
    elif not record["loss_after"] < record["loss_before"]:
        cause = Cause("no-progress", "one SGD step along the gradient did not lower the loss at any step size "
                                     "tried (%g before, %g after at the last, %g)"
                      % (record["loss_before"], record["loss_after"], record.get("learning_rate") or 0.01))
    settle(case.id, case.expectation, cause)
