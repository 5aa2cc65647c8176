"""Expectations cannot hide a run: the rules ``check`` (and every runtime env) refuses, and what each rule covers.

Two kinds of rule are refused, each with one ``file:line: ...`` line naming the rule and why:

- a rule that matches **every case** of a model, of a runtime or of the whole matrix (``{model: "*", status:
  skip}``, ``{case: "*", status: fail, intermittent: [pass, skip]}``) without a ``broad:`` key saying why it
  may; a rule that only expects ``pass`` (no ``intermittent``) hides nothing and is never refused;
- a rule whose ``check``, ``case`` or ``signature`` pattern matches nothing in the matrix (``check: laod``), so
  that it silently applies to nothing.

Breadth is measured on the load cases the runtimes generate, found without TensorFlow (see
:func:`matrix_cases`); a ``case`` pattern is held to the cases of the checks it names; the compare side's cases
exist only after a run, so a ``case`` pattern naming a
compare check is held to the compare case ids the models and their known signatures could have. A
``signature`` pattern is checked only when every model's signatures are known (declared in matrix.yaml or read
from its files). The zoo's own expectations (conformance/zoo/expectations.yaml) name zoo models a matrix
may not list: only their ``check`` names and their breadth are checked.

With ``python -m conformance check --warn-only`` (or ``CONFORMANCE_EXPECTATIONS=warn`` in a runtime env)
the refusals are printed as warnings and the run goes on.
"""
from __future__ import annotations

import collections
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from conformance.expectations import Expectation, _Index, _patterns, glob_match

WARN_ENV = "CONFORMANCE_EXPECTATIONS"  # "warn": refusals become warnings in runtime envs too


def warn_only_from_env() -> bool:
    return os.environ.get(WARN_ENV, "").strip().lower() == "warn"


def _hides(rule: Expectation) -> bool:
    """Whether the rule can turn something other than a pass into an accepted outcome."""
    return rule.status != "pass" or bool(rule.intermittent)


def matrix_cases(matrix: Any, checks: Sequence[str] = ("load",), generated: Optional[Dict[str, List[Any]]] = None
                 ) -> List[Tuple[Dict[str, Any], str]]:
    """``(facts, case id)`` of every case of ``checks`` (runtime side) in every runtime of ``matrix``.

    The breadth of a rule is measured on the load cases: a rule covers every case of a model, a runtime or the
    matrix only if it covers every load case of it, and a rule covering every load case of a model expects it
    never to load (its other checks are then not generated, or can only fail). Generating every check's cases
    would cost far more (300 models: 350,000 cases, 10 s) for nothing more. ``generated``: the load cases of
    each runtime, where the caller has them already."""
    from conformance.cases import facts_of, runtime_cases

    models = {model.id: model for model in matrix.models}
    found = []
    for runtime in matrix.runtimes:
        base = {}  # type: Dict[str, Dict[str, Any]]  # facts_of's per model, made once (runtime.keras is dear)
        for check in checks:
            cases = generated[runtime.id] if generated is not None and check == "load" else \
                runtime_cases(matrix, runtime, check)
            for case in cases:
                facts = base.get(case.model)
                if facts is None:
                    facts = base[case.model] = facts_of(check, models[case.model], runtime, "", None)
                facts = dict(facts, check=case.check, device=case.device, api=case.api, signature=case.signature,
                             case=case.id)
                found.append((facts, case.id))
    return found


def _some_case_matches(matrix: Any, check: str, pattern: str) -> bool:
    """Whether a case of ``check`` matches ``pattern``, generated model by model until one does."""
    import dataclasses

    from conformance.cases import runtime_cases

    for model in matrix.models:
        alone = dataclasses.replace(matrix, models=[model])
        for runtime in matrix.runtimes:
            if any(glob_match(pattern, case.id) for case in runtime_cases(alone, runtime, check)):
                return True
    return False


def harness_labels() -> Set[str]:
    """Names the harness puts in a case's signature slot whatever the models: the check variants (``frozen``,
    ``estimator-unshared``...), the compare checks' labels, and ``__call__`` (a TF2 object's call)."""
    from conformance.cases import CLUSTER_VARIANTS, TRAIN_VARIANTS
    from conformance.checks import registry

    labels = {check.label for check in registry.all_checks() if check.side == "compare"}
    labels.update(CLUSTER_VARIANTS)
    labels.update(v for variants in TRAIN_VARIANTS.values() for v in variants if v)
    labels.add("__call__")
    return labels


