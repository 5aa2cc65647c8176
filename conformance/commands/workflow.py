"""``workflow``: write the nightly GitHub Actions workflow from matrix.yaml, or ``--check`` that it is current.

Each runtime runs in shards of at most ``models_per_job`` models (matrix.yaml), one job per shard
(``--shard k/n``: whole models, by a hash of their id, see ``cases.in_shard``); the report job merges them.
"""
from __future__ import annotations

import math
import os
from typing import Dict, List

import jinja2

from conformance.commands.generated import write_or_check
from conformance.matrix import Matrix, load_matrix

OUTPUT = os.path.join(".github", "workflows", "nightly.yml")
# Third-party actions, pinned to a commit (a tag can be moved); the tag is kept as a comment.
ACTIONS = {
    "checkout": "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
    "setup_python": "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065  # v5.6.0",
    "upload_artifact": "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02  # v4.6.2",
    "download_artifact": "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093  # v4.3.0",
    "cache": "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684  # v4.2.3",
}
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")  # cron's 0-6


def crons(matrix: Matrix) -> Dict[str, str]:
    """The nightly's two schedules at 03:17 UTC: every day but ``full_run_weekday`` (cells reused), and that
    day (none reused)."""
    day = WEEKDAYS.index(matrix.full_run_weekday)
    return {"daily_cron": "17 3 * * %s" % ",".join(str(d) for d in range(7) if d != day),
            "weekly_cron": "17 3 * * %d" % day}


def shard_count(matrix: Matrix, runtime_id: str) -> int:
    """Jobs for one runtime: its models split into shards of at most ``models_per_job``."""
    models = [m for m in matrix.models if not m.runtimes or runtime_id in m.runtimes]
    return max(1, int(math.ceil(len(models) / float(matrix.models_per_job))))


def jobs(matrix: Matrix) -> List[Dict[str, str]]:
    listed = []
    for runtime in matrix.runtimes:
        count = shard_count(matrix, runtime.id)
        for index in range(1, count + 1):
            listed.append({"runtime": runtime.id, "shard": "%d/%d" % (index, count),
                           "part": "%d-of-%d" % (index, count)})
    return listed


def render(matrix: Matrix) -> str:
    environment = jinja2.Environment(loader=jinja2.PackageLoader("conformance", "templates"),
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return environment.get_template("nightly.yml.j2").render(
        matrix_path=os.path.basename(matrix.path), jobs=jobs(matrix), actions=ACTIONS,
        models_per_job=matrix.models_per_job, **crons(matrix))


def register(commands) -> None:
    parser = commands.add_parser("workflow", help="generate .github/workflows/nightly.yml from matrix.yaml")
    parser.add_argument("--output", default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what would be written")
    parser.set_defaults(run=run)


def run(args) -> int:
    return write_or_check(render(load_matrix(args.matrix)), args.output, args.matrix, "workflow", args.check)
