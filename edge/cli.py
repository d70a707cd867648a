"""The ``edge-pose`` command line: a thin dispatcher over ``edge.commands``.

Errors a user can cause are ``EdgeError``s; they are printed as one line on stderr and the
command exits with code 2, never with a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from edge import __version__
from edge.errors import EdgeError

#: Subcommand modules in ``edge.commands``, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = ("process", "bench", "config", "dashboard", "lcd")

log = logging.getLogger("edge")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-pose",
        description="BlazePose pose estimation, rep counting and silhouettes for single-board computers.",
    )
    parser.add_argument("--version", action="version", version=f"edge-pose {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"edge.commands.{name}").register(subparsers)
    return parser


def setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except EdgeError as exc:
        print(f"edge-pose: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("edge-pose: interrupted", file=sys.stderr)
        return 130