def _signatures_by_model(matrix: Any) -> Dict[str, Optional[Set[str]]]:
    """Every signature (and signature-slot label) each model's cases can have; None where the model's own
    signatures are unknown before a run (a URL handle not yet fetched, with no ``signatures:``)."""
    labels = harness_labels()
    known = {}  # type: Dict[str, Optional[Set[str]]]
    for model in matrix.models:
        signatures = set(model.signatures or ()) | set(model.detected_signatures or ()) | set(
            getattr(model, "single_output_signatures", ()) or ())
        known[model.id] = (signatures | labels) if signatures else None
    return known


def _signatures_for(rule: Expectation, known: Dict[str, Optional[Set[str]]]) -> Optional[Set[str]]:
    """The signatures the models a rule names can have; None when one of those models' is unknown."""
    wanted = _patterns(dict(rule.match).get("model", "*"))
    found = set()  # type: Set[str]
    for model, signatures in known.items():
        if any(glob_match(pattern, model) for pattern in wanted):
            if signatures is None:
                return None
            found |= signatures
    return found


def _compare_case_matches(pattern: str, matrix: Any, signatures: Optional[Set[str]],
                          cells: Iterable[str]) -> bool:
    """Whether ``pattern`` can name a compare case: ``check[model-signature]`` or
    ``check[model-runtime-device-api-signature]`` of a compare check."""
    from conformance.checks import registry

    head = pattern.split("[", 1)[0]
    compare = [c.name for c in registry.all_checks() if c.side == "compare" and glob_match(head, c.name)]
    if not compare:
        return False
    if "[" not in pattern or signatures is None:
        return True  # the inside cannot be held to anything known before a run
    labels = sorted(signatures)
    insides = ["%s-%s" % (model.id, label) for model in matrix.models for label in labels]
    insides.extend("%s-%s" % (cell, label) for cell in cells for label in labels)
    return any(glob_match(pattern, "%s[%s]" % (name, inside)) for name in compare for inside in insides)


def refusals(matrix: Any, cases: Optional[Sequence[Tuple[Dict[str, Any], str]]] = None,
             zoo_file: Optional[str] = None) -> List[str]:
    """One line per refused rule, in the order of the files (empty: nothing hides a run)."""
    from conformance.checks import registry

    rules = list(matrix.expectations)
    if not rules:
        return []
    cases = matrix_cases(matrix) if cases is None else cases
    problems = {}  # type: Dict[int, str]
    # --- patterns that match nothing
    checks = registry.names()
    case_ids = [case_id for _, case_id in cases]

    def _names_a_case(pattern: str) -> bool:
        """Whether a case pattern matches a runtime case (the load cases at hand, others generated as needed)."""
        if any(glob_match(pattern, case_id) for case_id in case_ids):
            return True
        head = pattern.split("[", 1)[0]
        return any(_some_case_matches(matrix, name, pattern) for name in registry.names("runtime")
                   if name != "load" and (glob_match(head, name) or "[" not in pattern))

    by_model = _signatures_by_model(matrix)
    every_signature = None if any(v is None for v in by_model.values()) else set().union(*by_model.values())
    cells = sorted({case_id.split("[", 1)[1][:-1] for case_id in case_ids if case_id.startswith("load[")})
    for index, rule in enumerate(rules):
        from_zoo = zoo_file is not None and rule.source.rsplit(":", 1)[0] == zoo_file
        match = dict(rule.match)
        for pattern in _patterns(match.get("check", ())):
            if not any(glob_match(pattern, name) for name in checks):
                problems[index] = "match.check %r matches no check (known: %s)" % (pattern, ", ".join(checks))
        if from_zoo or index in problems:
            continue
        signatures = _signatures_for(rule, by_model)
        if signatures is not None:
            for pattern in _patterns(match.get("signature", ())):
                if not any(glob_match(pattern, name) for name in signatures):
                    problems[index] = ("match.signature %r matches no signature of the matrix's models (known: %s)"
                                       % (pattern, ", ".join(sorted(signatures)[:12])
                                          + (", ..." if len(signatures) > 12 else "")))
        for pattern in _patterns(match.get("case", ())):
            if not _names_a_case(pattern) \
                    and not _compare_case_matches(pattern, matrix, every_signature, cells):
                problems[index] = "match.case %r matches no case of the matrix" % pattern
    # --- rules that match every case of a model, a runtime or the matrix
    # only rules that can match load cases can cover every load case of anything
    candidates = [index for index, rule in enumerate(rules) if index not in problems and not rule.broad
                  and _hides(rule) and any(glob_match(p, "load") for p in _patterns(dict(rule.match).get("check",
                                                                                                    "load")))]
    coverage = dict(zip(candidates, _matched_counts([rules[i] for i in candidates], cases)))
    per_model = collections.Counter(facts["model"] for facts, _ in cases)
    per_runtime = collections.Counter(facts["runtime"] for facts, _ in cases)
    for index in candidates:
        rule = rules[index]
        total, models, runtimes = coverage[index]
        what = None
        if cases and total == len(cases):
            what = "every load case of the matrix (%d)" % total
        else:
            runtime = next((r for r, n in sorted(runtimes.items()) if n == per_runtime[r]), None)
            model = next((m for m, n in sorted(models.items()) if n == per_model[m]), None)
            if runtime is not None:
                what = "every load case of runtime %s (%d)" % (runtime, per_runtime[runtime])
            elif model is not None:
                what = "every load case of model %s (%d)" % (model, per_model[model])
        if what:
            problems[index] = ("matches %s and expects %s: a rule this broad hides a failing run; narrow its "
                               "match, or say why with `broad: <reason>`"
                               % (what, " or ".join((rule.status,) + tuple(rule.intermittent))))
    return ["%s: expectation %s: %s" % (rules[i].source, _shown(rules[i]), problems[i]) for i in sorted(problems)]


