"""Process health: systemd notifications (readiness, watchdog, status), CPU temperature, memory.

Everything here is standard library and works the same on a laptop, in CI and on the Pi:

* ``sd_notify`` speaks systemd's notification protocol (sd_notify(3)) over the datagram socket named
  in ``$NOTIFY_SOCKET``; without that variable (not started by systemd, or ``Type=simple``) it does
  nothing. No library is needed for the five lines this takes (``sdnotify`` is unmaintained,
  ``systemd-python`` needs ``libsystemd-dev`` to build).
* ``watchdog_interval_s`` reads ``$WATCHDOG_USEC``/``$WATCHDOG_PID`` the way sd_watchdog_enabled(3)
  does and returns half the timeout, the interval at which to ping.
* ``SystemdNotifier`` wraps both: ``ready()``, ``status()``, ``watchdog()`` (rate-limited, so the
  frame loop can call it after every frame), ``stopping()``.
* ``cpu_temperature_c`` reads ``/sys/class/thermal/thermal_zone*/temp`` (milli-degrees Celsius);
  ``rss_mb`` reads the resident set size from ``/proc/self/statm``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

#: Thermal zone types that measure the CPU/SoC, most specific first (Raspberry Pi: ``cpu-thermal``).
CPU_ZONE_TYPES = (
    "cpu-thermal",
    "cpu_thermal",
    "soc_thermal",
    "soc-thermal",
    "x86_pkg_temp",
    "k10temp",
    "coretemp",
)

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def sd_notify(*lines: str) -> bool:
    """Send ``KEY=value`` lines to systemd, e.g. ``sd_notify("READY=1", "STATUS=running")``.

    The send never blocks: when the receiver's queue is full (a stalled manager, or a test that
    does not read) the message is dropped rather than stalling the frame loop that pings.

    Returns:
        True when the message was sent, False when not running under systemd's notification
        protocol (``$NOTIFY_SOCKET`` unset) or it could not be delivered (logged at debug).
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address[0] == "@":  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)
            sock.connect(address)
            sock.send("\n".join(lines).encode("utf-8"))
    except OSError as exc:
        log.debug("cannot notify systemd at %s: %s", address, exc)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Seconds between two ``WATCHDOG=1`` pings (half of ``WatchdogSec=``), or None when disabled.

    The watchdog applies to this process only when ``$WATCHDOG_PID`` is unset or names it
    (sd_watchdog_enabled(3)); a child process inheriting the environment must not ping.
    """
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    try:
        timeout_us = int(usec)
        if timeout_us <= 0 or (pid and int(pid) != os.getpid()):
            return None
    except ValueError:
        return None
    return timeout_us / 2e6


class SystemdNotifier:
    """Readiness, status and watchdog notifications for the daemon; every call is a no-op outside systemd.

    Args:
        send: the transport, ``sd_notify`` by default (tests pass a recorder).
        clock: monotonic clock in seconds.
        watchdog_s: ping interval; default ``watchdog_interval_s()`` read once at construction.
    """

    def __init__(
        self,
        send: Callable[..., bool] = sd_notify,
        clock: Callable[[], float] = time.monotonic,
        watchdog_s: float | None = None,
    ) -> None:
        self._send = send
        self._clock = clock
        self.watchdog_s = watchdog_interval_s() if watchdog_s is None else watchdog_s
        self._last_ping = float("-inf")
        self._lock = threading.Lock()
        self.pings = 0

    @property
    def enabled(self) -> bool:
        """True when systemd listens (``$NOTIFY_SOCKET`` set)."""
        return bool(os.environ.get("NOTIFY_SOCKET"))

    def ready(self, status: str = "") -> None:
        """Tell systemd that start-up is complete (``Type=notify`` units leave "activating")."""
        self._send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> None:
        """One line shown by ``systemctl status``."""
        self._send(f"STATUS={text}")

    def watchdog(self, force: bool = False) -> bool:
        """Ping the watchdog if half the timeout has passed since the last ping (or ``force``).

        Call it from the loop whose progress proves the service works (the frame loop), never
        from a timer thread: a hung camera or inference then stops the pings and systemd restarts
        the service.

        Returns:
            True when a ping was sent.
        """
        if self.watchdog_s is None:
            return False
        now = self._clock()
        with self._lock:
            if not force and now - self._last_ping < self.watchdog_s:
                return False
            self._last_ping = now
        self.pings += 1
        self._send("WATCHDOG=1")
        return True

    def stopping(self, status: str = "") -> None:
        """Tell systemd the service is shutting down."""
        self._send("STOPPING=1", *([f"STATUS={status}"] if status else []))


class ThermalProbe:
    """CPU temperature from the Linux thermal sysfs, or None where the board exposes none.

    The zone is chosen once: the first whose ``type`` is in ``CPU_ZONE_TYPES`` (in that order), else
    ``thermal_zone0``.

    Args:
        root: the thermal class folder; tests pass a fake tree.
    """

    def __init__(self, root: str | Path = "/sys/class/thermal") -> None:
        self.root = Path(root)
        self.path = self._find_zone()

    def _find_zone(self) -> Path | None:
        try:
            zones = sorted(self.root.glob("thermal_zone*"), key=lambda p: _zone_number(p.name))
        except OSError:
            return None
        typed: dict[str, Path] = {}
        for zone in zones:
            try:
                kind = (zone / "type").read_text().strip()
            except OSError:
                continue
            typed.setdefault(kind, zone / "temp")
        for kind in CPU_ZONE_TYPES:
            if kind in typed:
                return typed[kind]
        return zones[0] / "temp" if zones else None

    def read(self) -> float | None:
        """Degrees Celsius, rounded to 0.1, or None when unavailable (no zone, unreadable, bogus)."""
        if self.path is None:
            return None
        try:
            milli = int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None
        celsius = milli / 1000.0
        if not -60.0 < celsius < 200.0:  # some drivers report errors as huge values
            return None
        return round(celsius, 1)


def cpu_temperature_c(root: str | Path = "/sys/class/thermal") -> float | None:
    """CPU temperature in degrees Celsius, or None where the board exposes none."""
    return ThermalProbe(root).read()


def rss_mb(statm: str | Path = "/proc/self/statm") -> float:
    """Resident set size of this process in MiB (0.0 when /proc is unavailable)."""
    try:
        fields = Path(statm).read_text().split()
        return int(fields[1]) * _PAGE_SIZE / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return 0.0


def _zone_number(name: str) -> int:
    digits = name.removeprefix("thermal_zone")
    return int(digits) if digits.isdigit() else 1 << 30
