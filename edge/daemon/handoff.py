"""Hand-over points between the daemon's threads, each bounded to one item.

``FrameSlot`` sits between capture and inference (picamera2's ``FrameServer`` pattern: one slot
behind a ``threading.Condition``). In the default *latest* mode the capture thread overwrites a
frame inference has not taken yet and counts it as skipped, so inference always works on the newest
frame and a slow model never builds a backlog. In *lossless* mode (files played as fast as possible)
the capture thread waits instead, so every frame is processed and results are deterministic.

``LatestValue`` is the same idea for anything where only the newest value matters (the frame shown
on the LCD): the producer never waits.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from edge.sources import Frame

T = TypeVar("T")


@dataclass(frozen=True)
class CapturedFrame:
    """A frame and when the capture thread got it.

    Attributes:
        frame: the frame.
        captured_at: ``time.monotonic()`` when the source returned it; latency is measured from here.
    """

    frame: Frame
    captured_at: float


class _End:
    """Marker: the source is exhausted and nothing more will come."""


END = _End()


class FrameSlot:
    """One-frame hand-over from the capture thread to the inference thread.

    Args:
        lossless: wait for the consumer instead of overwriting an untaken frame.
    """

    def __init__(self, lossless: bool = False) -> None:
        self.lossless = lossless
        self._cond = threading.Condition()
        self._item: CapturedFrame | None = None
        self._closed = False
        self.delivered = 0
        self.skipped = 0

    def put(self, item: CapturedFrame, stop: threading.Event | None = None, poll_s: float = 0.1) -> bool:
        """Offer a frame.

        In latest mode this never waits; an untaken frame is replaced and counted in ``skipped``.
        In lossless mode it waits until the previous frame was taken.

        Returns:
            False when the slot was closed or ``stop`` was set while waiting (the frame is dropped).
        """
        with self._cond:
            if self.lossless:
                while self._item is not None and not self._closed:
                    if stop is not None and stop.is_set():
                        return False
                    self._cond.wait(poll_s)
            if self._closed:
                return False
            if self._item is not None:
                self.skipped += 1
            self._item = item
            self._cond.notify_all()
            return True

    def get(self, timeout: float) -> CapturedFrame | _End | None:
        """The newest frame, ``END`` once closed and empty, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._item is None:
                if self._closed:
                    return END
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item, self._item = self._item, None
            self.delivered += 1
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """No more frames: ``get`` returns the frame still waiting (if any), then ``END``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def discard(self) -> None:
        """Drop a waiting frame (on stop, only the in-flight frame is finished)."""
        with self._cond:
            self._item = None
            self._cond.notify_all()


class LatestValue(Generic[T]):
    """A slot holding the newest value; ``put`` never waits, ``take`` waits up to a timeout."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._value: T | None = None
        self.replaced = 0

    def put(self, value: T) -> None:
        with self._cond:
            if self._value is not None:
                self.replaced += 1
            self._value = value
            self._cond.notify_all()

    def take(self, timeout: float) -> T | None:
        """The newest value (removing it), or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._value is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            value, self._value = self._value, None
            return value

    def wake(self) -> None:
        """Wake a waiting ``take`` (it returns None if nothing was put)."""
        with self._cond:
            self._cond.notify_all()
