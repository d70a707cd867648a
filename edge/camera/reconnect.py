"""A live source that survives its camera being unplugged or its stream dropping.

``ReconnectingSource`` wraps a function that opens the real source. When opening or reading fails
it logs once (on the change, never per frame), reports a ``SourceStatus`` through a callback, and
tries again after ``retry_initial_s``, doubling the delay up to ``retry_max_s``; a success resets
the delay. It never lets an error escape as a crash.

``read`` never blocks much longer than ``poll_s`` (plus one open or read attempt, which the
adapters bound with their own timeouts): while the source is down it raises ``CameraError`` so
that the calling capture loop stays alive, can notice a stop request and can prove to the watchdog
that it is retrying rather than hung. It returns None only after ``close``.

Frame indices and timestamps continue across reconnections: indices count delivered frames and
timestamps never go backwards, so downstream stages (rep timing, rate limits) see one stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from edge.camera.status import SourceStatus, StatusCallback
from edge.errors import CameraError, EdgeError
from edge.sources import Frame, FrameSource

log = logging.getLogger(__name__)


class ReconnectingSource:
    """Opens a live source lazily and reopens it with exponential backoff whenever it fails.

    Args:
        opener: returns an opened source; raises (``CameraError`` or anything else) on failure.
        label: how logs name the source (no credentials).
        retry_initial_s: delay before the first retry.
        retry_max_s: upper bound of the doubling delay.
        on_status: called with the new ``SourceStatus`` on every change, from the reading thread.
        poll_s: longest wait inside one ``read`` while the source is down.
        nominal_fps: ``fps`` to report before the source is open.
        clock: monotonic clock in seconds.
    """

    def __init__(
        self,
        opener: Callable[[], FrameSource],
        label: str,
        *,
        retry_initial_s: float = 1.0,
        retry_max_s: float = 30.0,
        on_status: StatusCallback | None = None,
        poll_s: float = 0.5,
        nominal_fps: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if retry_initial_s <= 0 or retry_max_s < retry_initial_s:
            raise ValueError("need 0 < retry_initial_s <= retry_max_s")
        self.label = label
        self._opener = opener
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._on_status = on_status
        self._poll_s = poll_s
        self._nominal_fps = nominal_fps
        self._clock = clock
        self._inner: FrameSource | None = None
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._reading = False
        self._status: SourceStatus | None = None
        self._attempts = 0
        self._delay = retry_initial_s
        self._next_attempt = float("-inf")
        self._down_since = 0.0
        self._index = 0
        self._t0 = clock()
        self._offset: float | None = None
        self._last_t = float("-inf")

    # -- FrameSource -----------------------------------------------------------------------

    @property
    def fps(self) -> float:
        inner = self._inner
        return inner.fps if inner is not None and inner.fps > 0 else self._nominal_fps

    @property
    def frame_count(self) -> int:
        return 0

    @property
    def status(self) -> SourceStatus | None:
        """The last reported status (None before the first open attempt)."""
        return self._status

    def read(self) -> Frame | None:
        """The next frame, or None once closed.

        Raises:
            CameraError: the source is down right now; call ``read`` again to keep retrying.
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
                    self._release_inner()

    def close(self) -> None:
        """Stop retrying and release the device; safe from any thread, also during a ``read``."""
        with self._lock:
            self._closed.set()
            if not self._reading:
                self._release_inner()

    # -- internals -------------------------------------------------------------------------

    def _read(self) -> Frame | None:
        if self._inner is None:
            wait = self._next_attempt - self._clock()
            if wait > 0:
                if self._closed.wait(min(wait, self._poll_s)):
                    return None
                if self._clock() < self._next_attempt:
                    raise CameraError(self._status.message if self._status else f"{self.label}: not open")
            try:
                self._inner = self._opener()
            except Exception as exc:  # noqa: BLE001 - any failure of a driver is a camera error here
                self._failed(_reason(exc), opening=True)
                raise CameraError(self._status.message if self._status else str(exc)) from None
            self._offset = None
        try:
            frame = self._inner.read()
        except Exception as exc:  # noqa: BLE001
            self._failed(_reason(exc), opening=False)
            raise CameraError(self._status.message if self._status else str(exc)) from None
        if frame is None:
            self._failed(f"{self.label}: stream ended", opening=False)
            raise CameraError(f"{self.label}: stream ended")
        self._succeeded()
        return self._restamp(frame)

    def _restamp(self, frame: Frame) -> Frame:
        if self._offset is None:
            # first frame after (re)opening: continue the timeline where the wall clock is now
            self._offset = (self._clock() - self._t0) - frame.timestamp
        t = frame.timestamp + self._offset
        if t <= self._last_t:
            t = self._last_t + 1e-6
        self._last_t = t
        out = replace(frame, index=self._index, timestamp=t)
        self._index += 1
        return out

    def _failed(self, reason: str, opening: bool) -> None:
        now = self._clock()
        self._release_inner()
        going_down = self._status is None or self._status.ok
        if going_down:
            self._down_since = now
            self._delay = self._retry_initial_s
            if self._status is None:
                log.warning(
                    "%s: cannot open (%s); retrying every %.3g..%.3g s",
                    self.label,
                    reason,
                    self._retry_initial_s,
                    self._retry_max_s,
                )
            else:
                log.warning(
                    "%s: lost (%s); reconnecting every %.3g..%.3g s",
                    self.label,
                    reason,
                    self._retry_initial_s,
                    self._retry_max_s,
                )
        else:
            log.debug("%s: attempt %d failed: %s", self.label, self._attempts + 1, reason)
        if going_down and not opening:
            self._next_attempt = now  # a source that worked just dropped: reopen at once, then back off
        else:
            self._attempts += 1
            self._next_attempt = now + self._delay
            self._delay = min(self._delay * 2.0, self._retry_max_s)
        self._report(SourceStatus(False, reason, self._attempts, self._down_since))

    def _succeeded(self) -> None:
        if self._status is not None and self._status.ok:
            return
        now = self._clock()
        if self._status is not None:
            log.info(
                "%s: back after %.1f s (%d failed attempts)",
                self.label,
                now - self._down_since,
                self._attempts,
            )
        else:
            log.info("%s: streaming", self.label)
        self._attempts = 0
        self._delay = self._retry_initial_s
        self._report(SourceStatus(True, "", 0, now))

    def _report(self, status: SourceStatus) -> None:
        changed = self._status is None or status.ok != self._status.ok
        self._status = status
        if changed and self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:  # noqa: BLE001 - a broken observer must not stop the camera
                log.exception("%s: status callback failed", self.label)

    def _release_inner(self) -> None:
        inner, self._inner = self._inner, None
        if inner is not None:
            try:
                inner.close()
            except Exception as exc:  # noqa: BLE001
                log.debug("%s: close failed: %s", self.label, exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EdgeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
