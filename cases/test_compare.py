"""Cross-runtime conformance on recorded observations (``pytest cases/test_compare.py --compare RUN``).

Every cell is held to its model's reference cell (the reference runtime, cpu) or, failing that, to the
blessed goldens. Ids: ``test_<check>[<model>-<runtime>-<device>-<api>-<signature>]``.
"""
import pytest

from conformance.compare import checks
from conformance.compare.observed import variables_reference_cell
from conformance.compare.goldens import GoldenError
from conformance.outcome import settle


def _reference(comparison, case, fingerprint):
    model = comparison.matrix.model(case.model)
    try:
        return checks.find_reference(comparison.observed, comparison.matrix, model, case.signature,
                                     comparison.goldens, fingerprint)
    except checks.NoReference as reason:
        pytest.skip(str(reason))
    except GoldenError as error:
        settle(case.id, case.expectation, checks.Cause(error.kind, str(error)))


def _finish(case, case_record, result):
    cause, details = result
    case_record(details=details)
    settle(case.id, case.expectation, cause)


def test_inputs(case, comparison, case_record):
    """Every runtime fed the signature byte-identical inputs."""
    model = comparison.matrix.model(case.model)
    _finish(case, case_record, checks.check_inputs(comparison.observed, model, case.signature))


def test_signature(case, comparison, case_record):
    """The cell describes the signature exactly as the reference does."""
    cell = comparison.cell(case)
    fingerprint = cell.signature(case.signature).get("inputs_fingerprint")
    reference = _reference(comparison, case, fingerprint)
    try:
        result = checks.check_signature(cell, case.signature, reference)
    except checks.NoReference as reason:
        pytest.skip(str(reason))
    _finish(case, case_record, result)


def test_numeric(case, comparison, case_record):
    """Every output is within tolerance of the reference's."""
    cell = comparison.cell(case)
    fingerprint = cell.signature(case.signature).get("inputs_fingerprint")
    reference = _reference(comparison, case, fingerprint)
    model = comparison.matrix.model(case.model)
    try:
        result = checks.check_numeric(cell, model, case.signature, reference)
    except checks.NoReference as reason:
        pytest.skip(str(reason))
    _finish(case, case_record, result)


def test_repeat(case, comparison, case_record):
    """Two identical calls in the same cell agree bit for bit (otherwise: nondeterministic), unless the
    signature writes state (a counter, a training step): then what changed is said, as a skip."""
    try:
        result = checks.check_repeat(comparison.cell(case), case.signature)
    except checks.Stateful as state:
        case_record(details={"stateful": str(state)})
        pytest.skip(str(state))
    _finish(case, case_record, result)


def test_lazy(case, comparison, case_record):
    """Each output fetched alone in graph mode equals that output of the same runtime's, device's and api's
    call of the whole signature: laziness is compared within one runtime, never across TF versions."""
    model = comparison.matrix.model(case.model)
    whole = comparison.observed.cells.get((case.model, case.runtime, case.device, case.api))
    try:
        result = checks.check_lazy(comparison.cell(case), model, case.signature, whole)
    except checks.NoReference as reason:
        pytest.skip(str(reason))
    _finish(case, case_record, result)


def test_compared(case, comparison, case_record):
    """A model the runtimes recorded (or a whole run) that gave nothing to compare is a failure, not green."""
    settle(case.id, case.expectation, checks.Cause("nothing-compared", comparison.why_nothing_compared(case)))


def _training(case, comparison, case_record, which, drift):
    model = comparison.matrix.model(case.model)
    if case.device != "cpu" and comparison.cell(case).signature(case.signature).get("draws_random"):
        pytest.skip("the step draws random numbers (dropout) and %s's are not the CPU's: its gradients and "
                    "variables are compared on cpu only" % case.device)
    try:
        reference = checks.training_reference(comparison.observed, comparison.matrix, model, case.api, which,
                                              case.signature)
        result = checks.check_numeric(comparison.cell(case), model, case.signature, reference, which, drift,
                                      step=True)
    except checks.NoReference as reason:
        pytest.skip(str(reason))
    _finish(case, case_record, result)


def test_gradient(case, comparison, case_record):
    """The gradients of one fine-tuning step through an api equal the reference runtime's (same api, cpu)."""
    _training(case, comparison, case_record, "gradient_file", "gradient-drift")


def test_step(case, comparison, case_record):
    """The trainable variables after that step equal the reference runtime's."""
    _training(case, comparison, case_record, "outputs_file", "step-drift")


def test_variables(case, comparison, case_record):
    """Every api's train step finds the trainable variables the first api's finds in the same runtime and
    device (as many, of the same shapes)."""
    cell = comparison.cell(case)
    reference = variables_reference_cell(comparison.observed, comparison.matrix, case.model, case.runtime,
                                         case.device)
    _finish(case, case_record, checks.check_variables(cell, reference))
