"""What the compare checks' case functions share: the reference a cell is held to, ending a case on a
check's ``(cause, details)``, the training checks' body. numpy is imported here only when a case runs."""
from __future__ import annotations


from conformance.checks._case import settle, skip
from conformance.observations import safe_stem


def reference(comparison, case, fingerprint):
    """The reference cell's (or golden's) record of the case's signature; a case with none is skipped, a
    stale or missing golden fails with its cause."""
    from conformance.compare import checks
    from conformance.compare.goldens import GoldenError
    from conformance.compare.observed import writes_state

    model = comparison.matrix.model(case.model)
    prefer_api = case.api if writes_state(comparison.cell(case)) else None  # a stateful model: the same calls
    try:
        return checks.find_reference(comparison.observed, comparison.matrix, model, case.signature,
                                     comparison.goldens, fingerprint, prefer_api)
    except checks.NoReference as reason:
        skip(str(reason))
    except GoldenError as error:
        settle(case.id, case.expectation, checks.Cause(error.kind, str(error)))


def keep_reference(case, case_record, found, result):
    """On a failure, save the reference arrays the case was held to beside the compare observations, named
    in its details (``reference_file``): a repro script holds the runtime's arrays to them."""
    if result[0] is None:
        return
    import numpy as np

    arrays = {name: value for name, value in found.outputs.items() if isinstance(value, np.ndarray)}
    result[1]["reference_file"] = case_record.save_outputs("reference-%s" % safe_stem(case.id), arrays)


def finish(case, case_record, result):
    cause, details = result
    case_record(details=details)
    settle(case.id, case.expectation, cause)


def training(case, comparison, case_record, which, drift):
    """A train cell's arrays (``which``: gradients or variables after the step) against the same api's train
    cell in the reference runtime."""
    from conformance.compare import checks

    model = comparison.matrix.model(case.model)
    if case.device != "cpu" and comparison.cell(case).signature(case.signature).get("draws_random"):
        skip("the step draws random numbers (dropout) and %s's are not the CPU's: its gradients and "
                    "variables are compared on cpu only" % case.device)
    try:
        found = checks.training_reference(comparison.observed, comparison.matrix, model, case.api, which,
                                          case.signature)
        result = checks.check_numeric(comparison.cell(case), model, case.signature, found, which, drift,
                                      step=True)
    except checks.NoReference as reason:
        skip(str(reason))
    keep_reference(case, case_record, found, result)
    finish(case, case_record, result)
