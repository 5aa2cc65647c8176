"""Fine-tuning: one SGD step through each api, as the TF Hub guides write it (hub.Module(trainable=True,
tags={"train"}) in a graph, hub.KerasLayer(trainable=True) in a Keras model, GradientTape over hub.load's
trainable_variables). ``train[<model>-<runtime>-<device>-<api>]`` holds that every trainable variable gets a
finite gradient, that a Keras model holds the regularization losses the model exports, that batch norm's
moving statistics move where the module has update ops, and that the step lowers the loss on the agreed
inputs. ``train[...-hub.KerasLayer-frozen]`` holds the guide's options for models that cannot be fine-tuned:
each ``output_key`` gives that entry of ``signature_outputs_as_dict``, the frozen layer stays as it was and
the head above it learns."""
from __future__ import annotations

from typing import Any, Dict, Optional

from conformance.causes import Cause
from conformance.cases import TRAIN_VARIANTS
from conformance.checks.registry import Check, register
from conformance.checks._case import settle, settle_lost, skip


def run(case, matrix, runtime_session, device, case_record):
    model = matrix.model(case.cell.model)
    record = runtime_session.probe_train(model, case.api, device.name, case.signature)
    if "lost" in record:
        settle_lost(case, record, case_record)
    case_record(train=record)
    if "skip" in record:
        skip(record["skip"])
    if "error" in record:
        settle(case.id, case.expectation, Cause(record["error"]["cause"], record["error"]["diagnosis"]))
        return
    settle(case.id, case.expectation, cause_of(record))


def cause_of(record: Dict[str, Any]) -> Optional[Cause]:
    """What a recorded step says of the model (None: it trained as the guides say it should)."""
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
    elif record.get("draws_random"):  # dropout in the trained graph: the gradient (and, in a graph, the loss)
        if not record.get("moved"):     # is drawn anew each run, so the step is held to moving the variables
            cause = Cause("no-progress", "one SGD step left every trainable variable as it was")
    elif not record["loss_after"] < record["loss_before"]:
        cause = Cause("no-progress", "one SGD step along the gradient did not lower the loss at any step size "
                                     "tried (%g before, %g after at the last, %g)"
                      % (record["loss_before"], record["loss_after"], record.get("learning_rate") or 0.01))
    return cause


def _devices(runtime, devices):
    """No xla step in a graph runtime without an XLA_CPU device to place it on (TF 2's graph mode)."""
    if runtime.mode == "graph" and not runtime.lists_xla_device:
        return [d for d in devices if d != "xla"]
    return devices


def _variants(api, device, signatures):
    """The plain step (None), and hub.KerasLayer's -signature and -frozen variants but on xla."""
    return TRAIN_VARIANTS.get(api, signatures) if device != "xla" else signatures


register(Check(
    name="train", side="runtime", case_file="test_train", scope="cell", run=run, doc=__doc__, section="compat_train",
    causes=("no-progress", "gradient-missing", "gradient-not-finite", "regularization-lost", "update-ops-ignored",
            "output-key-mismatch", "frozen-layer-trained", "fine-tune-unsupported"),
    devices=_devices, variants=_variants))
