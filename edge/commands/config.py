"""``edge-pose check-config`` and ``edge-pose show-config``: validate and print the configuration.

``check-config`` prints ``config OK: PATH`` (exit 0) or the one-line error (exit 2, printed by the
CLI). ``show-config`` prints the effective configuration (defaults < file < environment) as TOML
with secrets redacted; ``--changed`` prints only what differs from the built-in defaults.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    from edge.config import add_config_arguments

    check = subparsers.add_parser(
        "check-config",
        help="validate the configuration file and exit",
        description="Validate the configuration (file, EDGE_POSE_* environment): exit 0 = valid, 2 = not.",
    )
    add_config_arguments(check, overrides=False)
    check.set_defaults(func=run_check)

    show = subparsers.add_parser(
        "show-config",
        help="print the effective configuration as TOML",
        description="Print the effective configuration (defaults < file < environment) as TOML, "
        "secrets redacted.",
    )
    add_config_arguments(show, overrides=False)
    show.add_argument(
        "--changed", action="store_true", help="only the settings that differ from the defaults"
    )
    show.set_defaults(func=run_show)


def run_check(args: argparse.Namespace) -> int:
    from edge.config import default_config_path, load

    config = load(args.config)
    if config.path is None:
        print(f"config OK: {default_config_path()} (not found; built-in defaults and environment)")
    else:
        print(f"config OK: {config.path}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from edge.config import load

    config = load(args.config)
    source = str(config.path) if config.path else "built-in defaults (no config file)"
    header = f"# edge-pose effective configuration from {source}; secrets redacted\n"
    if args.changed:
        header += "# only settings that differ from the defaults\n"
    sys.stdout.write(header + config.to_toml(only_changed=args.changed))
    return 0
