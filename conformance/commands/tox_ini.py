"""``tox-ini``: write tox.ini from matrix.yaml (one env per runtime) and each runtime's uv overrides
(overrides/<runtime>.txt, which its env installs with: UV_OVERRIDE), or ``--check`` that they are current.

matrix.yaml is validated so that no value can change tox.ini's structure; the template checks again
that every value it writes stays on its line, so a gap in validation fails loudly instead.
"""
from __future__ import annotations

import collections
import os
import re
import sys
from typing import Any, Dict

import jinja2

from conformance.commands.generated import write_or_check
from conformance.matrix import Matrix, load_matrix
from conformance.versions import NEVER
from conformance.yaml_source import SourceError, shown

TEST_RUNTIME = "tf2.21"  # the runtime whose packages the framework's own tests use
OVERRIDES_DIR = "overrides"  # next to tox.ini

_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]|\\$")


def _one_line(value: Any) -> Any:
    """Every value the template writes: no line breaks, control characters or trailing backslash."""
    if _LINE_BREAKING.search(str(value)):
        raise SourceError("tox.ini: refusing to write %s: it would not stay on its line" % shown(str(value)))
    return value


def render(matrix: Matrix) -> str:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance", "templates"),
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                                     finalize=_one_line)
    labels = collections.OrderedDict()  # type: collections.OrderedDict
    for runtime in matrix.runtimes:
        for label in runtime.labels:
            if label != "default":
                labels.setdefault(label, []).append(runtime.id)
    return environment.get_template("tox.ini.j2").render(
        matrix_path=os.path.basename(matrix.path), runtimes=matrix.runtimes,
        default_runtimes=[r for r in matrix.runtimes if r.is_default], labels=labels,
        test_runtime=matrix.runtime(TEST_RUNTIME), overrides_dir=OVERRIDES_DIR)


def render_overrides(matrix: Matrix) -> Dict[str, str]:
    """overrides/<runtime>.txt for every runtime: the lines of Runtime.overrides, under a header."""
    files = collections.OrderedDict()  # type: Dict[str, str]
    for runtime in matrix.runtimes:
        lines = ["# Generated from %s by `python -m conformance tox-ini`: uv overrides of runtime %s's env"
                 % (os.path.basename(matrix.path), runtime.id),
                 "# (tox.ini sets UV_OVERRIDE to this file). Each family of TensorFlow, tf-keras and Keras"
                 " distributions keeps",
                 "# only the member the runtime declares, at its declared version; `; %s` removes a"
                 " dependency." % NEVER]
        files[os.path.join(OVERRIDES_DIR, "%s.txt" % runtime.id)] = "\n".join(
            lines + [_one_line(line) for line in runtime.overrides]) + "\n"
    return files


def register(commands) -> None:
    parser = commands.add_parser("tox-ini", help="generate tox.ini from matrix.yaml")
    parser.add_argument("--output", default="tox.ini")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    parser.set_defaults(run=run)


def run(args) -> int:
    matrix = load_matrix(args.matrix)
    status = write_or_check(render(matrix), args.output, args.matrix, "tox-ini", args.check)
    base = os.path.dirname(args.output)
    wanted = render_overrides(matrix)
    for path, text in wanted.items():
        status = write_or_check(text, os.path.join(base, path), args.matrix, "tox-ini", args.check) or status
    folder = os.path.join(base, OVERRIDES_DIR)
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".txt") and os.path.join(OVERRIDES_DIR, name) not in wanted:
            print("%s: no runtime %s in %s: remove the file" % (os.path.join(folder, name), name[:-4], args.matrix),
                  file=sys.stderr)
            status = 1
    return status
