"""A runtime worker keeps one model at a time: its loads and its findings (which hold output arrays) are
dropped when the next model comes, so an executor's memory does not grow with the models it has served."""
import os

import pytest

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def session(zoo_dir, tmp_path_factory):
    from conformance.matrix import DEFAULT_MATRIX, load_matrix
    from conformance.observations import ArrayStore
    from conformance.runtime.probe import RuntimeSession

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    matrix = load_matrix(os.path.join(root, DEFAULT_MATRIX))
    session = RuntimeSession(matrix.runtime("tf2.21"), {"zoo": zoo_dir})
    session.recorder = ArrayStore(str(tmp_path_factory.mktemp("outputs")))
    return matrix, session


def test_findings_are_kept_for_the_current_model_only(session):
    matrix, runtime = session
    counted, hazard = matrix.model("side_effect"), matrix.model("hazard")  # several outputs each
    first = runtime.probe_semantics(counted, "hub.load", "cpu", "default")
    assert "skip" not in first and sorted(first["alone"]) == ["counted", "counter", "default"], first
    assert runtime.probe_semantics(counted, "hub.load", "cpu", "default") is first, "the same model: cached"
    other = runtime.probe_semantics(hazard, "hub.load", "cpu", "default")
    assert "skip" not in other and sorted(other["alone"]) == ["default", "sqrt"], other
    again = runtime.probe_semantics(counted, "hub.load", "cpu", "default")
    assert again is not first, "another model came in between: measured again, not kept"
    assert sorted(again["alone"]) == sorted(first["alone"])


def test_the_worker_asks_the_executor_once_per_signature_record(zoo_dir, tmp_path):
    """The semantics and the cost case of a signature read one record: the second one is answered from the
    worker's copy, without a round trip to the executor, until another model comes."""
    from conformance.matrix import DEFAULT_MATRIX, load_matrix
    from conformance.runtime.supervisor import SupervisedSession

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    matrix = load_matrix(os.path.join(root, DEFAULT_MATRIX))
    session = SupervisedSession(matrix.runtime("tf2.21"), os.path.join(root, DEFAULT_MATRIX), {"zoo": zoo_dir},
                                str(tmp_path), lambda model: 300)
    asked = []
    request = session._request

    def counting(method, model, args, record=None):
        asked.append((method, model.id) + tuple(args))
        return request(method, model, args, record)

    session._request = counting
    try:
        counted, hazard = matrix.model("side_effect"), matrix.model("hazard")
        first = session.probe_semantics(counted, "hub.load", "cpu", "default")
        assert sorted(first["alone"]) == ["counted", "counter", "default"], first
        assert session.probe_semantics(counted, "hub.load", "cpu", "default") == first
        assert len(asked) == 1, asked
        session.probe_semantics(hazard, "hub.load", "cpu", "default")
        again = session.probe_semantics(counted, "hub.load", "cpu", "default")
        assert len(asked) == 3, "another model came in between: asked again"
        assert sorted(again["alone"]) == sorted(first["alone"])
    finally:
        session.close()
