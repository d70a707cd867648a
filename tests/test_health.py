"""systemd notifications, watchdog interval, CPU temperature and RSS (edge.health)."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from edge.health import (
    SystemdNotifier,
    ThermalProbe,
    cpu_temperature_c,
    rss_mb,
    sd_notify,
    watchdog_interval_s,
)


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake systemd: a bound datagram socket named by NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(1.0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def test_ok__sd_notify_is_a_no_op_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Laptop and CI runs must not fail or block because systemd is not there."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False


def test_ok__sd_notify_sends_all_lines_in_one_datagram(notify_socket: socket.socket) -> None:
    """systemd reads one datagram per message; READY and STATUS must arrive together."""
    assert sd_notify("READY=1", "STATUS=running") is True
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=running"


def test_ok__sd_notify_reaches_an_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd may name an abstract-namespace socket ("@..."); the leading @ must become a NUL byte."""
    name = f"edge-pose-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(1.0)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sd_notify("WATCHDOG=1")
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_ok__sd_notify_survives_a_vanished_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A notification that cannot be delivered is dropped, never raised into the frame loop."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert sd_notify("WATCHDOG=1") is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (None, None, None),  # WatchdogSec= not set
        ("30000000", None, 15.0),  # ping at half the timeout
        ("200000", "self", 0.1),  # the watchdog is ours
        ("200000", "1", None),  # inherited by a child: not ours to ping
        ("0", None, None),
        ("soon", None, None),
    ],
)
def test_ok__watchdog_interval_follows_sd_watchdog_enabled(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    """Pinging too rarely gets the service killed; pinging for another process confuses systemd."""
    for name, value in (
        ("WATCHDOG_USEC", usec),
        ("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid),
    ):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert watchdog_interval_s() == expected


def test_ok__notifier_rate_limits_watchdog_pings() -> None:
    """The frame loop calls watchdog() every frame; systemd must get one ping per interval, not 30/s."""
    sent: list[tuple[str, ...]] = []
    now = [0.0]
    notifier = SystemdNotifier(
        send=lambda *lines: sent.append(lines) or True, clock=lambda: now[0], watchdog_s=1.0
    )
    for step in range(31):  # 3 s of frames at 10 fps
        now[0] = step * 0.1
        notifier.watchdog()
    assert [s for s in sent if s == ("WATCHDOG=1",)] == [("WATCHDOG=1",)] * 4  # t = 0, 1, 2, 3
    assert notifier.watchdog(force=True)


def test_ok__notifier_without_watchdog_never_pings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without WatchdogSec= there is nothing to ping."""
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    sent: list[tuple[str, ...]] = []
    notifier = SystemdNotifier(send=lambda *lines: sent.append(lines) or True)
    assert notifier.watchdog() is False
    notifier.ready("running")
    notifier.stopping()
    assert sent == [("READY=1", "STATUS=running"), ("STOPPING=1",)]


def _zone(root: Path, n: int, kind: str, temp: str) -> None:
    zone = root / f"thermal_zone{n}"
    zone.mkdir(parents=True)
    (zone / "type").write_text(kind + "\n")
    (zone / "temp").write_text(temp + "\n")


def test_ok__cpu_temperature_from_a_raspberry_pi_tree(tmp_path: Path) -> None:
    """A Pi exposes cpu-thermal in millidegrees; the stats message wants degrees Celsius."""
    _zone(tmp_path, 0, "cpu-thermal", "48312")
    assert cpu_temperature_c(tmp_path) == 48.3


def test_ok__cpu_zone_is_preferred_over_other_zones(tmp_path: Path) -> None:
    """Boards list ACPI, battery or Wi-Fi zones too; the CPU's one must be picked, whatever its number."""
    _zone(tmp_path, 0, "acpitz", "27800")
    _zone(tmp_path, 1, "iwlwifi_1", "39000")
    _zone(tmp_path, 10, "x86_pkg_temp", "61000")
    probe = ThermalProbe(tmp_path)
    assert probe.path == tmp_path / "thermal_zone10" / "temp"
    assert probe.read() == 61.0


@pytest.mark.parametrize("temp", ["", "n/a", "-274000", "999999999"])
def test_ok__bogus_temperatures_read_as_unknown(tmp_path: Path, temp: str) -> None:
    """Drivers report errors as garbage or absurd values; stats must say null, not 999999 degrees."""
    _zone(tmp_path, 0, "cpu-thermal", temp)
    assert cpu_temperature_c(tmp_path) is None


def test_ok__no_thermal_zone_reads_as_unknown(tmp_path: Path) -> None:
    """Containers and some boards have no thermal zones at all."""
    assert cpu_temperature_c(tmp_path) is None
    assert cpu_temperature_c(tmp_path / "missing") is None


def test_ok__rss_reads_statm(tmp_path: Path) -> None:
    """RSS comes from the second statm field (pages); the soak's memory-growth slope depends on it."""
    statm = tmp_path / "statm"
    statm.write_text(f"100000 {256 * 1024 * 1024 // os.sysconf('SC_PAGE_SIZE')} 500 1 0 2000 0\n")
    assert rss_mb(statm) == pytest.approx(256.0)
    assert rss_mb(tmp_path / "missing") == 0.0
    assert 5.0 < rss_mb() < 10_000.0  # this process, for real


def test_ok__sd_notify_never_blocks_on_a_full_queue(notify_socket: socket.socket) -> None:
    """A manager that does not read (queue full) must not stall the frame loop that pings."""
    results: list[bool] = []
    sender = threading.Thread(target=lambda: results.extend(sd_notify("WATCHDOG=1") for _ in range(2000)))
    sender.start()
    sender.join(5.0)  # a blocking send would hang here: net.unix.max_dgram_qlen is far below 2000
    assert not sender.is_alive(), "sd_notify blocked on a full notification socket"
    assert results[0] is True and results[-1] is False
