"""``edge-pose dashboard``: serve the live web dashboard for every device on a broker."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the live web dashboard (reads MQTT, streams to browsers)",
        description=(
            "Serve a web page that shows every edge-pose device on the broker live: count, exercise, "
            "skeleton, per-rep charts, fps and latency, with reset and set-exercise buttons. The browser "
            "talks only to this server; the server holds the broker credentials."
        ),
    )
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for the LAN)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8080)")
    parser.add_argument(
        "--command-token-file",
        metavar="PATH",
        help="file holding the devices' [commands] token, added to every command sent",
    )
    from edge.dashboard.broker import add_broker_arguments

    add_broker_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edge.dashboard.broker import broker_settings, load_config, read_password_file
    from edge.dashboard.service import DashboardService

    config = load_config(args.config)
    section = getattr(config, "dashboard", None)
    host = args.host or getattr(section, "host", None) or "127.0.0.1"
    port = args.port if args.port is not None else int(getattr(section, "port", 8080))
    token = ""
    if args.command_token_file:
        token = read_password_file(args.command_token_file, "--command-token-file")
    elif config is not None:
        token = str(getattr(getattr(config, "commands", None), "token", "") or "")
    settings = broker_settings(args, config, client_id_prefix="edge-pose-dashboard")

    service = DashboardService(settings, host=host, port=port, command_token=token)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    service.start()
    print(f"edge-pose dashboard at {service.url} (broker {settings.url})", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0
