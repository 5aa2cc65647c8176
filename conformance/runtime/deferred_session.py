"""A runtime session whose executor starts at its first real use: what a stored runtime's facts answer (its
devices, its run_info, where a served or fetched model's files are) needs no TensorFlow, so a run whose every
case is reused (conformance/pytest/reuse.py) starts none. Used by the pytest processes, like ``supervisor``."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

from conformance.handles import HandleError, expand, hub_cache_entry, hub_cache_has, is_url, loadable
from conformance.runtime.devices import Device


def facts_of(session: Any) -> Dict[str, Any]:
    """What is stored of a started session: its devices and run_info (only when it matched its declaration)."""
    return {"devices": {name: dict(device.as_dict(), name=device.name) for name, device in session.devices.items()},
            "run_info": session.run_info()}


class DeferredSession(object):
    """Answers from ``facts`` until something needs the executor; then ``start()`` (a SupervisedSession) runs
    once and ``on_start(session)`` is told."""

    def __init__(self, runtime: Any, facts: Mapping[str, Any], places: Mapping[str, str],
                 start: Callable[[], Any], on_start: Callable[[Any], None]):
        self.runtime = runtime
        self.devices = {name: Device(**found) for name, found in facts["devices"].items()}
        self._run_info = dict(facts["run_info"])
        self._places = dict(places)
        self._start, self._on_start = start, on_start
        self._session = None  # type: Optional[Any]

    @property
    def started(self) -> bool:
        return self._session is not None

    def real(self) -> Any:
        if self._session is None:
            self._session = self._start()
            self._on_start(self._session)
        return self._session

    def mismatches(self) -> List[str]:
        return self._session.mismatches() if self._session is not None else []  # facts are stored matched only

    def run_info(self) -> Dict[str, Any]:
        if self._session is not None:
            return self._session.run_info()
        return dict(self._run_info, executor_started=False)

    @property
    def restarts(self) -> int:
        return self._session.restarts if self._session is not None else 0

    @property
    def recycled(self) -> int:
        return self._session.recycled if self._session is not None else 0

    def resolve(self, model: Any) -> Optional[str]:
        """A ``{zoo_url}`` handle's files are the zoo's (what the loopback server serves); a URL already in the
        TF Hub cache is read there; anything else asks the executor."""
        if self._session is None and "zoo" in self._places:
            try:
                handle = expand(model.handle, dict(self._places, zoo_url=self._places["zoo"]), model.id)
                if is_url(handle):
                    if hub_cache_has(handle):
                        return hub_cache_entry(handle)
                else:
                    return loadable(handle)
            except (HandleError, OSError, ValueError):
                pass
        return self.real().resolve(model)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def __getattr__(self, name: str) -> Any:  # the probes: the executor is needed
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.real(), name)
