"""Cross-runtime conformance on recorded observations (``pytest cases/test_compare.py --compare RUN``).

Every cell is held to its model's reference cell (the reference runtime, cpu) or, failing that, to the
blessed goldens. Ids: ``test_<check>[<model>-<runtime>-<device>-<api>-<signature>]``.

The case functions are the registered compare checks' (conformance/checks/): one ``test_<check>`` each."""
from conformance.checks.registry import case_functions

globals().update(case_functions(__name__))
