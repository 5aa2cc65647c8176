"""Tolerances: dtype-aware defaults, overridden per model and per output from matrix.yaml.

An element passes when ``|actual - reference| <= atol + rtol * |reference|`` (the reference is numpy's
``desired``: the test is asymmetric on purpose), or, in ULP mode, when the two floats are at most ``ulp``
representable values apart. Integers, booleans and strings compare exactly.

Defaults (TensorFlow's ``assertAllCloseAccordingToType``, which hub-conformance applies to runtime and
device drift as well):

=========  =======  =======
dtype      rtol     atol
=========  =======  =======
float16    1e-3     1e-3
bfloat16   1e-2     1e-2
float32    1e-6     1e-6
float64    1e-6     1e-6
others     exact    exact
=========  =======  =======

On ``gpu`` cells the float32 default is rtol = atol = 1e-5 and float64 1e-9 + the same: cuBLAS and cuDNN
choose other algorithms and reduction orders than the CPU kernels. TensorFloat-32 is turned off in runtime
processes that see a GPU (``tfmode.activate``), so float32 matmuls stay float32 and these bounds hold.

The gradients and post-step variables of train cells (the ``gradient`` and ``step`` checks) get
rtol = atol = 1e-5 for float32 on every device: a backward pass sums over the batch and every spatial
position, in an order the kernel chooses. XLA fuses and reorders those reductions (a convolution's gradient
on TF 1.15's XLA_CPU device measured 1.8e-6 from the CPU's), and TF 2.x's oneDNN kernels (on by default on
x86 Linux since 2.9) pick their blocking by the CPU's instruction set: on an AMD EPYC with AVX2 but no
AVX-512, tf2.15-graph's convolution gradient came 1.85e-6 from TF 1.15's and a batch norm's beta 1.4e-6,
where this project's earlier machines had matched to 1e-6. Outputs keep the float32 default.

NaN and infinities: a NaN must face a NaN and an infinity the same infinity; no tolerance applies to them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

DEFAULTS = {
    "float16": (1e-3, 1e-3),
    "bfloat16": (1e-2, 1e-2),
    "float32": (1e-6, 1e-6),
    "float64": (1e-6, 1e-6),
}
DEVICE_DEFAULTS = {"gpu": {"float32": (1e-5, 1e-5), "float64": (1e-6, 1e-6)}}
STEP_DEFAULTS = {"float32": (1e-5, 1e-5)}  # gradients and post-step variables, on every device


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 0.0
    atol: float = 0.0
    ulp: Optional[int] = None  # when set, compare by units in the last place instead
    source: str = "exact"

    @property
    def exact(self) -> bool:
        return self.ulp is None and self.rtol == 0.0 and self.atol == 0.0

    def describe(self) -> str:
        if self.ulp is not None:
            return "ulp<=%d (%s)" % (self.ulp, self.source)
        if self.exact:
            return "exact (%s)" % self.source
        return "rtol=%g atol=%g (%s)" % (self.rtol, self.atol, self.source)


def default_for(dtype: str, device: str = "cpu", step: bool = False) -> Tolerance:
    """The default for ``dtype`` on ``device``; ``step``: for a fine-tuning step's gradients and variables."""
    if step and dtype in STEP_DEFAULTS:
        rtol, atol = STEP_DEFAULTS[dtype]
        return Tolerance(rtol, atol, source="default for %s in a step" % dtype)
    per_device = DEVICE_DEFAULTS.get(device, {})
    if dtype in per_device:
        rtol, atol = per_device[dtype]
        return Tolerance(rtol, atol, source="default for %s on %s" % (dtype, device))
    if dtype in DEFAULTS:
        rtol, atol = DEFAULTS[dtype]
        return Tolerance(rtol, atol, source="default for %s" % dtype)
    return Tolerance(source="default for %s" % dtype)


def _apply(base: Tolerance, override: Mapping[str, Any], source: str) -> Tolerance:
    if not override:
        return base
    return Tolerance(rtol=float(override.get("rtol", base.rtol)), atol=float(override.get("atol", base.atol)),
                     ulp=override.get("ulp", base.ulp), source=source)


def tolerance_for(dtype: str, output_path: str, overrides: Mapping[str, Any], model_id: str,
                  device: str = "cpu", step: bool = False) -> Tolerance:
    """The tolerance for one output (``signature.output``): default (per device) < model-wide < per output."""
    tolerance = default_for(dtype, device, step)
    if dtype not in DEFAULTS:
        return tolerance  # ints, bools and strings are exact whatever the overrides say
    model_wide = {k: v for k, v in overrides.items() if k in ("rtol", "atol", "ulp")}
    tolerance = _apply(tolerance, model_wide, "model %s" % model_id)
    per_output = (overrides.get("outputs") or {}).get(output_path) or {}
    return _apply(tolerance, per_output, "model %s output %s" % (model_id, output_path))
