"""Loadability: every model loads through every TF Hub api, in every runtime and device, and each declared
signature runs on the agreed inputs. Ids: ``test_load[<model>-<runtime>-<device>-<api>]``.
The case functions are the registered checks' (conformance/checks/): this file collects every runtime check
whose declaration names it (``load`` today), as ``test_<check>``."""
from conformance.checks.registry import case_functions

globals().update(case_functions(__name__))
