"""FrameSlot and LatestValue: the bounded hand-overs between the daemon's threads."""

from __future__ import annotations

import threading
import time

import numpy as np

from edge.daemon.handoff import END, CapturedFrame, FrameSlot, LatestValue
from edge.sources import Frame


def item(i: int) -> CapturedFrame:
    return CapturedFrame(Frame(np.zeros((2, 2, 3), np.uint8), i, i / 30), captured_at=time.monotonic())


def test_ok__latest_mode_keeps_the_newest_and_counts_the_skipped() -> None:
    """A model slower than the camera must work on the newest frame, and the drops must be visible."""
    slot = FrameSlot()
    for i in range(5):
        assert slot.put(item(i))
    got = slot.get(timeout=0.1)
    assert isinstance(got, CapturedFrame) and got.frame.index == 4
    assert slot.skipped == 4 and slot.delivered == 1
    assert slot.get(timeout=0.01) is None


def test_ok__lossless_mode_waits_for_the_consumer() -> None:
    """Files played as fast as possible: every frame must reach inference, in order."""
    slot = FrameSlot(lossless=True)
    seen: list[int] = []

    def consume() -> None:
        while (got := slot.get(timeout=2.0)) is not END:
            assert isinstance(got, CapturedFrame)
            seen.append(got.frame.index)
            time.sleep(0.001)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(200):
        assert slot.put(item(i))
    slot.close()
    consumer.join(5.0)
    assert seen == list(range(200))
    assert slot.skipped == 0


def test_ok__close_delivers_the_waiting_frame_then_end() -> None:
    """The last frame of a file must not be lost when the capture thread finishes first."""
    slot = FrameSlot()
    slot.put(item(7))
    slot.close()
    got = slot.get(timeout=0.1)
    assert isinstance(got, CapturedFrame) and got.frame.index == 7
    assert slot.get(timeout=0.1) is END
    assert slot.put(item(8)) is False


def test_ok__stop_event_releases_a_blocked_lossless_put() -> None:
    """SIGTERM while inference is busy must not leave the capture thread stuck in put()."""
    slot = FrameSlot(lossless=True)
    stop = threading.Event()
    slot.put(item(0))
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(slot.put(item(1), stop=stop, poll_s=0.01)))
    thread.start()
    time.sleep(0.05)
    assert thread.is_alive()
    stop.set()
    thread.join(1.0)
    assert result == [False]


def test_ok__get_times_out_without_frames() -> None:
    """The inference loop wakes regularly (watchdog, stop) even when the camera delivers nothing."""
    slot = FrameSlot()
    t0 = time.monotonic()
    assert slot.get(timeout=0.05) is None
    assert 0.04 <= time.monotonic() - t0 < 0.5


def test_ok__latest_value_never_blocks_the_producer() -> None:
    """A stuck LCD must not stall inference: put() returns at once and replaces the old value."""
    latest: LatestValue[int] = LatestValue()
    t0 = time.monotonic()
    for i in range(1000):
        latest.put(i)
    assert time.monotonic() - t0 < 0.5
    assert latest.take(0.01) == 999
    assert latest.replaced == 999
    assert latest.take(0.01) is None
