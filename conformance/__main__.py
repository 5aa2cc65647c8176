"""``python -m conformance COMMAND``: one module per command under conformance/commands/."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from conformance.commands import (bisect, bless, check, compare, history, init, report, summary, tox_ini, workflow,
                                  zoo)
from conformance.yaml_source import SourceError

COMMANDS = (init, check, zoo, tox_ini, workflow, compare, bless, summary, report, history, bisect)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__)
    parser.add_argument("--matrix", default="matrix.yaml", help="matrix file (default: matrix.yaml)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command in COMMANDS:
        command.register(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except SourceError as error:
        print("error: %s" % error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
