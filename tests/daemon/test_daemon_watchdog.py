"""systemd readiness and watchdog, over a real notification socket (a fake systemd).

systemd restarts the service when WATCHDOG=1 pings stop. They must come while frames flow, stop
when the camera or model hangs, keep coming while a reported camera outage is being retried, and
stop when the publishing thread hangs.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from doubles import EveryFramePose, HangingSource, ListSource, RecordingPublisher, ScriptedRepCounter
from test_daemon_runtime import GatedPublisher

from edge.camera import ReconnectingSource
from edge.daemon import Daemon, DaemonSettings
from edge.errors import CameraError
from edge.health import SystemdNotifier


class FakeSystemd:
    """Receives notifications on a datagram socket, with arrival times."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except OSError:
                continue
            now = time.monotonic()
            for line in data.decode().split("\n"):
                self.messages.append((now, line))

    def times(self, prefix: str) -> list[float]:
        return [t for t, m in list(self.messages) if m.startswith(prefix)]

    def wait_for(self, prefix: str, timeout: float = 5.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.times(prefix)
            if found:
                return found[0]
            time.sleep(0.01)
        raise AssertionError(f"no {prefix} within {timeout} s; got {[m for _, m in self.messages]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake = FakeSystemd(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # WatchdogSec=0.1s: ping every 50 ms
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield fake
    fake.close()


def test_ok__ready_then_pings_while_frames_flow_and_none_when_the_camera_hangs(
    systemd: FakeSystemd, runner
) -> None:
    """A driver that blocks forever in read() must stop the pings, so systemd restarts the service."""
    source = HangingSource(30, fps=30)  # 1 s of frames, then read() blocks
    publisher = RecordingPublisher()
    daemon = Daemon(
        source,
        EveryFramePose(),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(),
        notifier=SystemdNotifier(),
    )
    stop, join = runner.start(daemon, publisher, stop_timeout_s=1.0)
    try:
        ready = systemd.wait_for("READY=1")
        assert source.hanging.wait(5.0)
        hung_at = time.monotonic()
        time.sleep(1.0)
        stop.set()
        assert join(10.0) == 0
        stopping = systemd.wait_for("STOPPING=1")
    finally:
        source.release.set()
    pings = systemd.times("WATCHDOG=1")
    flowing = [t for t in pings if ready <= t <= hung_at]
    assert len(flowing) >= 8, f"~20 pings expected in 1 s of frames at 50 ms, got {len(flowing)}"
    hung = [t for t in pings if hung_at + 0.1 < t < stopping]
    assert hung == [], "no ping may come while the camera is hung"
    assert systemd.times("STATUS=")  # systemctl status shows fps and reps


def test_ok__pings_continue_while_a_reported_camera_outage_is_retried(systemd: FakeSystemd, runner) -> None:
    """An unplugged camera is not a hang: the capture thread is retrying, so the service stays up
    (reporting camera_error) instead of being restarted in a loop."""

    def opener():
        raise CameraError("no camera")

    holder: dict[str, Daemon] = {}
    source = ReconnectingSource(
        opener,
        "cam",
        retry_initial_s=0.05,
        retry_max_s=0.2,
        on_status=lambda s: holder["d"].on_source_status(s),
    )
    publisher = RecordingPublisher()
    daemon = holder["d"] = Daemon(
        source,
        EveryFramePose(),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(),
        notifier=SystemdNotifier(),
    )
    stop, join = runner.start(daemon, publisher)
    ready = systemd.wait_for("READY=1", timeout=3.0)  # ready without waiting for ready_timeout_s
    time.sleep(1.0)
    stop.set()
    assert join(10.0) == 0
    pings = [t for t in systemd.times("WATCHDOG=1") if ready < t < ready + 1.0]
    # idle, the frame loop wakes every 0.25 s: a ping each time (WatchdogSec must be >= ~1 s)
    assert len(pings) >= 3 and max(b - a for a, b in zip(pings, pings[1:], strict=False)) < 0.4
    assert daemon.state()["status"] == "stopping"
    assert "camera_error" in {s["status"] for s in publisher.states()}


def test_ok__a_hung_publisher_stops_the_pings(systemd: FakeSystemd, runner) -> None:
    """Frames flow but nothing gets published (a bug or a wedged client): restart rather than run blind."""
    publisher = GatedPublisher()
    daemon = Daemon(
        ListSource(10_000, fps=30, realtime=True),
        EveryFramePose(),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(heartbeat_stale_s=0.3),
        notifier=SystemdNotifier(),
    )
    stop, join = runner.start(daemon, publisher)
    systemd.wait_for("READY=1")
    time.sleep(1.2)
    late = [t for t in systemd.times("WATCHDOG=1") if t > time.monotonic() - 0.6]
    frames = daemon.frames
    publisher.gate.set()
    stop.set()
    assert join(10.0) == 0
    assert frames > 20, "frames kept flowing"
    assert late == []
