"""Real failures of live sources: a stream server killed and restarted, a device path that disappears.

The stream is a real MJPEG-over-HTTP server in another process, read through OpenCV's FFmpeg
backend exactly as an IP camera would be; it is killed with SIGKILL and started again. This machine
has no /dev/video* and cannot create one, so the "unplugged device" case uses a video file at the
configured device path, removed and put back: it exercises the same ``OpenCVSource.device`` ->
``ReconnectingSource`` path, but through OpenCV's file backend instead of V4L2.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import CameraSettings, SourceStatus, open_camera_source
from edge.errors import CameraError
from edge.sources import Frame

SERVER = Path(__file__).with_name("mjpeg_server.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, shade: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), str(port), str(shade)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def read_until(source, predicate, timeout: float) -> tuple[Frame | None, int]:
    """Read until ``predicate(frame)``; counts CameraErrors raised meanwhile."""
    errors = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            frame = source.read()
        except CameraError:
            errors += 1
            continue
        if frame is not None and predicate(frame):
            return frame, errors
    return None, errors


def test_ok__stream_killed_and_restarted_is_reconnected(caplog: pytest.LogCaptureFixture) -> None:
    """An IP camera rebooting must not crash the daemon: reads fail (reported once), then resume
    with the new server's frames, with indices and timestamps continuing."""
    port = free_port()
    statuses: list[SourceStatus] = []
    settings = CameraSettings(
        kind="stream", uri=f"http://127.0.0.1:{port}/stream.mjpg", retry_initial_s=0.1, retry_max_s=0.4
    )
    server = start_server(port, shade=60)
    opened = open_camera_source(settings, on_status=statuses.append)
    source = opened.source
    try:
        with caplog.at_level(logging.INFO, logger="edge.camera"):
            first, errors = read_until(source, lambda f: True, timeout=10)
            assert first is not None and errors == 0
            assert abs(int(first.image.mean()) - 60) <= 3
            assert [s.ok for s in statuses] == [True]

            server.kill()
            server.wait()
            # frames buffered before the kill may still come; then reads fail with CameraError
            down = time.monotonic()
            _, errors = read_until(source, lambda f: False, timeout=1.5)
            assert errors >= 2, "reads must fail (and keep failing) while the server is gone"
            assert [s.ok for s in statuses] == [True, False]
            assert statuses[-1].message.startswith("stream http://127.0.0.1")

            server = start_server(port, shade=200)
            again, _ = read_until(source, lambda f: abs(int(f.image.mean()) - 200) <= 3, timeout=10)
            assert again is not None, "the restarted server's frames never arrived"
            assert [s.ok for s in statuses] == [True, False, True]
            assert again.index > first.index
            assert again.timestamp >= first.timestamp + (time.monotonic() - down) * 0.5
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, "a dropped stream is logged once, not once per retry"
        assert "lost" in warnings[0].getMessage()
        assert any("back after" in r.getMessage() for r in caplog.records)
    finally:
        source.close()
        server.kill()
        server.wait()


def test_ok__stream_unreachable_at_start_keeps_retrying_with_backoff() -> None:
    """A camera that is off when the service starts is retried, with growing delays, not a crash."""
    port = free_port()
    statuses: list[SourceStatus] = []
    settings = CameraSettings(
        kind="stream", uri=f"http://127.0.0.1:{port}/x.mjpg", retry_initial_s=0.05, retry_max_s=0.2
    )
    source = open_camera_source(settings, on_status=statuses.append).source
    try:
        _, errors = read_until(source, lambda f: True, timeout=1.0)
        assert errors >= 3
        assert [s.ok for s in statuses] == [False]
        # 1 s with delays 0.05, 0.1, 0.2, 0.2...: about 6 attempts, far from a busy loop
        assert 3 <= source.status.attempts <= 10
        server = start_server(port, shade=128)
        try:
            frame, _ = read_until(source, lambda f: True, timeout=5)
            assert frame is not None and frame.index == 0
            assert [s.ok for s in statuses] == [False, True]
        finally:
            server.kill()
            server.wait()
    finally:
        source.close()


def test_ok__stream_password_never_reaches_logs_or_labels(caplog: pytest.LogCaptureFixture) -> None:
    """RTSP URLs carry credentials; the label goes to MQTT state and the journal."""
    port = free_port()
    settings = CameraSettings(
        kind="stream",
        uri=f"http://admin:hunter2@127.0.0.1:{port}/x.mjpg",
        retry_initial_s=0.05,
        retry_max_s=0.1,
    )
    statuses: list[SourceStatus] = []
    with caplog.at_level(logging.DEBUG, logger="edge.camera"):
        opened = open_camera_source(settings, on_status=statuses.append)
        read_until(opened.source, lambda f: True, timeout=0.3)
        opened.source.close()
    assert "hunter2" not in opened.label and "admin:***@" in opened.label
    assert all("hunter2" not in r.getMessage() for r in caplog.records)
    assert all("hunter2" not in s.message for s in statuses)


def write_clip(path: Path, frames: int, shade: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    assert writer.isOpened()
    for _ in range(frames):
        writer.write(np.full((48, 64, 3), shade, np.uint8))
    writer.release()


def test_ok__device_path_that_disappears_is_retried_until_it_returns(tmp_path: Path) -> None:
    """Unplugging a USB camera removes its device node; the source must report it and come back
    when the node reappears (a file stands in for /dev/videoN, see the module docstring)."""
    device = tmp_path / "video0.avi"
    spare = tmp_path / "spare.avi"
    write_clip(spare, frames=5, shade=90)
    shutil.copy(spare, device)
    statuses: list[SourceStatus] = []
    settings = CameraSettings(kind="opencv", uri=str(device), retry_initial_s=0.05, retry_max_s=0.2)
    opened = open_camera_source(settings, on_status=statuses.append)
    assert opened.resolved.kind == "opencv" and not opened.lossless
    source = opened.source
    try:
        frame, errors = read_until(source, lambda f: True, timeout=5)
        assert frame is not None and errors == 0
        device.unlink()
        _, errors = read_until(source, lambda f: False, timeout=0.8)
        assert errors >= 2
        assert statuses[-1].ok is False
        assert source.status.attempts >= 2  # callbacks come on changes only; status has the count
        shutil.copy(spare, device)
        frame, _ = read_until(source, lambda f: True, timeout=5)
        assert frame is not None
        assert statuses[-1].ok is True
    finally:
        source.close()


def test_ok__close_from_another_thread_ends_a_retrying_read_promptly() -> None:
    """Stopping the service must not wait for the end of a 30 s backoff."""
    port = free_port()
    settings = CameraSettings(
        kind="stream", uri=f"http://127.0.0.1:{port}/x", retry_initial_s=30, retry_max_s=30
    )
    source = open_camera_source(settings).source
    with pytest.raises(CameraError):
        source.read()  # first attempt fails: the next one is 30 s away
    result: list[object] = []

    def reader() -> None:
        while True:
            try:
                result.append(source.read())
                return
            except CameraError:
                continue

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    source.close()
    thread.join(2.0)
    assert not thread.is_alive()
    assert result == [None]
    assert time.monotonic() - t0 < 1.0
