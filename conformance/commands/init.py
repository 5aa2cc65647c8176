"""``init PATH...``: write a matrix for the given models (directories, .tar.gz files or URLs), with the
runtimes, devices and apis of the current matrix and the shipped generic expectations.

Each model is one line, ``id`` (from its file name) and ``handle``, as the README tells users to write it: its
format, graph variant (tags) and signatures are read from its files at run time. A comment above it says what
was read now (format, the tags it will be loaded with, its signatures) where the file is local. Nothing is
overwritten without ``--force``.
"""
from __future__ import annotations

import os
import re
import sys
from typing import Dict, List

import yaml

from conformance import saved_model_header
from conformance.handles import is_url
from conformance.matrix import load_matrix
from conformance.yaml_source import SourceError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERIC_EXPECTATIONS = os.path.join(ROOT, "expectations.yaml")


def register(commands) -> None:
    parser = commands.add_parser("init", help="write a matrix for the given model directories, archives or URLs")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a SavedModel or TF1 Hub directory, .tar.gz or URL")
    parser.add_argument("--output", "-o", default="matrix.yaml", help="file to write (default: matrix.yaml)")
    parser.add_argument("--force", action="store_true", help="overwrite the output file")
    parser.set_defaults(run=run)


def model_id(path: str, taken: Dict[str, int]) -> str:
    """An id from the path's last name: letters, digits, ``_ . -`` only, unique in the matrix."""
    name = os.path.basename(path.rstrip("/\\")) or "model"
    for suffix in (".tar.gz", ".tgz"):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-")[:60] or "model"
    taken[base] = taken.get(base, 0) + 1
    return base if taken[base] == 1 else "%s_%d" % (base, taken[base])


def model_entry(path: str, taken: Dict[str, int]) -> Dict[str, object]:
    handle = path if is_url(path) else os.path.abspath(path)
    entry = {"id": model_id(path, taken), "handle": handle}  # type: Dict[str, object]
    if is_url(path):
        return entry
    header = saved_model_header.read(handle)
    tags = header.default_tags()
    entry["_read"] = (header.format, tags, header.signatures[header.tag_sets.index(tags)], header.tag_sets)
    return entry


def render(template_path: str, output: str, entries: List[Dict[str, object]]) -> str:
    """The new matrix: the template's settings and runtimes, then the models (YAML written by PyYAML)."""
    with open(template_path) as stream:
        template = yaml.safe_load(stream)
    settings = {key: template[key] for key in ("overhead_threshold", "case_timeout", "devices", "apis")
                if key in template}
    if os.path.isfile(GENERIC_EXPECTATIONS):
        settings["expectations"] = os.path.relpath(GENERIC_EXPECTATIONS, os.path.dirname(os.path.abspath(output)))
    lines = ["# Written by `python -m conformance init` for %d model(s); runtimes from %s." % (
        len(entries), os.path.basename(template_path)),
        "# Check it with: python -m conformance --matrix %s check" % output, ""]
    lines.append(yaml.safe_dump(settings, sort_keys=False, default_flow_style=None, width=110).rstrip())
    lines.append(yaml.safe_dump({"runtimes": template["runtimes"]}, sort_keys=False, default_flow_style=None,
                                width=110).rstrip())
    lines.append("models:")
    for entry in entries:
        read = entry.pop("_read", None)
        if read is not None:
            form, tags, signatures, variants = read
            lines.append("  # %s, loaded with tags [%s]; signatures: %s%s" % (
                form, ", ".join(tags), ", ".join(signatures) or "none", "; graph variants (tags): %s" % (
                    " ".join("[%s]" % ", ".join(t) for t in variants)) if len(variants) > 1 else ""))
        else:
            lines.append("  # a URL: format, tags and signatures are found at run time")
        body = yaml.safe_dump([entry], sort_keys=False, default_flow_style=None, width=110)
        lines.extend("  " + line for line in body.rstrip().splitlines())
    return "\n".join(lines) + "\n"


def run(args) -> int:
    if os.path.exists(args.output) and not args.force:
        print("error: %s exists: choose another --output or pass --force to overwrite it" % args.output,
              file=sys.stderr)
        return 2
    taken = {}  # type: Dict[str, int]
    entries = []
    for path in args.paths:
        try:
            entries.append(model_entry(path, taken))
        except saved_model_header.NotAModel as error:
            print("error: %s: not a model: %s (expected a SavedModel or TF1 Hub directory, a .tar.gz of one, or "
                  "an http(s):// URL)" % (path, error), file=sys.stderr)
            return 2
    text = render(args.matrix, args.output, entries)
    with open(args.output, "w") as stream:
        stream.write(text)
    try:
        matrix = load_matrix(args.output)
    except SourceError as error:
        print("error: the written matrix does not validate (a hub-conformance bug): %s" % error, file=sys.stderr)
        return 1
    print("init: wrote %s: %d model(s) x %d runtime(s); next: python -m conformance --matrix %s check"
          % (args.output, len(matrix.models), len(matrix.runtimes), args.output))
    return 0
