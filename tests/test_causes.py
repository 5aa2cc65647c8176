"""Cause classification, on error messages as TensorFlow and tensorflow_hub really print them."""
import pytest

from conformance.causes import Cause, classify

CASES = [
    ("NotFoundError", "Op type not registered 'DisableCopyOnRead' in binary running on vm. Make sure the Op and "
                      "Kernel are registered in the binary running in this process.",
     "op-not-registered", "op DisableCopyOnRead is not registered in this TensorFlow"),
    ("ValueError", "NodeDef mentions attr 'debug_name' not in Op<name=VarHandleOp; signature= -> resource:resource>",
     "op-not-registered", "attr debug_name of op VarHandleOp is unknown to this TensorFlow"),
    ("AttributeError", "module 'tensorflow_hub' has no attribute 'Module'",
     "api-absent", "hub.Module does not exist in this tensorflow-hub"),
    ("RuntimeError", "Exporting/importing meta graphs is not supported when eager execution is enabled. No graph "
                     "exists when eager execution is enabled.",
     "graph-only-api", "graph-only"),
    ("ValueError", "Importing a SavedModel with `tf.saved_model.load` requires a `tags=` argument if there is more "
                   "than one MetaGraph. Got `tags=None`, but there are 2 MetaGraphs in the SavedModel",
     "tags-ambiguous", "declare `tags`"),
    ("RuntimeError", "MetaGraphDef associated with tags {'train', 'serve'} could not be found in SavedModel.",
     "tags-missing", "no graph variant has tags {'train', 'serve'}"),
    ("InvalidArgumentError", "Cannot assign a device for operation dense/MatMul: Could not satisfy explicit device "
                             "specification '/device:GPU:0' because no devices matching that specification are "
                             "registered in this process",
     "device-pinned", "/device:GPU:0"),
    # TF 1.15 eager, calling a function of a TF1 graph exported with GPU pins (the zoo's gpu_pinned)
    ("InvalidArgumentError", "Unable to find any devices for spec /device:GPU:0 [Op:__inference_pruned_51]",
     "device-pinned", "clear_devices: true"),
    ("InvalidArgumentError", "Cannot assign a device for operation Const_3: Could not satisfy explicit device "
                             "specification '/device:XLA_CPU:0' because no supported kernel for XLA_CPU devices is "
                             "available.",
     "xla-unsupported-op", "XLA cannot run op Const_3"),
    ("InvalidArgumentError", "No registered '_Arg' OpKernel for XLA_CPU_JIT devices compatible with node "
                             "{{node sentences}}",
     "xla-unsupported-op", "XLA cannot compile op _Arg (node sentences)"),
    ("InvalidArgumentError", "Function invoked by the following node is not compilable: name: \"__inference_run\".\n"
                             "Uncompilable nodes:\n\tsentences: unsupported op: No registered '_Arg' OpKernel\n",
     "xla-unsupported-op", "XLA cannot compile node sentences"),
    ("NotFoundError", "/zoo/reusable/tfhub_module.pb; No such file or directory",
     "incompatible-format", "hub.Module loads only the TF1 Hub format"),
    ("DecodeError", "Error parsing message with type 'tensorflow.SavedModel'",
     "corrupt-model", "corrupt"),
    ("ReadError", "not a gzip file", "corrupt-model", "corrupt"),
    ("OSError", "http://127.0.0.1:5000/m.tar.gz does not appear to be a valid module.", "corrupt-model", "corrupt"),
    ("HTTPError", "HTTP Error 404: File not found", "unresolvable-handle", "could not be resolved"),
    ("OSError", "SavedModel file does not exist at: /nowhere/{saved_model.pbtxt|saved_model.pb}",
     "unresolvable-handle", "could not be resolved"),
    ("InvalidArgumentError", "assertion failed: [sqrt output needs x >= 0] [Condition x >= 0 did not hold]",
     "assertion-failed", "sqrt output needs x >= 0"),
    ("TypeError", "Keyword arguments ['training'] unknown. Expected ['x'].",
     "unexpected-argument", "['training']"),
    ("FailedPreconditionError", "Read of uninitialized variable counter\n\t [[{{node AssignAddVariableOp}}]]",
     "uninitialized-variable", "variable counter"),
    ("InvalidArgumentError", "Trying to access resource kernel_15 located in device /device:CPU:0 from device "
                             "/device:XLA_CPU:0",
     "resource-on-other-device", "kernel_15 lives on /device:CPU:0"),
    ("RuntimeError", "Module must be applied in the graph it was instantiated for.",
     "graph-mismatch", "inside another graph"),
    ("ValueError", "Only instances of `keras.Layer` can be added to a Sequential model.",
     "keras-mismatch", "TF_USE_LEGACY_KERAS=1"),
    ("SignatureNotFound", "signature 'tokens' is not found under hub.load (it sees: default)",
     "signature-missing", "signature tokens"),
    ("ValueError", "A KerasTensor is symbolic: it's a placeholder for a shape an a dtype. It doesn't have any "
                   "actual numerical value. You cannot convert it to a NumPy array.",
     "keras-mismatch", "TF_USE_LEGACY_KERAS=1"),
    ("InvalidArgumentError", "TF_Output transform_features_layer/StatefulPartitionedCall_6_15:0 appears more than "
                             "once in the input list", "signature-unimportable", "is fed twice"),
    ("ValueError", "Could not find matching concrete function to call loaded from the SavedModel. Got:\n  "
                   "Positional arguments (3 total):\n    * <tf.Tensor 'x:0' shape=(2, 4) dtype=float32>",
     "inputs-unknown", "a limit of the harness"),
    # TF 2.21's form of a kernel error in a function: the real line comes after "<stack traces unavailable>".
    ("InvalidArgumentError", "Graph execution error:\n\nDetected at node SparseToDense defined at (most recent call "
                             "last):\n<stack traces unavailable>\nindices[1] = [0,1] is out of bounds: need 0 <= index "
                             "< [2,1]\n\t [[{{node SparseToDense}}]] [Op:__inference_signature_wrapper_512]",
     "index-out-of-range", "indices[1] = [0,1] is out of bounds: need 0 <= index < [2,1]"),
    ("InvalidArgumentError", "indices[0,1] = 12 is not in [0, 10)\n\t [[{{node embedding_lookup}}]]",
     "index-out-of-range", "indices[0,1] = 12 is not in [0, 10)"),
]


@pytest.mark.parametrize("error_type, message, cause, diagnosis", CASES, ids=[c[2] for c in CASES])
def test_classify(error_type, message, cause, diagnosis):
    found = classify(error_type, message)
    assert found.id == cause
    assert diagnosis in found.diagnosis
    assert "\n" not in found.diagnosis


def test_unknown_errors_keep_type_and_first_line():
    found = classify("ZeroDivisionError", "\n  division by zero\nmore detail")
    assert found.id == "error"
    assert found.diagnosis == "ZeroDivisionError: division by zero"


def test_a_graph_execution_error_nothing_names_shows_its_real_line():
    found = classify("InvalidArgumentError", "Graph execution error:\n\nDetected at node x defined at (most recent "
                                             "call last):\n<stack traces unavailable>\nthe real reason\n\t [[{{node x}}]]")
    assert found == Cause("error", "InvalidArgumentError: the real reason")
