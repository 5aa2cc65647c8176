"""What every api gives once a model is loaded (:class:`Loaded`), and the errors shared by the apis."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from conformance.runtime.devices import Device
from conformance.runtime.not_applicable import NotApplicable

CALL = "__call__"
HIDDEN_SIGNATURES = ("__saved_model_init_op",)


class SignatureNotFound(KeyError):
    def __str__(self):
        return str(self.args[0])


def missing(signature: str, names: Sequence[str], api: str) -> SignatureNotFound:
    return SignatureNotFound("signature '%s' is not found under %s (it sees: %s)"
                             % (signature, api, ", ".join(sorted(names)) or "none"))


def tags_kwargs(tags: Optional[Sequence[str]]) -> Dict[str, Any]:
    """``tags=`` for a loader, where the model's entry gives them (None: the loader's default)."""
    return {} if tags is None else {"tags": list(tags)}


def as_dict(outputs: Any) -> Dict[str, Any]:
    return dict(outputs) if isinstance(outputs, Mapping) else {"default": outputs}


class Loaded(object):
    """A model loaded through one api; its calls are placed per device."""

    def signature_names(self) -> List[str]:
        raise NotImplementedError

    def describe(self, signature: str) -> Dict[str, Any]:
        raise NotImplementedError

    def call(self, signature: str, inputs: Mapping[str, np.ndarray], device: Device,
             fetch: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
        """Outputs of ``signature`` on ``inputs``, placed or compiled for ``device``.

        ``fetch`` names the outputs a graph-mode caller runs (TF1 ``session.run`` semantics); eager calls
        compute every output whatever is asked.
        """
        raise NotImplementedError

    def call_alone(self, signature: str, inputs: Mapping[str, np.ndarray], device: Device, output: str) -> np.ndarray:
        """One output computed alone: fetched alone in graph mode, a pruned function in eager mode."""
        raise NotApplicable("%s cannot compute one output alone in this mode" % type(self).__name__)

    def prune_names(self, signature: str, output: str) -> Optional[Dict[str, Any]]:
        """Tensor names a user passes to ``obj.prune`` for this output, where pruning exists."""
        return None

    def op_counts(self, signature: str, device: Device) -> Dict[str, int]:
        """Ops that run for all outputs (``"*"``) and for each output alone: a deterministic cost."""
        raise NotApplicable("%s cannot compute one output alone in this mode" % type(self).__name__)

    def close(self) -> None:
        pass
