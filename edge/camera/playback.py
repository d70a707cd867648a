"""Video files and image folders played like a camera: at their own rate or as fast as possible, looped.

``Playback`` wraps a function that opens a finite source (``edge.sources.VideoFileSource`` or
``ImageFilesSource``):

* ``realtime=True`` delivers each frame when its media time comes, measured from the first frame
  (a 30 fps clip gives 30 frames per second, like a camera, so the daemon's drop-stale-frames
  behaviour and latency are exercised exactly as live); after a stall longer than ``max_lag_s`` it
  resynchronises instead of bursting to catch up.
* ``realtime=False`` delivers frames as fast as the reader takes them.
* ``loop=True`` reopens the source at its end; frame indices keep counting and timestamps keep
  increasing (the next pass starts one frame period after the last frame), so a looped clip looks
  like one endless stream.

Image folders have no frame rate: their frames are stamped ``index / fps`` with the given ``fps``.
Errors from the file (unreadable, corrupt) propagate as ``InputError``: a broken file is a user
mistake, not something to retry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from edge.sources import Frame, FrameSource


class Playback:
    """A finite source played in real time and/or in a loop.

    Args:
        opener: opens the underlying source (called again for every loop pass).
        realtime: pace frames at their media time; otherwise as fast as possible.
        loop: start again at the end instead of returning None.
        fps: frame rate used for sources without one (image folders); also their pacing rate.
        max_lag_s: in realtime mode, how far behind schedule the reader may fall before the
            schedule restarts from the current frame.
        clock: monotonic clock in seconds.
        label: how logs and the MQTT state name the source.
    """

    def __init__(
        self,
        opener: Callable[[], FrameSource],
        *,
        realtime: bool = True,
        loop: bool = False,
        fps: float = 30.0,
        max_lag_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        label: str = "",
    ) -> None:
        self.label = label
        self._opener = opener
        self._realtime = realtime
        self._loop = loop
        self._clock = clock
        self._max_lag_s = max_lag_s
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._reading = False
        self._source: FrameSource | None = opener()
        own_fps = self._source.fps
        self._fps = own_fps if own_fps > 0 else float(fps)
        self._count = self._source.frame_count
        self._stamp_by_index = own_fps <= 0
        self._index = 0
        self._pass_offset = 0.0  # media time at which the current pass started
        self._last_t = -1.0 / self._fps
        self._passes = 1
        self._schedule_origin: float | None = None  # clock time of media time 0

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int:
        """Frames of one pass when known (0 for a loop, which has no end)."""
        return 0 if self._loop else self._count

    @property
    def passes(self) -> int:
        """How many times the source has been opened (1 + completed loops)."""
        return self._passes

    def read(self) -> Frame | None:
        """The next frame, None at the end (without loop) or once closed.

        Raises:
            InputError: the file cannot be decoded.
        """
        with self._lock:
            if self._closed.is_set():
                return None
            self._reading = True
        try:
            return self._read()
        finally:
            with self._lock:
                self._reading = False
                if self._closed.is_set():
                    self._release()

    def _read(self) -> Frame | None:
        while True:
            if self._closed.is_set() or self._source is None:
                return None
            frame = self._source.read()
            if frame is not None:
                break
            if not self._loop:
                self._release()
                return None
            self._release()
            if self._index == 0:
                return None  # an empty source would loop forever
            self._pass_offset = self._last_t + 1.0 / self._fps
            self._source = self._opener()
            self._passes += 1
        media_t = frame.index / self._fps if self._stamp_by_index else frame.timestamp
        t = self._pass_offset + media_t
        if t <= self._last_t:  # files with broken timestamps: keep time moving forward
            t = self._last_t + 1.0 / self._fps
        self._last_t = t
        out = replace(frame, index=self._index, timestamp=t)
        self._index += 1
        if self._realtime and not self._wait_until(t):
            return None
        return out

    def close(self) -> None:
        """Stop playing and release the file; safe from another thread (wakes a paced wait)."""
        with self._lock:
            self._closed.set()
            if not self._reading:
                self._release()

    def _wait_until(self, t: float) -> bool:
        now = self._clock()
        if self._schedule_origin is None:
            self._schedule_origin = now - t
        due = self._schedule_origin + t
        if now - due > self._max_lag_s:
            self._schedule_origin = now - t  # fell far behind (a stall): restart the schedule here
            return not self._closed.is_set()
        if due > now:
            return not self._closed.wait(due - now)
        return not self._closed.is_set()

    def _release(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()
