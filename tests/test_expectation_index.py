"""expected_for's index gives exactly what checking every entry in order gives (the last match wins)."""
import itertools

from conformance.cases import facts_of
from conformance.expectations import PASS, Expectation, expected_for, matches
from conformance.matrix import load_matrix


def expected_by_scanning(facts, expectations):
    found = PASS
    for expectation in expectations:
        if matches(dict(expectation.match), facts):
            found = expectation
    return found


def test_index_agrees_with_scanning_on_the_shipped_matrix():
    matrix = load_matrix("matrix.yaml")
    compared = 0
    for runtime, model in itertools.product(matrix.runtimes, matrix.models):
        for device, api, check in itertools.product(matrix.devices, matrix.apis, ("load", "semantics", "proof")):
            for signature in (None,) + model.signatures:
                facts = facts_of(check, model, runtime, device, api, signature=signature)
                assert expected_for(facts, matrix.expectations) is expected_by_scanning(facts, matrix.expectations)
                compared += 1
    assert compared > 1000


def entry(reason, **match):
    return Expectation(status="fail", reason=reason, source="x.yaml:1", match=tuple(sorted(match.items())))


def test_index_follows_changes_to_the_list():
    facts = {"model": "m1", "api": "hub.load", "case": "load[m1-tf-cpu-hub.load]", "tensorflow": "2.21.0"}
    rules = [entry("broad", model="m*")]
    assert expected_for(facts, rules).reason == "broad"
    rules.append(entry("by case", case="load[m1-*]", tensorflow=">=2"))
    assert expected_for(facts, rules).reason == "by case"
    rules.append(entry("other api", api="saved_model"))
    assert expected_for(facts, rules).reason == "by case"
    rules.pop(1)
    assert expected_for(facts, rules).reason == "broad"
    assert expected_for(facts, []) is PASS
    assert expected_for(dict(facts, model=None), rules) is PASS, "a missing fact matches no pattern"
