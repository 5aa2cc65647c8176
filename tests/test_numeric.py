"""Tolerance arithmetic and the figures of a numeric comparison."""
import numpy as np
import pytest

from conformance.compare.numeric import compare, flatten
from conformance.compare.tolerance import Tolerance, default_for, tolerance_for

F32 = default_for("float32")


def test_defaults_follow_dtype():
    assert (F32.rtol, F32.atol) == (1e-6, 1e-6)
    assert (default_for("float16").rtol, default_for("bfloat16").rtol, default_for("float64").rtol) == (
        1e-3, 1e-2, 1e-6)
    assert default_for("int64").exact and default_for("string").exact and default_for("bool").exact


def test_a_steps_gradients_get_a_float32_bound_of_1e5_on_every_device():
    """A backward pass's sums are reordered by the kernel the CPU's instruction set picks: the drift measured
    between TF 1.15's and oneDNN's convolution gradient on an AVX2 machine passes, a planted 1e-4 change does not."""
    for device in ("cpu", "xla", "gpu"):
        step = tolerance_for("float32", "train.kernel:0", {}, "m", device, step=True)
        assert (step.rtol, step.atol) == (1e-5, 1e-5), device
    assert tolerance_for("float32", "default.y", {}, "m", "cpu") == F32, "outputs keep the float32 default"
    reference = np.float32([-0.0178933, 0.8899172])
    measured = reference + np.float32([1.85e-6, 1.43e-6])
    step = default_for("float32", "cpu", step=True)
    assert compare("train.module/conv/kernel:0", measured, reference, step).ok
    assert not compare("train.module/conv/kernel:0", measured, reference, F32).ok
    planted = np.float32([0.1718, 0.1112])
    assert not compare("train.kernel:0", planted + np.float32([2.2e-5, 2.0e-5]), planted, step).ok


def test_reference_is_the_desired_side_asymmetry():
    tolerance = Tolerance(rtol=0.1, atol=0.0)
    # |1.0 - 1.105| = 0.105: allowed 0.1 * |1.105| = 0.1105 when 1.105 is the reference, 0.1 when 1.0 is.
    assert compare("o", np.float32([1.0]), np.float32([1.105]), tolerance).ok
    assert not compare("o", np.float32([1.105]), np.float32([1.0]), tolerance).ok


def test_failure_carries_every_figure():
    reference = np.array([[0.5, 1.0], [2.0, -4.0]], np.float32)
    actual = reference.copy()
    actual[1, 1] = -4.001
    actual[0, 0] = 0.5000001
    difference = compare("serving_default.logits", actual, reference, F32)
    assert not difference.ok
    assert difference.outside == 1 and difference.size == 4
    assert difference.worst_index == (1, 1)
    assert difference.worst_reference == pytest.approx(-4.0) and difference.worst_actual == pytest.approx(-4.001)
    assert difference.max_abs == pytest.approx(1e-3, rel=1e-3)
    assert difference.max_rel == pytest.approx(2.5e-4, rel=1e-3)
    line = difference.line()
    assert line.startswith("serving_default.logits float32 [2, 2]: 1 of 4 outside rtol=1e-06 atol=1e-06")
    assert "worst at [1, 1]" in line and "\n" not in line
    assert difference.margin > 100


def test_nan_and_inf_policy():
    nan, inf = float("nan"), float("inf")
    assert compare("o", np.float32([nan, inf, -inf]), np.float32([nan, inf, -inf]), F32).ok
    assert not compare("o", np.float32([nan]), np.float32([1.0]), F32).ok
    assert not compare("o", np.float32([1.0]), np.float32([nan]), F32).ok
    flipped = compare("o", np.float32([-inf]), np.float32([inf]), F32)
    assert not flipped.ok and "NaN/inf positions differ" in flipped.problem


def test_integers_booleans_and_strings_are_exact_whatever_the_overrides():
    loose = tolerance_for("int64", "s.ids", {"rtol": 0.5, "atol": 10}, "m")
    assert loose.exact
    difference = compare("s.ids", np.int64([1, 2, 9]), np.int64([1, 2, 3]), loose)
    assert not difference.ok and difference.worst_index == (2,) and difference.max_abs == 6
    assert not compare("s.flag", np.array([True]), np.array([False]), loose).ok
    words = compare("s.words", np.array([b"a", b"b"], dtype=object), np.array([b"a", b"c"], dtype=object), loose)
    assert not words.ok and words.worst_index == (1,) and words.worst_actual == b"b"


def test_shape_and_dtype_mismatch_are_named():
    assert compare("o", np.zeros(3, np.float32), np.zeros(4, np.float32), F32).problem == \
        "shape [3] vs reference [4]"
    assert compare("o", np.zeros(3, np.float64), np.zeros(3, np.float32), F32).problem == \
        "dtype float64 vs reference float32"


def test_overrides_per_model_and_per_output():
    overrides = {"rtol": 1e-4, "outputs": {"default.embedding": {"atol": 0.5}}}
    model_wide = tolerance_for("float32", "default.other", overrides, "m")
    assert (model_wide.rtol, model_wide.atol, model_wide.source) == (1e-4, 1e-6, "model m")
    per_output = tolerance_for("float32", "default.embedding", overrides, "m")
    assert (per_output.rtol, per_output.atol) == (1e-4, 0.5)
    assert per_output.source == "model m output default.embedding"


def test_ulp_mode():
    one = np.float32([1.0])
    next_up = np.nextafter(one, np.float32(2.0))
    three_up = np.nextafter(np.nextafter(next_up, np.float32(2)), np.float32(2))
    assert compare("o", next_up, one, Tolerance(ulp=1)).ok
    assert not compare("o", three_up, one, Tolerance(ulp=2)).ok
    # Across zero: -0.0 and +0.0 are 0 ULP apart; the smallest subnormals on either side are 2 apart.
    tiny = np.float32([np.finfo(np.float32).smallest_subnormal]) if hasattr(np.finfo(np.float32),
                                                                            "smallest_subnormal") else None
    assert compare("o", np.float32([-0.0]), np.float32([0.0]), Tolerance(ulp=0)).ok
    if tiny is not None:
        assert compare("o", -tiny, tiny, Tolerance(ulp=2)).ok and not compare("o", -tiny, tiny, Tolerance(ulp=1)).ok


def test_paths_of_nested_outputs():
    nested = {"logits": np.zeros(2), "extra": {"a": np.ones(1), "pair": [np.zeros(1), np.ones(1)]}}
    assert [path for path, _ in flatten(nested, "serving_default")] == [
        "serving_default.extra.a", "serving_default.extra.pair[0]", "serving_default.extra.pair[1]",
        "serving_default.logits"]
