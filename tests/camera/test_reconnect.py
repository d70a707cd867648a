"""ReconnectingSource: backoff, status reporting and stream continuity, with scripted failures."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from edge.camera import ReconnectingSource, SourceStatus
from edge.errors import CameraError
from edge.sources import Frame


class FlakySource:
    """Delivers ``frames`` frames (timestamps from 0), then fails every read."""

    def __init__(self, frames: int, shade: int = 0) -> None:
        self.frames, self.shade, self.i = frames, shade, 0
        self.closed = False

    fps = 30.0
    frame_count = 0

    def read(self) -> Frame:
        if self.i >= self.frames:
            raise CameraError("no frame (unplugged)")
        frame = Frame(np.full((4, 4, 3), self.shade, np.uint8), self.i, self.i / 30.0)
        self.i += 1
        return frame

    def close(self) -> None:
        self.closed = True


class ScriptedOpener:
    """Each call pops the next outcome: an exception to raise or a source to return."""

    def __init__(self, outcomes: list[object]) -> None:
        self.outcomes = outcomes
        self.calls: list[float] = []
        self.opened: list[FlakySource] = []

    def __call__(self) -> FlakySource:
        self.calls.append(time.monotonic())
        outcome = self.outcomes.pop(0) if self.outcomes else CameraError("still unplugged")
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, FlakySource)
        self.opened.append(outcome)
        return outcome


def drain(source: ReconnectingSource, frames: int, timeout: float = 5.0) -> tuple[list[Frame], int]:
    got: list[Frame] = []
    errors = 0
    deadline = time.monotonic() + timeout
    while len(got) < frames and time.monotonic() < deadline:
        try:
            frame = source.read()
        except CameraError:
            errors += 1
            continue
        assert frame is not None
        got.append(frame)
    return got, errors


def test_ok__backoff_doubles_up_to_the_maximum() -> None:
    """A camera that stays unplugged is retried at 0.05, 0.1, 0.2, 0.2 s..., never in a busy loop."""
    opener = ScriptedOpener([])
    source = ReconnectingSource(opener, "cam", retry_initial_s=0.05, retry_max_s=0.2, poll_s=0.05)
    deadline = time.monotonic() + 0.9
    while time.monotonic() < deadline:
        with pytest.raises(CameraError):
            source.read()
    gaps = np.diff(opener.calls)
    assert len(opener.calls) >= 4
    expected = [0.05, 0.1, 0.2, 0.2, 0.2, 0.2][: len(gaps)]
    assert all(g >= e * 0.95 for g, e in zip(gaps, expected, strict=False)), gaps
    assert all(g < e + 0.15 for g, e in zip(gaps, expected, strict=False)), gaps
    source.close()


def test_ok__status_is_reported_on_changes_only(caplog: pytest.LogCaptureFixture) -> None:
    """MQTT gets camera_error once per outage, and the journal one line, however many retries."""
    opener = ScriptedOpener([FlakySource(3), CameraError("gone"), CameraError("gone"), FlakySource(5)])
    statuses: list[SourceStatus] = []
    source = ReconnectingSource(
        opener, "cam", retry_initial_s=0.01, retry_max_s=0.02, on_status=statuses.append
    )
    with caplog.at_level(logging.INFO, logger="edge.camera"):
        frames, errors = drain(source, 8)
    assert len(frames) == 8 and errors >= 3
    assert [s.ok for s in statuses] == [True, False, True]
    assert statuses[1].message == "no frame (unplugged)"
    assert [r.levelname for r in caplog.records] == ["INFO", "WARNING", "INFO"]
    assert opener.opened[0].closed, "the failed device must be released before reopening"


def test_ok__indices_and_timestamps_continue_across_reconnections() -> None:
    """Rep timing and rate limits need one monotonic stream, although each reopen restarts at 0."""
    opener = ScriptedOpener([FlakySource(5), FlakySource(5), FlakySource(5)])
    source = ReconnectingSource(opener, "cam", retry_initial_s=0.01, retry_max_s=0.01)
    frames, _ = drain(source, 15)
    assert [f.index for f in frames] == list(range(15))
    stamps = [f.timestamp for f in frames]
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))


def test_ok__first_retry_after_a_drop_is_immediate() -> None:
    """A stream that hiccups once should be back without waiting a full backoff period."""
    opener = ScriptedOpener([FlakySource(1), FlakySource(1)])
    source = ReconnectingSource(opener, "cam", retry_initial_s=5.0, retry_max_s=5.0)
    t0 = time.monotonic()
    frames, _ = drain(source, 2, timeout=2.0)
    assert len(frames) == 2
    assert time.monotonic() - t0 < 1.0


def test_ok__any_driver_exception_becomes_a_camera_error() -> None:
    """libcamera and OpenCV raise RuntimeError/OSError/cv2.error; none may escape the capture loop."""
    opener = ScriptedOpener(
        [RuntimeError("Camera __init__ sequence did not complete"), OSError(19, "No such device")]
    )
    statuses: list[SourceStatus] = []
    source = ReconnectingSource(
        opener, "cam", retry_initial_s=0.01, retry_max_s=0.01, on_status=statuses.append
    )
    for _ in range(2):
        with pytest.raises(CameraError):
            while True:
                source.read()
    assert "RuntimeError: Camera __init__" in statuses[0].message


def test_ok__read_after_close_returns_none_and_releases() -> None:
    """close() ends the stream: the capture thread sees None and stops."""
    opener = ScriptedOpener([FlakySource(10)])
    source = ReconnectingSource(opener, "cam")
    assert source.read() is not None
    source.close()
    assert source.read() is None
    assert opener.opened[0].closed


def test_fail__bad_backoff_bounds_are_rejected() -> None:
    """retry_max_s below retry_initial_s would make the doubling meaningless."""
    with pytest.raises(ValueError):
        ReconnectingSource(ScriptedOpener([]), "cam", retry_initial_s=2.0, retry_max_s=1.0)
