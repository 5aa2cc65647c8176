"""``gradient[<model>-<runtime>-<device>-<api>-<step>]``: the gradients of one fine-tuning step through an api
equal the reference runtime's (same api, cpu), within numeric's dtype tolerances."""
from __future__ import annotations

from conformance.checks._compare import training
from conformance.checks.registry import Check, register


def run(case, comparison, case_record):
    training(case, comparison, case_record, "gradient_file", "gradient-drift")


register(Check(name="gradient", side="compare", scope="signature", observes="training", run=run, doc=__doc__,
               causes=("gradient-drift",), section="drift",
               applies=lambda comparison, model, trained, step: bool(trained.signature(step).get("gradient_file"))))
