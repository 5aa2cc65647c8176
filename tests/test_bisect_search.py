"""The search of `bisect` (conformance/bisect_search.py) with a fake probe: builds whose outcome changes at a
known build, some that cannot be probed, both directions, and the errors it must give."""
import pytest

from conformance.bisect_search import BisectError, Probe, bisect

BUILDS = ["2.15.1", "2.16.1", "2.16.2", "2.17.0", "2.17.1", "2.18.0", "2.18.1", "2.19.0", "2.20.0", "2.21.0"]


class FakeProbe(object):
    """Outcome ``before`` for builds older than ``change``, ``after`` from it on; ``skip`` builds cannot be
    probed. Counts the calls so that a test sees every build was probed at most once."""

    def __init__(self, change, before="pass", after="fail (keras-mismatch)", skip=()):
        self.change, self.before, self.after, self.skip = change, before, after, set(skip)
        self.calls = []

    def __call__(self, build):
        self.calls.append(build)
        if build in self.skip:
            return Probe(build, skipped="no wheel for this Python", seconds=1.0)
        changed = self.change is not None and BUILDS.index(build) >= BUILDS.index(self.change)
        outcome = self.after if changed else self.before
        return Probe(build, outcome=outcome, seconds=2.0, details={"git_version": "v" + build})


@pytest.mark.parametrize("change", BUILDS[1:])
def test_it_ends_at_the_adjacent_pair_wherever_the_change_is(change):
    probe = FakeProbe(change)
    found = bisect(BUILDS, probe)
    assert found.first_bad.build == change
    assert found.last_good.build == BUILDS[BUILDS.index(change) - 1]
    assert found.last_good.outcome == "pass" and found.first_bad.outcome == "fail (keras-mismatch)"
    assert found.adjacent and not found.skipped_between
    assert len(probe.calls) == len(set(probe.calls)) <= 2 + 4  # the endpoints, then log2(8 between) + 1
    assert [p.build for p in found.probes] == probe.calls


def test_the_other_way_round_a_model_that_starts_to_load():
    found = bisect(BUILDS, FakeProbe("2.18.0", before="fail (op-not-registered)", after="pass"))
    assert (found.last_good.build, found.first_bad.build) == ("2.17.1", "2.18.0")
    assert (found.last_good.outcome, found.first_bad.outcome) == ("fail (op-not-registered)", "pass")


def test_skipped_builds_are_neither_good_nor_bad_and_the_search_goes_around_them():
    probe = FakeProbe("2.18.1", skip={"2.17.1", "2.18.0"})
    found = bisect(BUILDS, probe)
    assert (found.last_good.build, found.first_bad.build) == ("2.17.0", "2.18.1")
    assert [p.build for p in found.skipped_between] == ["2.17.1", "2.18.0"]
    assert found.adjacent
    skipped = [p for p in found.probes if p.skipped]
    assert {p.build for p in skipped} <= {"2.17.1", "2.18.0"} and all(p.outcome is None for p in skipped)


def test_a_skipped_build_next_to_the_change_is_said_to_be_where_it_may_be():
    found = bisect(BUILDS, FakeProbe("2.19.0", skip={"2.18.1"}))
    assert (found.last_good.build, found.first_bad.build) == ("2.18.0", "2.19.0")
    assert [p.build for p in found.skipped_between] == ["2.18.1"]


def test_a_third_outcome_counts_as_a_change():
    def probe(build):
        index = BUILDS.index(build)
        outcome = "pass" if index < 3 else ("crash" if index < 6 else "fail (keras-mismatch)")
        return Probe(build, outcome=outcome)

    found = bisect(BUILDS, probe)
    assert (found.last_good.build, found.first_bad.build, found.first_bad.outcome) == ("2.16.2", "2.17.0", "crash")


def test_no_change_between_the_endpoints_is_a_clear_error():
    with pytest.raises(BisectError, match=r"^no change to find: 2.15.1 and 2.21.0 both give pass$"):
        bisect(BUILDS, FakeProbe(None))


def test_an_endpoint_that_cannot_be_probed_is_a_clear_error():
    with pytest.raises(BisectError, match=r"^endpoint 2.21.0 could not be probed: no wheel for this Python$"):
        bisect(BUILDS, FakeProbe("2.18.0", skip={"2.21.0"}))


def test_two_adjacent_endpoints_need_no_more_probes():
    probe = FakeProbe("2.16.1")
    found = bisect(BUILDS[:2], probe)
    assert probe.calls == ["2.15.1", "2.16.1"] and found.adjacent


def test_a_probe_has_either_an_outcome_or_a_reason():
    with pytest.raises(ValueError):
        Probe("2.15.1")
    with pytest.raises(ValueError):
        Probe("2.15.1", outcome="pass", skipped="install error")
