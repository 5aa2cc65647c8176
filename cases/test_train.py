"""Fine-tuning through each api (``train[<model>-<runtime>-<device>-<api>]``; see conformance/checks/train.py).
The case functions are the registered checks' (conformance/checks/): this file collects every runtime check
whose declaration names it (``train`` today), as ``test_<check>``."""
from conformance.checks.registry import case_functions

globals().update(case_functions(__name__))
