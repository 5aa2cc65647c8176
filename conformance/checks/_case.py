"""How a case function ends, imported lazily: pytest (and conformance.outcome, which uses it) load only when a
case runs, so reading the registry (``schema.CAUSES``, the report) needs neither, as in the zoo's builders."""
from __future__ import annotations

from typing import Any, Optional


def skip(reason: str) -> None:
    """``pytest.skip(reason)``."""
    import pytest

    from conformance.outcome import note_verdict

    note_verdict(skip=reason)
    pytest.skip(reason)


def settle(case_id: str, expectation: Any, cause: Optional[Any], note: str = "") -> str:
    """:func:`conformance.outcome.settle`."""
    from conformance import outcome

    return outcome.settle(case_id, expectation, cause, note=note)


def settle_lost(case: Any, record: Any, case_record: Any) -> None:
    """:func:`conformance.outcome.settle_lost`."""
    from conformance import outcome

    outcome.settle_lost(case, record, case_record)
