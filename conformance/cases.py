"""Cases generated from the matrix: one per model × runtime × device × api and check, with stable ids."""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from conformance.expectations import Expectation, expected_for
from conformance.matrix import Matrix, Model, Runtime


@dataclass(frozen=True)
class Cell:
    model: str
    runtime: str
    device: str

    @property
    def key(self) -> str:
        return "%s-%s-%s" % (self.model, self.runtime, self.device)


@dataclass(frozen=True)
class Case:
    check: str
    cell: Cell
    api: Optional[str]  # None: the one load case of a model on a device this runtime lacks
    expectation: Expectation
    signature: Optional[str] = None  # for checks made per signature

    @property
    def model(self) -> str:
        return self.cell.model

    @property
    def runtime(self) -> str:
        return self.cell.runtime

    @property
    def device(self) -> str:
        return self.cell.device

    @property
    def param_id(self) -> str:
        """The part inside the brackets of the pytest node id."""
        return param_id_of(self.cell.key, self.api, self.signature)

    @property
    def id(self) -> str:
        """Stable, greppable case id, e.g. ``load[text_embed-tf1.15-graph-cpu-hub.Module]``."""
        return "%s[%s]" % (self.check, self.param_id)


def param_id_of(cell_key: str, api: Optional[str], signature: Optional[str]) -> str:
    return "-".join(part for part in (cell_key, api, signature) if part is not None)


def facts_of(check: str, model: Model, runtime: Runtime, device: str, api: Optional[str],
             versions: Optional[Dict[str, Optional[str]]] = None, signature: Optional[str] = None
             ) -> Dict[str, Any]:
    """The fields expectations match on; ``versions`` overrides unpinned runtime versions."""
    versions = versions or {}
    facts = {"check": check, "model": model.id, "runtime": runtime.id, "device": device, "api": api,
             "format": model.format, "mode": runtime.mode, "keras": runtime.keras,
             "tensorflow": runtime.tensorflow_version or versions.get("tensorflow"),
             "tensorflow_hub": runtime.tensorflow_hub_version or versions.get("tensorflow_hub")}
    facts["signature"] = signature
    facts["case"] = "%s[%s]" % (check, param_id_of(Cell(model.id, runtime.id, device).key, api, signature))
    return facts


# The parameter-server case (TF Hub migration guide): TF2 SavedModels, cpu, the two apis the guide trains with,
# without and with share_cluster_devices_in_session, in a TF1 Session and in an Estimator (in the signature
# slot of the case id).
CLUSTER_APIS = ("hub.load", "hub.KerasLayer")
# Fine-tuning through hub.KerasLayer, beside the plain step (None): trainable=True through a named signature
# (which tensorflow_hub refuses) and the guide's options (tags, signature, output_key,
# signature_outputs_as_dict) in a frozen layer under a trained head, for models that cannot be fine-tuned
# (on cpu and gpu: they check tensorflow_hub's Keras options, not a device).
TRAIN_VARIANTS = {"hub.KerasLayer": (None, "signature", "frozen")}
CLUSTER_VARIANTS = ("unshared", "shared", "estimator-unshared", "estimator-shared")


# Causes with which an api refuses a model or a runtime before reading the model's graph (the api does not
# exist, cannot run in this mode, or cannot read this format): nothing loads, whatever the signatures.
REFUSALS = ("api-absent", "graph-only-api", "eager-only-api", "incompatible-format")


def refused(load_expectation: Expectation) -> bool:
    """Whether a load case is expected to be refused (one of :data:`REFUSALS`, and a pass would be
    unexpected): the checks made on that load are then not generated, as each could only say that it did not
    load. Should the load pass after all, the load case fails as an unexpected pass, so nothing is hidden."""
    causes = (load_expectation.cause or "").split(" | ")
    return (load_expectation.status == "fail" and not load_expectation.allows("pass")
            and bool(load_expectation.cause) and all(cause in REFUSALS for cause in causes))


def runtime_cases(matrix: Matrix, runtime: Runtime, check: str = "load",
                  versions: Optional[Dict[str, Optional[str]]] = None, absent_devices: Iterable[str] = ()
                  ) -> List[Case]:
    """The ``check`` cases of ``runtime``, grouped by model (the order xdist groups them in), where the
    check's declaration (conformance/checks/<check>.py) says it applies: its models (``where``), devices,
    apis, and per scope one case per cell or per signature (or the check's ``variants``).

    Only the load cases are generated for every model, device and api; a check made on a loaded model
    (``made_on_load``) is not generated where it could only repeat a skip that the load case already states
    once:
    - a device in ``absent_devices`` (probed and not found: gpu on a machine without one), which gets one
      load case per model, for no api (``load[<model>-<runtime>-gpu]``), that says so;
    - an api whose load the expectations say is :func:`refused` (hub.Module in tensorflow-hub >= 0.16, in
      eager mode, or on a SavedModel);
    - for semantics and cost, a signature that the model's files show has one output (their ``signatures``
      scope: nothing is computed unasked)."""
    from conformance.checks import registry
    from conformance.checks.scopes import declared_signatures

    declared = registry.get(check)
    if declared.side != "runtime":
        raise ValueError("check %s is a %s check, not a runtime one" % (check, declared.side))
    cases = []
    absent = set(absent_devices)
    for model in matrix.models:
        if not matrix.runs_on(model, runtime) or not declared.where(model, runtime):
            continue
        signatures = [None]  # type: List[Optional[str]]
        if declared.scope == "signature":
            signatures = (declared.signatures or declared_signatures)(model)
        devices, apis = matrix.devices_of(model, runtime), matrix.apis_of(model)
        missing = [d for d in devices if d in absent] if declared.absent_device_case else []
        devices = [d for d in devices if d not in absent]
        if declared.devices is not None:
            devices = declared.devices(runtime, devices)
        if declared.apis is not None:
            apis = declared.apis(apis)
        for device in devices:
            for api in apis:
                if declared.made_on_load and refused(expected_for(facts_of("load", model, runtime, device, api,
                                                                           versions), matrix.expectations)):
                    continue
                variants = declared.variants(api, device, signatures) if declared.variants else signatures
                for signature in variants:
                    facts = facts_of(check, model, runtime, device, api, versions, signature)
                    cases.append(Case(check, Cell(model.id, runtime.id, device), api,
                                      expected_for(facts, matrix.expectations), signature))
        for device in missing:
            cases.append(Case(check, Cell(model.id, runtime.id, device), None, expected_for(
                facts_of(check, model, runtime, device, None, versions), matrix.expectations)))
    return cases


def load_cases(matrix: Matrix, runtime: Runtime, versions: Optional[Dict[str, Optional[str]]] = None
               ) -> List[Case]:
    """Loadability cases of ``runtime``: one per model × device × api."""
    return runtime_cases(matrix, runtime, "load", versions)


def parse_shard(text: str) -> Tuple[int, int]:
    """``k/n`` (1 <= k <= n) from ``--shard``; a ValueError names what is expected."""
    match = re.match(r"^(\d+)/(\d+)$", text or "")
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError("--shard %r: expected k/n with 1 <= k <= n, e.g. 2/4" % text)
    return int(match.group(1)), int(match.group(2))


def in_shard(model: str, shard: Tuple[int, int]) -> bool:
    """Whole models go to one shard (so each is loaded once), by a hash that is the same everywhere."""
    index, count = shard
    return zlib.crc32(model.encode("utf-8")) % count == index - 1
