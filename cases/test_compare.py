"""Cross-runtime conformance on recorded observations (``pytest cases/test_compare.py --compare RUN``).

Every cell is held to its model's reference cell (the reference runtime, cpu) or, failing that, to the
blessed goldens. Ids: ``test_<check>[<model>-<runtime>-<device>-<api>-<signature>]``.
"""
import pytest

from conformance.compare import checks
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


def test_inputs(compare_case, comparison, case_record):
    """Every runtime fed the signature byte-identical inputs."""
    model = comparison.matrix.model(compare_case.model)
    _finish(compare_case, case_record, checks.check_inputs(comparison.observed, model, compare_case.signature))


def test_signature(compare_case, comparison, case_record):
    """The cell describes the signature exactly as the reference does."""
    cell = comparison.cell(compare_case)
    fingerprint = cell.signature(compare_case.signature).get("inputs_fingerprint")
    reference = _reference(comparison, compare_case, fingerprint)
    try:
        result = checks.check_signature(cell, compare_case.signature, reference)
    except checks.NoReference as reason:
        pytest.skip(str(reason))
    _finish(compare_case, case_record, result)


def test_numeric(compare_case, comparison, case_record):
    """Every output is within tolerance of the reference's."""
    cell = comparison.cell(compare_case)
    fingerprint = cell.signature(compare_case.signature).get("inputs_fingerprint")
    reference = _reference(comparison, compare_case, fingerprint)
    model = comparison.matrix.model(compare_case.model)
    try:
        result = checks.check_numeric(cell, model, compare_case.signature, reference)
    except checks.NoReference as reason:
        pytest.skip(str(reason))
    _finish(compare_case, case_record, result)


def test_repeat(compare_case, comparison, case_record):
    """Two identical calls in the same cell agree bit for bit (otherwise: nondeterministic)."""
    _finish(compare_case, case_record, checks.check_repeat(comparison.cell(compare_case), compare_case.signature))
