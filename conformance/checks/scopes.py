"""Scopes shared by several checks' declarations (plain functions, so a declaration reads as one line)."""
from __future__ import annotations

from typing import Any, List, Optional


def declared_signatures(model: Any) -> List[Optional[str]]:
    """The signatures a per-signature runtime check is made on: matrix.yaml's ``signatures:``, else those
    the model's files show with several outputs (``detected_signatures``)."""
    return list(model.signatures or model.detected_signatures)


def several_outputs(model: Any) -> List[Optional[str]]:
    """:func:`declared_signatures` but those with one output in every graph variant: nothing is computed
    unasked there."""
    return [s for s in declared_signatures(model) if s not in model.single_output_signatures]


def seen_with_outputs(comparison: Any, model: Any, cell: Any, signature: str) -> bool:
    """A compare predicate: the cell recorded outputs for the signature."""
    return bool(cell.signature(signature).get("outputs_file"))
