"""Runtime checks that name no case file of their own (conformance/checks/, ``case_file`` left out): one
``test_<check>`` each, run in a runtime (``--runtime ID``) like the load, semantics, train and cluster
cases. Ids: ``<check>[<model>-<runtime>-<device>-<api>(-<signature>)]``."""
from conformance.checks.registry import case_functions

globals().update(case_functions(__name__))
