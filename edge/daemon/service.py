"""The service's life: start in order, tell systemd when ready, stop in reverse on SIGTERM/SIGINT.

``run_service`` is what ``edge-pose run`` ends with, after building the components from the
configuration::

    publisher.start()          # MQTT: first connect attempted (non-blocking)
    daemon.start()             # threads: publishing, inference, display, capture
    wait for the first frame   # or a reported camera error, or the source ending
    READY=1                    # systemd leaves "activating"; the watchdog is armed
    ... until SIGTERM/SIGINT, or the source ends (files), or a fatal error ...
    STOPPING=1
    daemon.stop()              # stop capture, finish the in-flight frame, queue the final state
    publisher.stop()           # flush state and outbox, publish "offline"
    closers (estimator...)     # in reverse order of creation

A camera that is down at start-up does not block readiness: the service reports ``READY=1`` with
``camera_error`` in its status and keeps retrying, instead of being killed by ``TimeoutStartSec``
and restarted in a loop. Exit code 0 after a signal or the end of a file; 1 after a fatal error
(systemd's ``Restart=on-failure`` restarts the service).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from edge.daemon.protocols import Publisher
from edge.daemon.runtime import Daemon

log = logging.getLogger(__name__)


def run_service(
    daemon: Daemon,
    publisher: Publisher,
    *,
    closers: Sequence[Callable[[], None]] = (),
    stop_event: threading.Event | None = None,
    install_signals: bool = True,
    ready_timeout_s: float = 30.0,
    stop_timeout_s: float = 8.0,
    publisher_stop_timeout_s: float = 4.0,
) -> int:
    """Run until stopped; returns the process exit code.

    Args:
        daemon: the runtime (not started).
        publisher: its publisher (not started).
        closers: called last, in the given order (e.g. ``estimator.close``).
        stop_event: set it to stop (tests); signals set it too.
        install_signals: handle SIGTERM and SIGINT (main thread only).
        ready_timeout_s: longest wait for the first frame before reporting ready anyway.
        stop_timeout_s: budget for the daemon's threads to stop.
        publisher_stop_timeout_s: budget for the publisher to flush and disconnect. The two
            budgets together stay well inside systemd's ``TimeoutStopSec=15s``.
    """
    stop = stop_event or threading.Event()
    notifier = daemon.notifier
    previous: dict[signal.Signals, Any] = {}
    if install_signals and threading.current_thread() is threading.main_thread():

        def _on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("%s received: stopping", signal.Signals(signum).name)
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, _on_signal)
    started = False
    try:
        notifier.status("starting: connecting, opening the camera")
        publisher.set_command_handler(daemon)
        publisher.start()
        daemon.start()
        started = True
        flowing = daemon.wait_started(ready_timeout_s, stop)
        if not flowing and not stop.is_set() and not daemon.finished.is_set():
            log.warning("no frame yet after start-up; reporting ready and retrying the camera")
        notifier.ready(daemon.status_line())
        log.info("running: %s", daemon.status_line())
        while not stop.wait(0.2):
            if daemon.finished.is_set():
                break
    finally:
        t0 = time.monotonic()
        notifier.stopping("stopping")
        if started:
            daemon.stop(stop_timeout_s)
        try:
            publisher.stop(publisher_stop_timeout_s)
        except Exception as exc:  # noqa: BLE001 - keep stopping the rest
            log.warning("publisher stop failed: %s", exc)
        for close in closers:
            try:
                close()
            except Exception as exc:  # noqa: BLE001
                log.warning("close failed: %s", exc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopped in %.2f s", time.monotonic() - t0)
    if daemon.error is not None:
        log.error("stopped on error: %s", daemon.error)
        return 1
    return 0
