"""``LcdRenderer``: draws the latest state on a display from its own thread, at a bounded rate.

The producer (the daemon's pipeline, or the MQTT feed of ``edge-pose lcd``) calls ``update``,
which only swaps the latest-state slot under a lock and returns: it never waits for drawing or
for the panel. The thread wakes when something changed, renders at most ``fps`` frames per
second, and shows them. A slow panel (SPI at 5 fps) therefore costs the pipeline nothing; states
that arrive between two frames are coalesced, and only the newest is drawn. A panel that fails
is retried with back-off, logged once per distinct error, and never raises into the producer.

Usage (inside the daemon)::

    lcd = LcdRenderer(open_display(settings), fps=settings.fps).start()
    ...                                    # per frame, cheap:
    lcd.update(landmarks=pose.landmarks, image_size=pose.image_size, thumbnail=frame.image,
               mask=pose.mask, person=True)
    lcd.update(count=counter.reps, exercise="squat", status="running")
    ...
    lcd.stop()

Arrays passed to ``update`` are kept by reference and read later from the render thread: pass
arrays the caller will not modify afterwards (a new frame per read, as the frame sources give).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.lcd.display import Display, LcdSettings, open_display
from edge.lcd.render import LcdState, layout, person_view, render

log = logging.getLogger(__name__)

#: After this long without landmarks the figure pane zooms back out to the whole frame.
VIEW_HOLD_S = 2.0


class LcdRenderer:
    """Render ``LcdState`` to ``display`` in a background thread.

    Args:
        display: where frames go; its ``size`` is the render size.
        fps: most frames per second drawn (a static screen draws nothing).
        flash_s: how long the count shows in the "just counted" colour after it goes up.
        view_smoothing: 0..1, how fast the figure pane follows the person (1 = at once).
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(
        self,
        display: Display,
        fps: float = 5.0,
        flash_s: float = 0.6,
        view_smoothing: float = 0.35,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.display = display
        self.size = tuple(display.size)
        self.period = 1.0 / fps
        self.flash_s = flash_s
        self.view_smoothing = view_smoothing
        self._clock = clock
        self._lock = threading.Lock()
        self._state = LcdState()
        self._dirty = True
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # render-thread state
        self._last_count: int | None = None
        self._flash_until = 0.0
        self._drawn_flash = False
        self._view: tuple[float, float, float, float] | None = None
        self._person_seen = -1e9
        self._next_due = 0.0
        self._last_error = ""
        # counters (read by anyone; written by one thread each)
        self.updates = 0
        self.frames = 0
        self.errors = 0
        self.last_render_ms = 0.0

    @classmethod
    def from_settings(cls, settings: LcdSettings) -> LcdRenderer:
        """Open the configured display and wrap it (not started)."""
        return cls(open_display(settings), fps=settings.fps)

    # -- producer side (any thread; never blocks on the display) ---------------------------------

    def update(self, **changes: Any) -> None:
        """Change fields of the shown state (``LcdState`` field names); returns at once."""
        with self._lock:
            self._state = replace(self._state, **changes)
            self._dirty = True
            self.updates += 1
        self._wake.set()

    def set_state(self, state: LcdState) -> None:
        """Replace the whole shown state; returns at once."""
        with self._lock:
            self._state = state
            self._dirty = True
            self.updates += 1
        self._wake.set()

    @property
    def state(self) -> LcdState:
        """The latest state given (not necessarily drawn yet)."""
        with self._lock:
            return self._state

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LcdRenderer:
        """Start the render thread; returns self."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="lcd-renderer", daemon=True)
            self._thread.start()
        return self

    def stop(self, final: LcdState | None = None, clear: bool = False, timeout: float = 5.0) -> None:
        """Stop the thread, then show ``final`` (or blank the screen with ``clear``) and close the display.

        A panel keeps its last image after the process exits, so leave it saying something true.
        """
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            if clear:
                self.display.clear()
            elif final is not None:
                self.display.show(render(final, self.size))  # type: ignore[arg-type]
        except Exception as exc:  # the process is leaving; report, do not raise
            log.warning("lcd: could not draw the final screen: %s", exc)
        finally:
            self.display.close()

    # -- render thread ---------------------------------------------------------------------------

    def render_frame(self, now: float | None = None) -> npt.NDArray[np.uint8]:
        """Take the latest state and draw it (without showing it); used by the thread and by tests."""
        now = self._clock() if now is None else now
        with self._lock:
            state = self._state
            self._dirty = False
        if state.count is not None and self._last_count is not None and state.count > self._last_count:
            self._flash_until = now + self.flash_s
        self._last_count = state.count
        self._drawn_flash = now < self._flash_until
        state = replace(state, flash=self._drawn_flash, view=self._follow(state, now))
        started = time.perf_counter()
        frame = render(state, self.size)  # type: ignore[arg-type]
        self.last_render_ms = (time.perf_counter() - started) * 1e3
        return frame

    def _follow(self, state: LcdState, now: float) -> tuple[float, float, float, float] | None:
        """The figure pane's view: a box around the person, eased towards its new place each frame."""
        if state.view is not None:
            return state.view
        image_size = state.image_size
        if image_size is None and state.thumbnail is not None:
            image_size = (state.thumbnail.shape[1], state.thumbnail.shape[0])
        fig = layout(self.size).figure  # type: ignore[arg-type]
        target = person_view(state.landmarks, image_size or (640, 480), fig[2] / fig[3])
        if target is None:
            if now - self._person_seen > VIEW_HOLD_S:
                self._view = None
            return self._view
        self._person_seen = now
        if self._view is None:
            self._view = target
        else:
            k = self.view_smoothing
            self._view = tuple(v + k * (t - v) for v, t in zip(self._view, target, strict=True))  # type: ignore[assignment]
        return self._view

    def _run(self) -> None:
        while not self._stopping.is_set():
            now = self._clock()
            with self._lock:
                dirty = self._dirty
            flashing = now < self._flash_until
            if not dirty and flashing == self._drawn_flash:
                # nothing new: sleep until an update, or until the flash colour must go
                self._wake.wait(self._flash_until - now if flashing else 1.0)
                self._wake.clear()  # a later update sets _dirty before waking, so nothing is lost
                continue
            if now < self._next_due:
                self._stopping.wait(self._next_due - now)  # rate limit
                continue
            self._next_due = now + self.period
            try:
                self.display.show(self.render_frame(now))
            except Exception as exc:  # a broken panel must never take the producer down
                self.errors += 1
                self._next_due = now + min(30.0, self.period * 2 ** min(self.errors, 8))
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_error:
                    log.warning("lcd: cannot show a frame (%s); retrying", message)
                    self._last_error = message
                with self._lock:
                    self._dirty = True  # draw again when the panel is back
                continue
            self.frames += 1
            if self._last_error:
                log.info("lcd: display working again after %d errors", self.errors)
                self._last_error = ""
