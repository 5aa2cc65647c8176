"""The eager-computes-all-outputs semantics: verdicts on what a runtime measured (plain Python).

In TF1 graph mode ``session.run`` evaluates only what is fetched; in TF2 (and TF 1.15 eager) calling
``m.signatures[s](...)`` computes every output. The runtime side records, per multi-output signature, the
all-outputs call and each output alone (fetched alone in graph mode, a pruned function in eager mode);
these functions turn that record into findings: hazards, overhead, and the proof on a stateful model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

LAZY_APIS = ("hub.Module", "saved_model")  # in graph mode these run only the fetched outputs
DEFAULT_OVERHEAD_THRESHOLD = 5.0


@dataclass
class Finding:
    hazards: Dict[str, str] = field(default_factory=dict)  # output -> what went wrong when computed
    needed: List[str] = field(default_factory=list)
    needed_fail: Dict[str, str] = field(default_factory=dict)  # needed outputs that failed alone
    all_failed: Optional[str] = None
    overhead: Optional[float] = None  # ops run by the all-outputs call / ops of the cheapest needed output
    time_ratio: Optional[float] = None  # the same in seconds: informative only (timings are noisy)
    notes: List[str] = field(default_factory=list)


def _problem(result: Dict[str, Any]) -> Optional[str]:
    """What is wrong with one measured computation: its error, or non-finite values; None when fine."""
    if result.get("error"):
        return result["error"]
    if result.get("finite") is False:
        return "non-finite values (NaN or inf)"
    return None


def assess(record: Dict[str, Any], fetch: Optional[Sequence[str]]) -> Finding:
    """Findings from ``record = {"all": {...}, "alone": {output: {...}}, "outputs": [...]}``.

    ``fetch`` is what the TF1 code fetched (matrix.yaml); without it every output that works alone counts
    as needed. A hazard is an output that fails when computed while the needed ones work alone.
    """
    finding = Finding()
    alone = record.get("alone") or {}
    outputs = list(record.get("outputs") or sorted(alone))
    finding.all_failed = _problem(record.get("all") or {})
    works = [o for o in outputs if o in alone and alone[o].get("measured") and _problem(alone[o]) is None]
    fails = {o: _problem(alone[o]) for o in outputs if o in alone and alone[o].get("measured")
             and _problem(alone[o]) is not None}
    finding.needed = list(fetch) if fetch else works
    finding.needed_fail = {o: fails[o] for o in finding.needed if o in fails}
    if finding.needed and not finding.needed_fail:
        finding.hazards = {o: p for o, p in fails.items() if o not in finding.needed}
    ops = record.get("ops") or {}
    needed_ops = [ops[o] for o in finding.needed if ops.get(o)]
    if ops.get("*") and needed_ops:
        finding.overhead = ops["*"] / float(min(needed_ops))
    else:
        finding.notes.append(record.get("ops_unavailable") or "no op count for the needed outputs")
    times = [alone[o]["seconds"] for o in finding.needed if o in alone and alone[o].get("seconds")
             and _problem(alone[o]) is None]
    all_seconds = (record.get("all") or {}).get("seconds")
    if times and all_seconds and finding.all_failed is None:
        finding.time_ratio = all_seconds / min(times)
    return finding


class NotAssessable(Exception):
    """The semantics cannot be judged in this cell (nothing the TF1 code needed works even alone)."""


def hazard_verdict(mode: str, api: str, finding: Finding, signature: str) -> Optional[str]:
    """One-line diagnosis when computing every output breaks the TF1 use, else None.

    The TF1 use is the outputs it fetched (``needed``). When they work alone but the all-outputs call
    fails, the outputs nobody asked for break it: a migration hazard wherever a call computes every output
    (eager runtimes; graph-mode hub.load / KerasLayer, whose signatures are functions). Lazy graph apis
    never compute the rest, so there the hazard is only recorded. Raises :class:`NotAssessable` when a
    needed output fails even alone: that is the load case's finding, not this one's.
    """
    if not finding.needed:
        raise NotAssessable("no output of %s works here even alone (see the load case)" % signature)
    if finding.needed_fail:
        raise NotAssessable("needed output(s) fail even when computed alone: %s (see the load case)"
                            % _listing(finding.needed_fail))
    if finding.all_failed is None or (mode == "graph" and api in LAZY_APIS):
        return None
    culprits = finding.hazards or {"(not computable alone here)": finding.all_failed}
    return ("signature %s computes every output and %s: %s; the TF1 code needed only %s"
            % (signature, "`%s` fails" % "`, `".join(sorted(culprits)), finding.all_failed,
               ", ".join("`%s`" % n for n in finding.needed)))


def _listing(problems: Dict[str, str]) -> str:
    return "; ".join("`%s`: %s" % (name, problem) for name, problem in sorted(problems.items()))


def proof_verdict(mode: str, api: str, delta: float, calls: int) -> Optional[str]:
    """Checks TensorFlow's own behaviour on the side-effect model; None when it is as documented.

    Using only the other output, ``calls`` calls must move the counter by ``calls`` where every output is
    computed (eager; graph-mode function calls) and by 0 where only fetched outputs run (lazy graph apis).
    """
    expected = 0 if (mode == "graph" and api in LAZY_APIS) else calls
    if delta == expected:
        return None
    what = "run only the fetched outputs" if expected == 0 else "compute every output"
    return ("counter moved by %g over %d call(s) using only the other output, expected %d: %s %s should "
            "%s; TensorFlow's semantics changed" % (delta, calls, expected, mode, api, what))


def migration_snippet(handle: str, tags: Optional[Sequence[str]], signature: str, argument_names: Sequence[str],
                      needed: Sequence[str], prune: Optional[Dict[str, Any]] = None) -> str:
    """The TF2 code that reproduces the TF1 use, with the pruned variant when one was needed."""
    tag_text = "" if tags is None else ", tags=%s" % json.dumps(list(tags))
    arguments = ", ".join("%s=%s" % (n, n) for n in argument_names)
    wanted = list(needed) or ["<output>"]
    lines = ["import tensorflow_hub as hub", "obj = hub.load(%s%s)" % (json.dumps(handle), tag_text)]
    if signature == "__call__":
        lines.append("y = obj(x, training=False)")
        return "\n".join(lines)
    lines.append("outputs = obj.signatures[%s](%s)  # computes every output" % (json.dumps(signature), arguments))
    lines.extend("%s = outputs[%s]" % (name, json.dumps(name)) for name in wanted)
    lines.append("# or: hub.KerasLayer(%s, signature=%s, output_key=%s%s)"
                 % (json.dumps(handle), json.dumps(signature), json.dumps(wanted[0]), tag_text))
    if prune:
        lines.append("# computing only %s (a pruned function runs just what it needs):" % ", ".join(wanted))
        lines.append("pruned = obj.prune(feeds=%s, fetches=%s)" % (json.dumps(prune["feeds"]),
                                                                   json.dumps(prune["fetches"])))
        lines.append("%s = pruned(%s)" % (wanted[0], ", ".join(prune["arguments"])))
    return "\n".join(lines)
