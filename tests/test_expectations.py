"""Expectation matching: globs, lists, versions, modes, last-match-wins, intermittent statuses."""
import pytest

from conformance.expectations import PASS, Expectation, expected_for, matches

FACTS = {"check": "load", "model": "text_embed", "runtime": "tf2.21", "device": "cpu", "api": "hub.Module",
         "format": "hub_tf1", "mode": "eager", "tensorflow": "2.21.0", "tensorflow_hub": "0.16.1",
         "case": "load[text_embed-tf2.21-cpu-hub.Module]"}


def entry(status="fail", reason="r", **match):
    return Expectation(status=status, reason=reason, source="x.yaml:1", match=tuple(sorted(match.items())))


def test_glob_and_list_patterns():
    assert matches({"model": "text_*"}, FACTS)
    assert matches({"api": ["hub.load", "hub.Module"]}, FACTS)
    assert not matches({"api": ["hub.load", "saved_model"]}, FACTS)
    assert matches({"case": "load[*-tf2.21-cpu-*]"}, FACTS)


def test_version_specifiers():
    assert matches({"tensorflow_hub": ">=0.16"}, FACTS)
    assert not matches({"tensorflow_hub": "<0.16"}, FACTS)
    assert matches({"tensorflow": ">=2,<3"}, FACTS)
    assert not matches({"tensorflow": "<2"}, dict(FACTS, tensorflow=None)), "unknown version matches nothing"
    assert matches({"tensorflow": ">=2.22.0.dev0"}, dict(FACTS, tensorflow="2.22.0.dev20261026")), "nightlies"
    assert not matches({"tensorflow": ">=2.22"}, dict(FACTS, tensorflow="2.22.0.dev20261026")), "PEP 440"


def test_mode_is_exact_and_all_keys_must_agree():
    assert matches({"mode": "eager", "api": "hub.Module"}, FACTS)
    assert not matches({"mode": "graph", "api": "hub.Module"}, FACTS)


def test_missing_fact_does_not_match():
    assert not matches({"format": "hub_tf1"}, dict(FACTS, format=None))


def test_last_matching_entry_wins_and_default_is_pass():
    broad = entry(reason="broad", api="hub.Module")
    narrow = entry(reason="narrow", api="hub.Module", tensorflow_hub=">=0.16")
    other = entry(reason="other", api="hub.load")
    assert expected_for(FACTS, [broad, narrow, other]).reason == "narrow"
    assert expected_for(FACTS, [narrow, broad]).reason == "broad"
    assert expected_for(FACTS, [other]) is PASS


def test_intermittent_statuses_are_allowed():
    flaky = Expectation(status="pass", reason="flaky", source="x:1", intermittent=("fail",))
    assert flaky.allows("pass") and flaky.allows("fail") and not flaky.allows("skip")


def test_the_shipped_expectations_fit_a_matrix_of_your_own_models(tmp_path):
    """Rules about the zoo apply only when zoo models are listed; a typo in your own model's name is still
    an error."""
    import os

    from conformance.matrix import load_matrix
    from conformance.yaml_source import SourceError

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runtime = ('runtimes:\n  - {id: tf2.21, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, '
               'tensorflow_hub: tensorflow-hub==0.16.1, mode: eager}\nmodels:\n  - {id: mine, handle: /m}\n')
    mine = tmp_path / "matrix.yaml"
    mine.write_text("expectations: %s\n%s" % (os.path.join(root, "expectations.yaml"), runtime))
    assert load_matrix(str(mine)).expectations, "the generic rules (hub.Module, TF versions) still apply"
    (tmp_path / "typo.yaml").write_text("- match: {model: mien}\n  status: fail\n  reason: typo\n")
    mine.write_text("expectations: typo.yaml\n" + runtime)
    with pytest.raises(SourceError, match=r"typo.yaml:1: match.model 'mien' matches no model \(declared: mine\)"):
        load_matrix(str(mine))


def test_the_zoo_expectations_apply_only_when_a_listed_model_comes_from_the_zoo(tmp_path):
    """They live with the zoo, come before the matrix's own files (which override them), and may name zoo
    models the matrix does not list."""
    from conformance.matrix import ZOO_EXPECTATIONS, load_matrix

    runtime = ('runtimes:\n  - {id: tf2.21, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, '
               'tensorflow_hub: tensorflow-hub==0.16.1, mode: eager}\n')
    (tmp_path / "mine.yaml").write_text("- match: {model: hazard}\n  status: skip\n  reason: not today\n")
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("expectations: mine.yaml\n" + runtime + "models:\n  - {id: hazard, handle: /m}\n")
    assert [e.source.split(":")[0] for e in load_matrix(str(matrix)).expectations] == [str(tmp_path / "mine.yaml")]
    matrix.write_text("expectations: mine.yaml\n" + runtime + "models:\n  - {id: hazard, handle: '{zoo}/hazard'}\n")
    sources = [e.source.split(":")[0] for e in load_matrix(str(matrix)).expectations]
    assert sources[-1] == str(tmp_path / "mine.yaml") and set(sources[:-1]) == {ZOO_EXPECTATIONS}
    assert len(sources) > 10, "entries about zoo models this matrix does not list are kept, not refused"
