"""The pytest plugin of hub-conformance, one concern per module joined by hooks: ``plugin`` (the entry point:
options, xdist worker count, and which mode runs), ``runtime`` (``--runtime ID``: one runtime's cases),
``comparison`` (``--compare RUN``: cross-runtime checks on recorded observations) and ``case`` (what both
modes share: a case's parameters, its record and its outcome)."""
