"""Command-line commands, one per module; each has ``register(subparsers)`` and a ``run(args)``."""
