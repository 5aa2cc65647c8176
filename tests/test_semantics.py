"""Verdicts of the eager-computes-all-outputs checks, on records shaped as the runtimes write them."""
import pytest

from conformance.semantics import NotAssessable, assess, hazard_verdict, migration_snippet, proof_verdict

ASSERTION = "assertion-failed: an assertion in the model failed on the agreed inputs: sqrt needs x >= 0"


def hazard_record(mode="eager"):
    """The zoo's hazard model: `sqrt` asserts x >= 0, `default` is safe; inputs include -1."""
    return {"mode": mode, "outputs": ["default", "sqrt"],
            "all": {"measured": True, "error": ASSERTION},
            "alone": {"default": {"measured": True, "seconds": 0.001, "finite": True},
                      "sqrt": {"measured": True, "error": ASSERTION}},
            "ops": {"*": 20, "default": 2, "sqrt": 18}}


def test_hazard_is_named_with_output_error_and_need():
    finding = assess(hazard_record(), fetch=["default"])
    assert finding.hazards == {"sqrt": ASSERTION} and finding.needed == ["default"]
    verdict = hazard_verdict("eager", "hub.load", finding, "default")
    assert verdict == ("signature default computes every output and `sqrt` fails: %s; the TF1 code needed only "
                       "`default`" % ASSERTION)


def test_lazy_graph_apis_record_the_hazard_but_pass():
    finding = assess(hazard_record("graph"), fetch=["default"])
    assert finding.hazards == {"sqrt": ASSERTION}
    assert hazard_verdict("graph", "hub.Module", finding, "default") is None
    assert hazard_verdict("graph", "hub.load", finding, "default") is not None, "function calls compute all"


def test_not_assessable_when_the_need_fails_alone():
    record = hazard_record()
    record["alone"]["default"] = {"measured": True, "error": "xla-unsupported-op: XLA cannot compile op Assert"}
    with pytest.raises(NotAssessable, match="needed output\\(s\\) fail even when computed alone"):
        hazard_verdict("eager", "hub.load", assess(record, ["default"]), "default")
    with pytest.raises(NotAssessable, match="no output of default works here even alone"):
        nothing = dict(record, alone={"default": {"measured": True, "error": "e"}, "sqrt": {"measured": True,
                                                                                             "error": "e"}})
        hazard_verdict("eager", "hub.load", assess(nothing, None), "default")


def test_non_finite_outputs_are_hazards_too():
    record = {"outputs": ["a", "b"], "all": {"measured": True, "finite": False},
              "alone": {"a": {"measured": True, "finite": True}, "b": {"measured": True, "finite": False}}}
    finding = assess(record, None)
    assert finding.needed == ["a"] and finding.hazards == {"b": "non-finite values (NaN or inf)"}
    assert "`b` fails: non-finite values" in hazard_verdict("eager", "saved_model", finding, "s")


def test_unprunable_api_still_flags_a_failing_all_outputs_call():
    record = {"outputs": ["default", "sqrt"], "all": {"measured": True, "error": ASSERTION},
              "alone": {"default": {"measured": False, "why": "not prunable"},
                        "sqrt": {"measured": False, "why": "not prunable"}}}
    finding = assess(record, ["default"])
    assert "`(not computable alone here)` fails" in hazard_verdict("eager", "hub.KerasLayer", finding, "default")


def test_overhead_is_an_op_ratio_against_the_cheapest_need():
    assert assess(hazard_record(), ["default"]).overhead == 10.0
    no_ops = dict(hazard_record(), ops=None, ops_unavailable="hub.KerasLayer computes every output")
    finding = assess(no_ops, ["default"])
    assert finding.overhead is None and finding.notes == ["hub.KerasLayer computes every output"]


@pytest.mark.parametrize("mode, api, delta, holds", [
    ("eager", "hub.load", 2, True), ("eager", "hub.load", 0, False),       # reversed: eager ran only one
    ("graph", "hub.Module", 0, True), ("graph", "hub.Module", 2, False),   # reversed: graph ran everything
    ("graph", "saved_model", 0, True), ("graph", "hub.load", 2, True),    # graph functions compute all
])
def test_proof_fails_when_the_semantics_are_reversed(mode, api, delta, holds):
    verdict = proof_verdict(mode, api, delta, calls=2)
    assert (verdict is None) == holds
    if not holds:
        assert "TensorFlow's semantics changed" in verdict and "moved by %g over 2 call(s)" % delta in verdict


def test_migration_snippet_with_and_without_pruning():
    plain = migration_snippet("https://example/m/1", [], "default", ["x"], ["default"])
    assert 'obj = hub.load("https://example/m/1", tags=[])' in plain
    assert 'outputs = obj.signatures["default"](x=x)  # computes every output' in plain
    assert 'hub.KerasLayer("https://example/m/1", signature="default", output_key="default", tags=[])' in plain
    pruned = migration_snippet("h", None, "default", ["x"], ["default"],
                               {"feeds": ["x:0"], "fetches": "mul:0", "arguments": ["x"]})
    assert 'pruned = obj.prune(feeds=["x:0"], fetches="mul:0")' in pruned and "default = pruned(x)" in pruned
    compile(pruned, "snippet", "exec")