def _shown(rule: Expectation) -> str:
    return "{%s}" % ", ".join("%s: %s" % (key, value) for key, value in rule.match)


def _matched_counts(rules: Sequence[Expectation], cases: Sequence[Tuple[Dict[str, Any], str]]
                    ) -> List[Tuple[int, collections.Counter, collections.Counter]]:
    """Per rule: how many cases it matches (winning or not), per model and per runtime."""
    index = _Index(rules)
    totals = [0] * len(rules)
    models = [collections.Counter() for _ in rules]  # type: List[collections.Counter]
    runtimes = [collections.Counter() for _ in rules]  # type: List[collections.Counter]
    for facts, _ in cases:
        mask = index.matching(facts)
        while mask:
            position = mask.bit_length() - 1
            mask &= ~(1 << position)
            totals[position] += 1
            models[position][facts["model"]] += 1
            runtimes[position][facts["runtime"]] += 1
    return [(totals[i], models[i], runtimes[i]) for i in range(len(rules))]


def coverage(results: Iterable[Dict[str, Any]], rules: Sequence[Expectation] = ()) -> List[Dict[str, Any]]:
    """What each rule decided in a run: ``{"source", "status", "reason", "cases", "statuses"}`` per rule, the
    declared rules that decided nothing included (``cases: 0``), from the results' ``expectation_source``."""
    counted = collections.OrderedDict()  # type: Dict[str, Dict[str, Any]]
    for rule in rules:
        counted.setdefault(rule.source, {"source": rule.source, "status": rule.status, "reason": rule.reason,
                                         "cases": 0, "statuses": {}})
    for result in results:
        source = (result.get("details") or {}).get("expectation_source")
        if not source or source == "(default)":
            continue
        entry = counted.setdefault(source, {"source": source, "status": result.get("expected"), "reason": "",
                                            "cases": 0, "statuses": {}})
        entry["cases"] += 1
        entry["statuses"][result["status"]] = entry["statuses"].get(result["status"], 0) + 1
    return list(counted.values())


def coverage_line(counted: Sequence[Dict[str, Any]], limit: int = 3) -> str:
    """``expectations: 41 of 53 rules decided 3120 cases (most: file:line 812, ...); 12 decided none``."""
    used = sorted((e for e in counted if e["cases"]), key=lambda e: -e["cases"])
    return "expectations: %d of %d rules decided %d cases%s; %d decided none" % (
        len(used), len(counted), sum(e["cases"] for e in used),
        " (most: %s)" % ", ".join("%s %d" % (e["source"], e["cases"]) for e in used[:limit]) if used else "",
        len(counted) - len(used))
