"""Reuse of unchanged cells: a runtime case whose every input is unchanged since a run that recorded it is not
run again. Its observation is copied from the store and settled against today's expectations.

- :mod:`conformance.reuse.key`: what decides a case (its key);
- :mod:`conformance.reuse.store`: the bounded store under the user's cache dir, safe for runs at once;
- :mod:`conformance.pytest.reuse`: the plugin that replays stored cases and stores new ones.
"""
