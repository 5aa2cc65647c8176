"""The registry of checks: one :class:`Check` per check, declared by its own module in conformance/checks/.

What derives from it (and nothing else lists checks):
- which cases exist: :func:`conformance.cases.runtime_cases` (runtime side) and
  ``ComparisonPlugin.generate`` (compare side) enumerate each check's scope and apply its predicates;
- the case functions pytest collects: ``cases/test_*.py`` take theirs from :func:`case_functions`, named
  ``test_<check>`` (so node ids stay ``test_<check>[...]``), and ``plugin.MODE_OF_CASE_FILE`` maps each case
  file to its side;
- results.json's schema (the ``check`` enum, :func:`conformance.report.results.schema`), ``schema.CAUSES``,
  the junit suite of a result, the status a failure is reported as (``repeat``: nondeterministic) and the
  report section that renders a check (the numeric heatmap, the drift, cluster and compatibility tables).

Modules are found, not listed: every module of this package but ``registry`` and ``scopes`` is imported
once, in name order, the first time the registry is read.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

SIDES = ("runtime", "compare")
SCOPES = ("model", "cell", "signature")
# What a compare check reads, besides the model: the load cells, the semantics records (one per signature)
# or the train cells. None: the model's cells as a whole (inputs: every cell's fingerprints).
OBSERVES = (None, "cells", "semantics", "training")
SUITES = ("runtime", "compare")  # junit: the case's runtime's suite, or the one `compare` suite
SECTIONS = (None, "compat", "compat_train", "cluster", "drift", "heatmap")  # conformance/report/page.py
# Causes any case can end with, whatever its check: a hub-conformance bug, and a lost executor.
HARNESS_CAUSES = ("error", "harness-error", "timeout", "crash")


class RegistryError(ValueError):
    """A declaration that cannot be right (unknown side or scope, a name taken twice): raised at import."""


def _always(*_args: Any) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    """One check. ``run`` is its case function, a pytest entry point whose parameters are fixtures:
    ``(case, matrix, runtime_session, device, case_record)`` on the runtime side, ``(case, comparison,
    case_record)`` on the compare side. It ends the case with :func:`conformance.outcome.settle` (a cause
    or None) or ``pytest.skip``.

    Where it applies:
    - runtime side: one case per model (``where(model, runtime)``) × device (``devices(runtime, devices)``)
      × api (``apis(apis)``), and per ``scope``: ``cell`` one case, ``signature`` one per
      ``signatures(model)``; ``variants(api, device, signatures)`` may put other labels in the signature
      slot (train's Keras variants, cluster's flags). ``made_on_load``: not generated where the load is
      expected to be refused (conformance.cases.refused); ``absent_device_case``: one case per model for a
      device the runtime lacks (load only).
    - compare side: ``scope`` × ``observes``: ``signature`` with ``observes=None`` is one case per model and
      signature; with ``cells``/``semantics``/``training`` one per such observation and signature (a train
      cell's steps) for which ``applies(comparison, model, observation, signature)`` holds; ``cell`` one per
      observation (``label`` in the signature slot); ``model`` one per model that got no other compare case
      (``label`` in the signature slot), and one for a run with none at all.
    """
    name: str
    side: str
    scope: str
    run: Callable[..., Any]
    doc: str
    causes: Tuple[str, ...] = ()  # every cause id the check may name (expectations may name them)
    case_file: str = ""  # cases/<case_file>.py collects it (default: test_compare, or test_runtime)
    suite: str = "runtime"
    section: Optional[str] = None
    failure_status: str = "fail"  # what results.json calls its fail/xfail (repeat: nondeterministic)
    # runtime side
    where: Callable[..., bool] = _always
    signatures: Optional[Callable[..., List[Optional[str]]]] = None
    devices: Optional[Callable[..., List[str]]] = None
    apis: Optional[Callable[..., List[str]]] = None
    variants: Optional[Callable[..., Sequence[Optional[str]]]] = None
    made_on_load: bool = True
    # what ends the message of an expected failure, from the case (its expectation): also when it is reused
    settle_note: Callable[[Any], str] = lambda case: ""
    absent_device_case: bool = False
    # compare side
    observes: Optional[str] = "cells"
    applies: Callable[..., bool] = _always
    label: str = "*"

    @property
    def file(self) -> str:
        return self.case_file or ("test_compare" if self.side == "compare" else "test_runtime")


_CHECKS = {}  # type: Dict[str, Check]
_LOADED = []  # type: List[bool]
_SKIP_MODULES = ("registry", "scopes")


def register(check: Check) -> Check:
    """Declare ``check`` (called once, by its own module); a wrong declaration raises RegistryError."""
    where = "conformance/checks: check %r" % check.name
    if check.side not in SIDES:
        raise RegistryError("%s: side %r (allowed: %s)" % (where, check.side, ", ".join(SIDES)))
    if check.scope not in SCOPES:
        raise RegistryError("%s: scope %r (allowed: %s)" % (where, check.scope, ", ".join(SCOPES)))
    if check.observes not in OBSERVES:
        raise RegistryError("%s: observes %r (allowed: %s)" % (where, check.observes, OBSERVES))
    if check.suite not in SUITES or check.section not in SECTIONS:
        raise RegistryError("%s: suite %r / section %r (allowed: %s / %s)" % (where, check.suite, check.section,
                                                                             SUITES, SECTIONS))
    if check.name in _CHECKS and _CHECKS[check.name].run is not check.run:
        raise RegistryError("%s is declared twice" % where)
    _CHECKS[check.name] = check
    return check


def _load() -> None:
    if _LOADED:
        return
    _LOADED.append(True)
    folder = os.path.dirname(os.path.abspath(__file__))
    for info in sorted(pkgutil.iter_modules([folder]), key=lambda i: i.name):
        if info.name not in _SKIP_MODULES and not info.name.startswith("_"):
            importlib.import_module("conformance.checks.%s" % info.name)


def all_checks() -> List[Check]:
    """Every check: the runtime side first, each side by name."""
    _load()
    return sorted(_CHECKS.values(), key=lambda c: (SIDES.index(c.side), c.name))


def get(name: str) -> Check:
    _load()
    if name not in _CHECKS:
        raise KeyError("unknown check %r (registered: %s)" % (name, ", ".join(names())))
    return _CHECKS[name]


def names(side: Optional[str] = None) -> List[str]:
    return [c.name for c in all_checks() if side is None or c.side == side]


def declared_causes() -> List[str]:
    """Every cause a check declares, and the harness's, in declaration order, each once."""
    return list(dict.fromkeys(list(HARNESS_CAUSES) + [cause for c in all_checks() for cause in c.causes]))


def with_section(section: str) -> List[str]:
    return [c.name for c in all_checks() if c.section == section]


def failure_status(name: str) -> str:
    """What results.json calls a fail or xfail of check ``name`` (``fail`` for a name not registered)."""
    _load()
    check = _CHECKS.get(name)
    return check.failure_status if check is not None else "fail"


def suite_of(name: str) -> str:
    _load()
    check = _CHECKS.get(name)
    return check.suite if check is not None else "runtime"


def case_files() -> Dict[str, str]:
    """``{"test_load.py": "runtime", ..., "test_compare.py": "compare"}``: each case file and its side (the
    two default files, test_runtime.py and test_compare.py, even while no check falls back to them)."""
    files = {"test_runtime.py": "runtime", "test_compare.py": "compare"}
    files.update((c.file + ".py", c.side) for c in all_checks())
    return files


def case_functions(case_file: str) -> Dict[str, Callable[..., Any]]:
    """The ``test_<check>`` functions of ``cases/<case_file>.py`` (its module ``__name__`` will do):
    ``globals().update(case_functions(__name__))`` there makes pytest collect one per registered check."""
    stem = case_file.rsplit(".", 1)[-1]
    functions = {}
    for check in all_checks():
        if check.file == stem:
            functions["test_%s" % check.name] = _case_function(check)
    return functions


def _case_function(check: Check) -> Callable[..., Any]:
    run = check.run
    # pytest reads the fixtures from the signature and the check from the name; a wrapper keeps both
    # (functools.wraps copies __wrapped__, which inspect.signature follows).
    import functools

    @functools.wraps(run)
    def case_function(*args: Any, **kwargs: Any) -> Any:
        return run(*args, **kwargs)

    case_function.__name__ = case_function.__qualname__ = "test_%s" % check.name
    case_function.__doc__ = check.doc
    case_function.conformance_check = check.name  # type: ignore[attr-defined]
    return case_function


def check_of(function: Any) -> Check:
    """The check a collected case function runs."""
    name = getattr(function, "conformance_check", None) or function.__name__[len("test_"):]
    return get(name)

