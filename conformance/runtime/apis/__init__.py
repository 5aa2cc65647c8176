"""Loading a model through one TF Hub api and calling its signatures, in graph or eager mode.

Every api gives the same small surface (:class:`Loaded`): the signature names it sees, a description of a
signature (input / output names, dtypes, shapes, kinds) and a call that returns numpy arrays. One module per
api (``hub_module``, ``hub_load``, ``keras_layer``, ``saved_model``); ``graph`` runs any of them in a TF1
session, ``objects`` reads a loaded TF2 object's signatures and ``__call__``, ``tensors`` turns agreed inputs
into the tensors a signature takes.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from conformance.runtime.apis.hub_load import open_hub_load
from conformance.runtime.apis.hub_module import open_hub_module
from conformance.runtime.apis.keras_layer import open_keras_layer
from conformance.runtime.apis.loaded import CALL, Loaded, NotApplicable, SignatureNotFound
from conformance.runtime.apis.saved_model import open_saved_model
from conformance.runtime.devices import Device

__all__ = ["CALL", "Loaded", "NotApplicable", "SignatureNotFound", "loads_per_device", "open_model"]


def loads_per_device(api: str, tf: Any) -> bool:
    """True in graph mode: a session places every op of its graph, so ops built for one device (say
    XLA_CPU) would break later runs for another; each device gets its own graph."""
    return not tf.executing_eagerly()


def open_model(api: str, tf: Any, hub: Any, handle: str, resolved_path: Callable[[], str],
               tags: Optional[Sequence[str]], signatures: Optional[Sequence[str]] = None,
               device: Optional[Device] = None, clear_devices: bool = False,
               listed: Callable[[], Sequence[str]] = lambda: ()) -> Loaded:
    """Load ``handle`` through ``api``; raises what TensorFlow raises.

    ``device`` matters where :func:`loads_per_device` says so (graph mode); eager calls are placed per call.
    ``listed()``: the signatures the model's files name, where they could be read (a hint, never trusted;
    read only by the api that needs it).
    """
    if api == "hub.Module":
        return open_hub_module(tf, hub, handle, tags, device)
    if api == "hub.load":
        return open_hub_load(tf, hub, handle, tags, device)
    if api == "hub.KerasLayer":
        return open_keras_layer(tf, hub, handle, tags, signatures, device, listed)
    if api == "saved_model":
        return open_saved_model(tf, resolved_path(), tags, device, clear_devices)
    raise ValueError("unknown api %r" % api)
