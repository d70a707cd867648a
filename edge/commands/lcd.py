"""``edge-pose lcd``: drive the on-device screen from what a device publishes over MQTT.

The separate-unit mode (``systemd/edge-pose-lcd.service``), in the manner of kvmd-oled: the
screen keeps working, and says "offline", when the daemon restarts or dies.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from dataclasses import replace
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lcd",
        help="drive the on-device screen from MQTT (separate-unit mode)",
        description="Show one device's count, exercise, status, skeleton and silhouette on a small screen.",
    )
    out = parser.add_argument_group("screen (default: the [lcd] section of --config)")
    out.add_argument(
        "--output", choices=("fb", "luma", "png"), help="framebuffer, SPI panel via luma.lcd, or PNG file"
    )
    out.add_argument("--device", help="framebuffer device (fb output), e.g. /dev/fb1")
    out.add_argument("--driver", help="luma.lcd driver (luma output): st7789, ili9341, ...")
    out.add_argument("--width", type=int, help="panel width in pixels")
    out.add_argument("--height", type=int, help="panel height in pixels")
    out.add_argument("--rotate", type=int, choices=(0, 90, 180, 270), help="turn the image clockwise")
    out.add_argument("--fps", type=float, help="most frames per second drawn")
    out.add_argument("--png-path", help="file written by the png output")
    out.add_argument("--device-id", help="device to show (default [device] id, else the first heard)")
    out.add_argument(
        "--clear-on-exit", action="store_true", help="blank the screen on exit instead of 'stopped'"
    )
    from edge.dashboard.broker import add_broker_arguments

    add_broker_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edge.dashboard.broker import broker_settings, load_config
    from edge.lcd import LcdRenderer, LcdSettings, open_display
    from edge.lcd.feed import MqttFeed

    config = load_config(args.config)
    settings = LcdSettings.from_config(config.lcd) if config is not None else LcdSettings()
    overrides = {
        name: getattr(args, name)
        for name in ("output", "device", "driver", "width", "height", "rotate", "fps", "png_path")
        if getattr(args, name) is not None
    }
    settings = replace(settings, **overrides)
    device_id = args.device_id or str(getattr(config, "device_id", "") or "")  # the local device by default
    broker = broker_settings(args, config, client_id_prefix="edge-pose-lcd")

    renderer = LcdRenderer(open_display(settings), fps=settings.fps).start()
    feed = MqttFeed(renderer, broker, device_id).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    print(
        f"edge-pose lcd: {settings.output} {renderer.size[0]}x{renderer.size[1]}, broker {broker.url}",
        flush=True,
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        feed.stop()
        final = replace(renderer.state, online=False, landmarks=None, message="display stopped")
        renderer.stop(final=None if args.clear_on_exit else final, clear=args.clear_on_exit)
    return 0
