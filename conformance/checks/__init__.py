"""The checks: one module per check, each declaring itself with :func:`registry.register` (see
docs/extending.md). Every list of checks and causes (the cases generated, the case functions pytest
collects, results.json's schema, ``schema.CAUSES``, the junit suites, the report's sections) is read from
:mod:`conformance.checks.registry`. Plain Python: no TensorFlow, and no numpy at import time (the runtime
side's pytest process never imports it)."""
