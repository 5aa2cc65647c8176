"""Op libraries: which build each runtime installs, which package an op belongs to, and what a missing one is
called (plain Python: the table, the matrix and the diagnosis)."""
from conformance import op_libraries
from conformance.causes import classify
from conformance.matrix import load_matrix

MATRIX = """
runtimes:
  - {id: tf1, python: "3.7", tensorflow: tensorflow==1.15.5, tensorflow_hub: tensorflow-hub==0.12.0, mode: graph}
  - {id: tf215, python: "3.11", tensorflow: tensorflow-cpu==2.15.1, tensorflow_hub: tensorflow-hub==0.15.0,
     mode: eager}
  - {id: tf221, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
     mode: eager}
  - {id: nightly, python: "3.11", tensorflow: tf-nightly, tensorflow_hub: tensorflow-hub==0.16.1, mode: eager}
models:
  - {id: plain, handle: /models/plain}
  - {id: text, handle: /models/text, requires: [tensorflow-text]}
  - {id: forest, handle: /models/forest, requires: [tensorflow-decision-forests], runtimes: [tf215, tf221]}
"""


def test_each_runtime_installs_the_build_for_its_tensorflow_and_only_what_its_models_require(write):
    runtimes = {r.id: r for r in load_matrix(write("matrix.yaml", MATRIX)).runtimes}
    assert runtimes["tf1"].op_libraries == ("tensorflow-text==1.15.1",), "no TF-DF build for TF 1.x"
    assert runtimes["tf215"].op_libraries == ("tensorflow-decision-forests==1.8.1", "tensorflow-text~=2.15.0")
    assert runtimes["tf221"].op_libraries == ("tensorflow-text~=2.21.0",), "TF-DF publishes none for 2.21"
    assert runtimes["nightly"].op_libraries == (), "an unpinned nightly has no known build"
    assert runtimes["tf221"].requirements[-1] == "tensorflow-text~=2.21.0"
    plain = load_matrix(write("plain.yaml", MATRIX.split("  - {id: text")[0])).runtimes
    assert all(r.op_libraries == () for r in plain), "nothing is installed that the matrix did not ask for"


def test_ops_are_known_by_their_library():
    assert op_libraries.owner_of("SentencepieceOp").name == "tensorflow-text"
    assert op_libraries.owner_of("TFText>WhitespaceTokenizeWithOffsetsV2").name == "tensorflow-text"
    assert op_libraries.owner_of("SimpleMLInferenceOpWithHandle").name == "tensorflow-decision-forests"
    assert op_libraries.owner_of("MatMul") is None
    assert op_libraries.needed_by(["MatMul", "RegexSplitWithOffsets", "SimpleMLCreateModelResource"]) == {
        "tensorflow-text": ["RegexSplitWithOffsets"], "tensorflow-decision-forests": ["SimpleMLCreateModelResource"]}


def test_an_unregistered_op_of_a_known_library_names_the_package():
    cause = classify("NotFoundError", "Op type not registered 'SentencepieceOp' in binary running on vm. Make sure "
                                      "the Op and Kernel are registered in the binary running in this process.")
    assert cause.id == "op-library-unavailable"
    assert "registered by tensorflow-text" in cause.diagnosis and "requires: [tensorflow-text]" in cause.diagnosis
    assert classify("NotFoundError", "Op type not registered 'DisableCopyOnRead' in binary").id == "op-not-registered"
