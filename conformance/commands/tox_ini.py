"""``tox-ini``: write tox.ini from matrix.yaml (one env per runtime), or ``--check`` that it is current.

matrix.yaml is validated so that no value can change tox.ini's structure; the template checks again
that every value it writes stays on its line, so a gap in validation fails loudly instead.
"""
from __future__ import annotations

import collections
import os
import re
from typing import Any

import jinja2

from conformance.commands.generated import write_or_check
from conformance.matrix import Matrix, load_matrix
from conformance.yaml_source import SourceError, shown

TEST_RUNTIME = "tf2.21"  # the runtime whose packages the framework's own tests use

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
        test_runtime=matrix.runtime(TEST_RUNTIME))


def register(commands) -> None:
    parser = commands.add_parser("tox-ini", help="generate tox.ini from matrix.yaml")
    parser.add_argument("--output", default="tox.ini")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    parser.set_defaults(run=run)


def run(args) -> int:
    return write_or_check(render(load_matrix(args.matrix)), args.output, args.matrix, "tox-ini", args.check)
