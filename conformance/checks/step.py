"""``step[<model>-<runtime>-<device>-<api>-<step>]``: the trainable variables after that step equal the
reference runtime's."""
from __future__ import annotations

from conformance.checks._compare import training
from conformance.checks.registry import Check, register


def run(case, comparison, case_record):
    training(case, comparison, case_record, "outputs_file", "step-drift")


register(Check(name="step", side="compare", scope="signature", observes="training", run=run, doc=__doc__,
               causes=("step-drift",)))
