"""Diagnosis of load and call failures: the error text in, a named cause and one line for humans out.

Plain Python on the error's type name and message, so it is tested without TensorFlow and works on
errors recorded by another runtime.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Pattern, Tuple

from conformance import op_libraries


@dataclass(frozen=True)
class Cause:
    id: str
    diagnosis: str


_NOISE = re.compile(r"^(Graph execution error:|Detected at node |<stack traces unavailable>|in user code:|Exception encountered when calling "
                    r"layer|Call arguments received by layer|Traceback \(most recent call last\)|\s*\u2022 |\s*File \"|"
                    r"\s+\[\[)")
_CHAINED = re.compile(r"^\s*(?:[\w.]+(?:Error|Exception)): (.+)$")
_FUNCTION_PREFIX = re.compile(r"^\{\{function_node [^}]*\}\}\s*")


def root_line(text: str) -> str:
    """The line of an error message that says what went wrong, not where TensorFlow noticed it.

    TF2 wraps errors in ``Graph execution error:`` + ``Detected at node …`` + a stack, Keras in ``Exception
    encountered when calling layer …`` + ``Call arguments received …``, tf.function in ``in user code:`` + a
    stack ending in ``ValueError: …``.
    """
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    user_code = [i for i, line in enumerate(lines) if line.startswith("in user code:")]
    if user_code:  # also inside Keras's "Exception encountered when calling layer …" wrapper
        raised = [m.group(1) for m in (_CHAINED.match(line) for line in lines[user_code[0]:]) if m]
        if raised:
            return raised[-1].strip()[:300]
    for line in lines:
        if not _NOISE.match(line) and not line.startswith((" ", "\t")):
            return _FUNCTION_PREFIX.sub("", line.strip())[:300]
    return lines[0].strip()[:300] if lines else ""


_first_line = root_line


_CLEAR_DEVICES = " (set `clear_devices: true` for this model to drop the saved device pins)"

# (cause id, pattern, diagnosis template using the match's groups). Order matters: first match wins.
_RULES = [
    ("inputs-unknown", r"^InputsUnknown: (.+)",
     "hub-conformance cannot make inputs for this signature (not the model's failure): {0}"),
    ("inputs-unknown", r"Could not find matching concrete function to call loaded from the SavedModel",
     "no function the model saved takes the inputs hub-conformance built (its saved input signatures differ "
     "in structure, dtype or shape): a limit of the harness, not the model's failure; give `inputs:`"),
    ("op-not-registered", r"Op type not registered '([\w>]+)'",
     "op {0} is not registered in this TensorFlow: the model was written by a newer TensorFlow "
     "(forward compatibility)"),
    ("op-not-registered", r"NodeDef mentions attr '(\w+)' not in Op<name=(\w+)",
     "attr {0} of op {1} is unknown to this TensorFlow: the model was written by a newer TensorFlow "
     "(forward compatibility)"),
    ("api-absent", r"module 'tensorflow_hub' has no attribute '(\w+)'",
     "hub.{0} does not exist in this tensorflow-hub (removed in 0.16)"),
    ("api-absent", r"module 'tensorflow[\w.]*' has no attribute '(\w+)'",
     "tf.{0} does not exist in this TensorFlow"),
    ("fine-tune-unsupported", r"trainable = True is unsupported when (loading from the TF1 Hub format|calling a "
                              r"SavedModel signature)",
     "hub.KerasLayer cannot fine-tune when {0} (tensorflow_hub's documented limit: fine-tune a TF1 Hub module "
     "with hub.Module in TF1, or a TF2 SavedModel through its __call__)"),
    ("function-gradient-broken", r"Node '([^']+_grad[^']*)': Connecting to invalid output (\d+) of source node (\S+)",
     "TensorFlow built an invalid gradient graph for the call of a restored function ({2}, output {1}): "
     "fine-tuning this SavedModel in this runtime's graph mode is broken"),
    ("graph-only-api", r"(?:not supported when eager execution is enabled|can't be used in eager mode"
                       r"|is not supported in eager mode|No graph exists when eager execution is enabled)",
     "this api is graph-only (TF1 hub.Module) and the runtime executes eagerly"),
    ("eager-only-api", r"(?:only supported (?:in|with|when) eager|requires eager execution|must be "
                       r"(?:called|run) eagerly|needs eager execution)",
     "this api needs eager execution and the runtime runs in graph mode"),
    ("tags-ambiguous", r"(?:requires a `tags=` argument if there is more than one MetaGraph|more than one "
                       r"MetaGraph|Multiple MetaGraphDefs? (?:found|match))",
     "the model has several graph variants (tags) and none was chosen: declare `tags` for it"),
    ("tags-missing", r"MetaGraphDef associated with tags? (.+?) could not be found",
     "no graph variant has tags {0}: check the model's `tags`"),
    ("tags-missing", r"Tags (\[.*?\]|\{.*?\}) (?:not found|do not match)",
     "no graph variant has tags {0}: check the model's `tags`"),
    ("xla-unsupported-op", r"Cannot assign a device for operation ([^:\s]+): Could not satisfy explicit device "
                           r"specification '/device:XLA_\w+:\d+' because no supported kernel",
     "XLA cannot run op {0}: it has no kernel for the XLA device"),
    ("uninitialized-variable", r"(?:Read of uninitialized variable|Attempting to use uninitialized value) (\S+)",
     "variable {0} was read before it was initialized"),
    ("graph-mismatch", r"Module must be applied in the graph it was instantiated for",
     "hub.Module cannot be applied inside another graph, such as a compiled tf.function"),
    ("remote-device-unshared", r"Assigned device '([^']+)' does not match any device",
     "the model's variables live on {0}, a device the session's worker does not know: set "
     "share_cluster_devices_in_session in the session's ConfigProto (TF Hub migration guide)"),
    ("function-device-pinned", r"Cannot assign a device for operation (GroupCrossDeviceControlEdges[^:\s]*):[^\n]*?"
                               r"explicitly assigned to (\S+)",
     "a function saved by TF 1.15 pins its ops to {1} ({0}); a TF 2.x session on a cluster cannot place it: "
     "write the SavedModel with TF 2.x"),
    ("device-pinned", r"Cannot assign a device for operation ([^:\s]+): Could not satisfy explicit device "
                      r"specification '([^']+)'",
     "the graph pins op {0} to {1}, which this runtime does not have" + _CLEAR_DEVICES),
    ("device-pinned", r"Cannot assign a device for operation ([^:\s]+):[^\n]*?was explicitly assigned to (\S+) "
                      r"but available devices are",
     "the graph pins op {0} to {1}, which this runtime does not have" + _CLEAR_DEVICES),
    ("device-pinned", r"Unable to find any devices for spec (\S+)",
     "the graph pins an op to {0}, which this runtime does not have" + _CLEAR_DEVICES),
    ("device-pinned", r"Could not satisfy explicit device specification '([^']+)'",
     "the graph pins an op to {0}, which this runtime does not have" + _CLEAR_DEVICES),
    ("composite-signature", r"The name '' refers to an Operation not in the graph",
     "this TensorFlow imports a TF1 signature as a function by tensor names, and a coo_sparse or composite "
     "TensorInfo has none (TF 1.15's hub.load / tf.saved_model.load; TF 2.x splits it into components)"),
    ("composite-signature", r"a (\w+) TensorInfo is not fed or fetched by name",
     "this api cannot feed or fetch the signature's {0} tensors by name (a limit of hub-conformance's TF1 "
     "loader, not the model's failure)"),
    ("index-out-of-range", r"(indices\[[^\]]*\] = \S+ is (?:out of bounds|not in \[[^\]]*\))[^\n]*)",
     "an index is out of range on the agreed inputs (generated ids or lengths the model does not take: give "
     "their `range` or values in matrix.yaml `inputs:`): {0}"),
    ("keras-symbolic-call", r"Cannot convert a symbolic Tensor \(([^)]+)\) to a numpy array",
     "Keras returned a symbolic tensor ({0}) from an eager call: TF 1.15's Keras builds a graph when a layer is "
     "called with no input tensors (a signature without inputs), so hub.KerasLayer cannot call it eagerly"),
    ("signature-unimportable", r"TF_Output (\S+) appears more than once in the input list",
     "TensorFlow cannot import this TF1 signature as a function: tensor {0} is fed twice (TF 2.x prunes a TF1 "
     "signature into a function by its tensors; only the TF1 loader can call it)"),
    ("kernel-missing", r"No OpKernel was registered to support Op '(\w+)'",
     "op {0} has no kernel in this TensorFlow build for these devices and types"),
    ("reference-typed-output", r"has a reference type (\w+)",
     "an output is a TF1 reference tensor ({0}); TF2 functions cannot return reference-typed tensors"),
    ("example-parse", r"(?:Could not parse example input|Feature: (\S+) \(data type: \w+\) is required but could "
                      r"not be found|Key: (\S+)\.\s+Can't parse serialized Example)",
     "the generated tf.Example records do not fit this signature's parse spec (an input problem of "
     "hub-conformance, not the model's failure): {0}"),
    ("shape-mismatch", r"(?:Shapes? must be equal rank|must be rank \d+ but is rank \d+|Dimensions must be equal|"
                       r"Incompatible shapes|are incompatible|Cannot reshape a tensor|Input to reshape is a tensor)",
     "shapes do not fit: {0}"),
    ("xla-unsupported-op", r"No registered '(\w+)' OpKernel for XLA\w* devices compatible with node "
                           r"\{\{(?:function_node [^}]+\}\}\{\{)?node ([^}]+)\}\}",
     "XLA cannot compile op {0} (node {1})"),
    ("xla-unsupported-op", r"not compilable[\s\S]*?Uncompilable nodes:\s*([^:\s]+): ([^\n]+)",
     "XLA cannot compile node {0} ({1})"),
    ("xla-unsupported-op", r"(?:Detected unsupported operations when trying to compile graph[^:]*:?\s*(.*)"
                           r"|not compilable|XLA compilation.*(?:unsupported|not supported))",
     "XLA cannot compile part of this model: {0}"),
    ("incompatible-format", r"tfhub_module\.pb[;:]? (?:No such file|not found)",
     "not a TF1 Hub module (no tfhub_module.pb): hub.Module loads only the TF1 Hub format"),
    ("incompatible-format", r"(?:incompatible/unknown type|Expected a TF1 Hub module|is not a TF1 Hub module"
                            r"|doesn't have any signatures? (?:named|to))",
     "the model's format does not fit this api: {0}"),
    ("unexpected-argument", r"Keyword arguments (\[.*?\]) unknown\. Expected (\[.*?\])",
     "the api passes argument(s) {0} that the model's function does not take (it takes {1})"),
    ("resource-on-other-device", r"Trying to access resource (\S+) located in device (\S+) from device (\S+)",
     "variable {0} lives on {1} but the call runs on {2}"),
    ("unsafe-archive", r"(?:unsafe archive:? (.*)|(Unexpected object type in tar archive: \S+|Relative path \S+ is "
                       r"invalid))",
     "the model's archive was refused (it could write outside its directory, or fill the disk): {0}{1}"),
    ("corrupt-model", r"(?:Error parsing message|DecodeError|Data loss|Unsuccessful TensorSliceReader|"
                      r"truncated|not a gzip file|invalid tar|ReadError|Checksum does not match|"
                      r"Failed to read|corrupted|does not appear to be a valid module)",
     "the model files are corrupt or incomplete: {0}"),
    ("unresolvable-handle", r"(?:URLError|HTTP Error \d+|Connection refused|Name or service not known|"
                            r"SavedModel file does not exist at|"
                            r"is not a directory|No such file or directory|could not be resolved)",
     "the handle could not be resolved to a model: {0}"),
    ("keras-mismatch", r"(?:Only instances of `keras\.Layer` can be added|A KerasTensor cannot be used as input to "
                       r"a TensorFlow function|A KerasTensor is symbolic|"
                       r"Binding inputs to tf\.function failed.*Received args: \(<KerasTensor)",
     "hub.KerasLayer (a tf-keras layer) in a Keras 3 model: install tf-keras and set TF_USE_LEGACY_KERAS=1"),
    ("assertion-failed", r"assertion failed:?\s*(.*)",
     "an assertion in the model failed on the agreed inputs: {0}"),
    ("signature-missing", r"signature '?([^' ]+)'? (?:is not|not) (?:found|in)",
     "signature {0} is not there under this api"),
]  # type: List[Tuple[str, str, str]]

_COMPILED = [(cause, re.compile(pattern, re.IGNORECASE), template)
             for cause, pattern, template in _RULES]  # type: List[Tuple[str, Pattern, str]]


_UNREGISTERED_OP = re.compile(r"Op type not registered '([\w>]+)'")


def unregistered_op(text: str) -> Optional[str]:
    """The op an "Op type not registered" error names, or None."""
    found = _UNREGISTERED_OP.search(text)
    return found.group(1) if found else None


def _op_library_cause(text: str) -> Optional[Cause]:
    """An unregistered op that a known op library registers: the package to require is named."""
    found = _UNREGISTERED_OP.search(text)
    library = op_libraries.owner_of(found.group(1)) if found else None
    if library is None:
        return None
    return Cause("op-library-unavailable", "op %s is registered by %s, which was not imported here: declare "
                 "`requires: [%s]` for the model, so each runtime installs the build for its TensorFlow and "
                 "imports it before the load (where it is declared already, the build here lacks the op: it "
                 "was added in a later release)" % (found.group(1), library.name, library.name))


def classify(error_type: str, message: str) -> Cause:
    """The cause of an error, from its type name (e.g. ``NotFoundError``) and message."""
    text = "%s: %s" % (error_type, message)
    library = _op_library_cause(text)
    if library is not None:
        return library
    for cause, pattern, template in _COMPILED:
        found = pattern.search(text)
        if found:
            groups = [g or "" for g in found.groups()]
            if not groups or not any(groups):
                groups = [_first_line(message) or error_type] + [""] * 3
            groups += [""] * 3
            return Cause(cause, template.format(*groups).rstrip(": "))
    return Cause("error", "%s: %s" % (error_type, _first_line(message)))


def classify_exception(error: BaseException) -> Cause:
    """The cause of an error and of the errors it was raised from: the first specific cause found from the
    root of the chain upwards (a restore failure that wraps a device-pinning error is device-pinned)."""
    chain = []
    seen = set()
    current = error  # type: Optional[BaseException]
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    for link in reversed(chain):
        cause = classify(type(link).__name__, str(link))
        if cause.id != "error":
            return cause
    return classify(type(error).__name__, str(error))
