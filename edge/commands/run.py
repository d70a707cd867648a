"""``edge-pose run``: the device daemon (camera -> pose -> reps -> MQTT, LCD, dashboard), e.g. under systemd.

The composition root. It reads the configuration once, builds every component from it, starts
them in order and stops them in reverse:

    embedded broker (mqtt.host = "")  ->  publisher  ->  LCD, dashboard  ->  source, estimator,
    counter, silhouettes  ->  daemon threads  ->  READY=1 ... SIGTERM ... STOPPING=1  ->  daemon
    threads  ->  publisher (flush, "offline")  ->  silhouettes, estimator, dashboard, LCD  ->  broker

A configuration or input mistake is one line on stderr and exit code 2 (systemd does not restart
on it: ``RestartPreventExitStatus=2``); a fatal runtime error exits with 1 (restarted).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    from edge.config import add_config_arguments

    parser = subparsers.add_parser(
        "run",
        help="run the device daemon: camera -> pose -> reps -> MQTT (the systemd service)",
        description=(
            "Capture from the configured source, estimate the pose, count repetitions and publish "
            "state, poses, reps, silhouettes and stats over MQTT until SIGTERM/SIGINT (or the end of "
            "a file). Under systemd it reports readiness, status and watchdog pings."
        ),
    )
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edge.config import load, overrides_from_args
    from edge.daemon import journal

    config = load(args.config, overrides=overrides_from_args(args))
    journal.configure(config.logging.level, getattr(args, "verbose", 0))
    return serve(config)


def serve(
    config: Any,
    *,
    stop_event: threading.Event | None = None,
    install_signals: bool = True,
    notifier: Any = None,
) -> int:
    """Build the components from ``config`` and run until stopped; returns the exit code.

    Raises:
        EdgeError: a component cannot be built (bad value, missing file or model, port in use);
            everything already started is stopped first.
    """
    from edge.camera import open_camera_source
    from edge.daemon import Daemon, run_service
    from edge.daemon.compose import (
        LcdSink,
        build_silhouette_stage,
        daemon_settings,
        estimator_options,
        mask_needed,
    )
    from edge.health import SystemdNotifier
    from edge.mqtt import EmbeddedBroker, MqttPublisher
    from edge.reps import RepCounter

    notifier = notifier or SystemdNotifier()
    notifier.status("starting: loading the model, opening the camera")
    undo: list[Callable[[], None]] = []  # stops for what is already started, in start order
    try:
        broker_address = None
        if not config.mqtt.host:
            broker = EmbeddedBroker(port=config.mqtt.embedded_port, ws_port=config.mqtt.embedded_ws_port)
            broker.start()
            undo.append(lambda: broker.stop(timeout=2.0))
            broker_address = broker.address
        publisher = MqttPublisher(config, broker=broker_address)

        display = None
        if config.lcd.enabled:
            from edge.lcd import LcdRenderer, LcdSettings

            renderer = LcdRenderer.from_settings(LcdSettings.from_config(config.lcd))
            renderer.start()
            undo.append(lambda: renderer.stop(timeout=2.0))
            display = LcdSink(renderer)
        if config.dashboard.enabled:
            from edge.dashboard.service import DashboardService

            dashboard = DashboardService.from_config(config)
            dashboard.start()
            undo.append(dashboard.stop)

        holder: dict[str, Daemon] = {}
        opened = open_camera_source(
            config.source, on_status=lambda status: holder["daemon"].on_source_status(status)
        )
        from edge.blazepose import PoseEstimator

        estimator = PoseEstimator(estimator_options(config.pose, mask_needed(config)))
        undo.append(estimator.close)
        silhouette = build_silhouette_stage(config.silhouette, config.pose, config.publish)
        counter = RepCounter(config.reps.exercise)
        daemon = holder["daemon"] = Daemon(
            opened.source,
            estimator,
            counter,
            publisher,
            daemon_settings(config, opened),
            silhouette=silhouette,
            display=display,
            notifier=notifier,
        )
    except BaseException:
        _stop_all(undo)
        raise
    log.info(
        "edge-pose %s: %s -> %s model (%s) -> mqtt %s",
        config.device_id,
        opened.label,
        config.pose.model,
        config.pose.delegate,
        "embedded broker" if broker_address else f"{config.mqtt.host}:{config.mqtt.port}",
    )
    # stop budgets (daemon 5 s, publisher 4 s, LCD 2 s, dashboard <= 5 s, broker 2 s) stay within
    # the unit's TimeoutStopSec=20s even when every part is at its worst
    return run_service(
        daemon,
        publisher,
        closers=list(reversed(undo)),
        stop_event=stop_event,
        install_signals=install_signals,
        stop_timeout_s=5.0,
        publisher_stop_timeout_s=4.0,
    )


def _stop_all(undo: list[Callable[[], None]]) -> None:
    for stop in reversed(undo):
        try:
            stop()
        except Exception as exc:  # noqa: BLE001 - keep stopping the rest
            log.warning("stopping after a failed start: %s", exc)
