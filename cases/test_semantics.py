"""The eager-computes-all-outputs semantics, per multi-output signature, in every runtime and device.

- ``semantics``: the TF1 use (the outputs it fetched) still works: an output that fails when computed,
  while the needed outputs work alone, is a migration hazard (eager runtimes, and graph-mode hub.load /
  KerasLayer whose signatures are functions).
- ``cost``: the ops the all-outputs call runs against those of the cheapest needed output alone (a
  deterministic measure; the seconds are recorded beside it), flagged above matrix.yaml's threshold.
- ``proof``: on a model with a ``counter``, using one output moves the counter where every output is
  computed and not where only fetched outputs run: TensorFlow's own behaviour, checked every night.

The case functions are the registered checks' (conformance/checks/): this file collects every runtime check
whose declaration names it (``semantics``, ``cost`` and ``proof`` today), as ``test_<check>``."""
from conformance.checks.registry import case_functions

globals().update(case_functions(__name__))
