"""Fine-tuning: one SGD step through each api, as the TF Hub guides write it (hub.Module(trainable=True,
tags={"train"}) in a graph, hub.KerasLayer(trainable=True) in a Keras model, GradientTape over hub.load's
trainable_variables). ``train[<model>-<runtime>-<device>-<api>]`` holds that every trainable variable gets a
finite gradient, that a Keras model holds the regularization losses the model exports, that batch norm's
moving statistics move where the module has update ops, and that the step lowers the loss on the agreed
inputs. ``train[...-hub.KerasLayer-frozen]`` holds the guide's options for models that cannot be fine-tuned:
each ``output_key`` gives that entry of ``signature_outputs_as_dict``, the frozen layer stays as it was and
the head above it learns.
The case functions are the registered checks' (conformance/checks/): this file collects every runtime check
whose declaration names it (``train`` today), as ``test_<check>``."""
from conformance.checks.registry import case_functions

globals().update(case_functions(__name__))
