"""The project's own model zoo: small models built deterministically, in the runtime that writes each format.

``catalog`` (plain Python) says what exists and who writes it; ``store`` keeps the built files and their
hashes; ``tf1_formats`` and ``reusable`` are the TensorFlow builders, run by ``build`` in the writer runtime.
"""
