"""The parameter-server case on real TensorFlow 2.21: without share_cluster_devices_in_session the guide's
error, with it one SGD step that lowers the loss; a case past its limit is killed with its servers; and no
process of a case outlives it."""
import os

import pytest

from conformance.causes import classify
from conformance.runtime.cluster_case import run_cluster

VARIANTS = [("hub.load", False, False), ("hub.load", True, False), ("hub.KerasLayer", False, False),
            ("hub.KerasLayer", True, False)]


def gone(pid):
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.tensorflow
def test_the_flag_decides_whether_a_tf2_savedmodel_trains_on_a_parameter_server(zoo_dir):
    results = run_cluster(os.path.join(zoo_dir, "reusable_tf2_written"), ["serve"], VARIANTS, 300)
    for api in ("hub.load", "hub.KerasLayer"):
        unshared, shared = results["%s unshared" % api], results["%s shared" % api]
        assert unshared["outcome"] == "error", unshared
        cause = classify(unshared["type"], unshared["message"])
        assert cause.id == "remote-device-unshared" and "/job:ps/" in cause.diagnosis, cause
        assert shared["outcome"] == "ok" and shared["loss_after"] < shared["loss_before"], shared
        assert shared["flag"] == "share_cluster_devices_in_session"  # the top-level field in TF >= 2.2
        assert shared["variables"], "the model's trainable variables are what the step updates"
    assert gone(results["hub.load shared"]["pid"]), "the case's process group, servers included, is ended"


@pytest.mark.tensorflow
def test_the_estimator_variant_says_that_tf_estimator_is_gone_from_tf_2_21(zoo_dir):
    results = run_cluster(os.path.join(zoo_dir, "reusable_tf2_written"), ["serve"],
                          [("hub.KerasLayer", False, True)], 300)
    assert results["hub.KerasLayer estimator-unshared"] == dict(results["hub.KerasLayer estimator-unshared"],
                                                                outcome="skip")
    assert "tf.estimator" in results["hub.KerasLayer estimator-unshared"]["why"]


@pytest.mark.tensorflow
def test_a_tf1_written_savedmodel_fails_differently_with_the_flag_in_tf2(zoo_dir):
    results = run_cluster(os.path.join(zoo_dir, "reusable_tf1_written"), ["serve"], [("hub.load", True, False)], 300)
    shared = results["hub.load shared"]
    assert shared["outcome"] == "error"
    assert classify(shared["type"], shared["message"]).id == "function-device-pinned"


@pytest.mark.tensorflow
def test_a_cluster_case_past_its_limit_is_killed_with_its_process_group(zoo_dir):
    results = run_cluster(os.path.join(zoo_dir, "reusable_tf2_written"), ["serve"], VARIANTS[:2], 0.5)
    assert {r["outcome"] for r in results.values()} == {"timeout"}
    assert "0.5s" in results["hub.load unshared"]["message"]
    assert gone(results["hub.load unshared"]["pid"])


def test_cluster_cases_are_made_for_tf2_savedmodels_on_cpu_through_two_apis(write):
    from conformance.cases import runtime_cases
    from conformance.matrix import load_matrix

    matrix = load_matrix(write("matrix.yaml", """
        runtimes:
          - {id: tf2, python: "3.11", tensorflow: tensorflow-cpu==2.21.0, tensorflow_hub: tensorflow-hub==0.16.1,
             mode: eager}
        models:
          - {id: tf2_model, handle: /m/a, format: saved_model_v2}
          - {id: tf1_model, handle: /m/b, format: saved_model_tf1}
          - {id: unknown, handle: https://example.org/m}
        """))
    cases = runtime_cases(matrix, matrix.runtimes[0], "cluster")
    assert sorted(c.id for c in cases) == sorted(
        "cluster[tf2_model-tf2-cpu-%s-%s]" % (api, variant)
        for api in ("hub.load", "hub.KerasLayer")
        for variant in ("unshared", "shared", "estimator-unshared", "estimator-shared"))
