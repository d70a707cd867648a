"""LcdRenderer: a slow or broken panel never holds up the producer; the newest state is what gets drawn."""

from __future__ import annotations

import threading
import time

import numpy as np
from lcd_poses import standing_pose

from edge.errors import DisplayError
from edge.lcd.render import COUNT, COUNT_FLASH, LcdState, layout, render
from edge.lcd.renderer import LcdRenderer


class RecordingDisplay:
    """A display double: keeps every frame; ``gate`` blocks ``show`` until set; ``fail`` makes it raise."""

    def __init__(self, size: tuple[int, int] = (240, 240), gate: threading.Event | None = None) -> None:
        self.size = size
        self.frames: list[np.ndarray] = []
        self.gate = gate
        self.fail = False
        self.closed = False
        self.in_show = threading.Event()

    def show(self, rgb: np.ndarray) -> None:
        self.in_show.set()
        if self.gate is not None:
            self.gate.wait()
        if self.fail:
            raise DisplayError("SPI write failed")
        self.frames.append(rgb)

    def clear(self) -> None:
        self.frames.append(np.zeros((self.size[1], self.size[0], 3), np.uint8))

    def close(self) -> None:
        self.closed = True


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_ok__update_returns_while_the_display_is_stuck_and_the_newest_state_wins() -> None:
    """Prevents: the pipeline stalling behind an SPI panel (the reason the renderer has its own thread)."""
    gate = threading.Event()
    display = RecordingDisplay(gate=gate)
    lcd = LcdRenderer(display, fps=30).start()
    try:
        lcd.update(count=0)
        assert display.in_show.wait(5), "renderer never tried to show a frame"
        producer = threading.Thread(target=lambda: [lcd.update(count=i) for i in range(1, 501)])
        producer.start()
        producer.join(5)
        assert not producer.is_alive(), "update() blocked while the display was busy"
        gate.set()
        expected = render(LcdState(count=500), display.size)
        assert wait_until(lambda: bool(display.frames) and np.array_equal(display.frames[-1], expected))
        assert len(display.frames) < 20, "intermediate states are coalesced, not queued"
        assert lcd.updates == 501
    finally:
        gate.set()
        lcd.stop()


def test_ok__broken_display_is_survived_and_redrawn_when_it_comes_back() -> None:
    display = RecordingDisplay()
    display.fail = True
    lcd = LcdRenderer(display, fps=50).start()
    try:
        lcd.update(count=3)
        assert wait_until(lambda: lcd.errors >= 2)
        lcd.update(exercise="pushup")  # still accepted while the panel is down
        display.fail = False
        expected = render(LcdState(count=3, exercise="pushup"), display.size)
        assert wait_until(
            lambda: bool(display.frames) and np.array_equal(display.frames[-1], expected), timeout=10
        )
    finally:
        lcd.stop()


def test_ok__static_screen_is_not_redrawn() -> None:
    """A screen with nothing new costs no CPU (a Pi also runs the pose model)."""
    display = RecordingDisplay()
    lcd = LcdRenderer(display, fps=50).start()
    try:
        lcd.update(count=1)
        expected = render(LcdState(count=1), display.size)
        assert wait_until(lambda: bool(display.frames) and np.array_equal(display.frames[-1], expected))
        drawn = len(display.frames)
        time.sleep(0.3)
        assert len(display.frames) == drawn
    finally:
        lcd.stop()


def test_ok__count_flashes_after_it_goes_up_then_settles() -> None:
    display = RecordingDisplay((320, 240))
    lcd = LcdRenderer(display, flash_s=0.6)
    region = layout((320, 240)).count
    x, y, w, h = region

    def colours(frame: np.ndarray) -> tuple[int, int]:
        r = frame[y : y + h, x : x + w]
        return int((r == COUNT_FLASH).all(axis=2).sum()), int((r == COUNT).all(axis=2).sum())

    lcd.update(count=1)
    assert colours(lcd.render_frame(now=10.0))[0] == 0, "the first count seen is not a new rep"
    lcd.update(count=2)
    flash, white = colours(lcd.render_frame(now=11.0))
    assert flash > 100 and white == 0
    lcd.update(count=2)
    flash, white = colours(lcd.render_frame(now=11.7))
    assert flash == 0 and white > 100
    lcd.update(count=0)  # a reset does not flash
    assert colours(lcd.render_frame(now=12.0))[0] == 0


def test_ok__figure_view_follows_the_person_smoothly_and_zooms_out_when_they_leave() -> None:
    display = RecordingDisplay((320, 240))
    lcd = LcdRenderer(display, view_smoothing=0.5)
    lcd.update(landmarks=standing_pose(cx=0.3), image_size=(640, 480))
    lcd.render_frame(now=0.0)
    first = lcd._view
    lcd.update(landmarks=standing_pose(cx=0.7))
    lcd.render_frame(now=0.2)
    moved = lcd._view
    assert first is not None and moved is not None
    centre = lambda v: (v[0] + v[2]) / 2  # noqa: E731
    assert centre(first) < centre(moved) < 0.7 - 0.05, "eases towards the person, does not jump"
    lcd.update(landmarks=None)
    lcd.render_frame(now=1.0)
    assert lcd._view == moved, "holds the view through a short dropout"
    lcd.render_frame(now=3.5)
    assert lcd._view is None


def test_ok__stop_leaves_a_true_final_screen_and_closes_the_display() -> None:
    display = RecordingDisplay()
    lcd = LcdRenderer(display).start()
    final = LcdState(count=5, online=False, message="display stopped")
    lcd.stop(final=final)
    assert display.closed and np.array_equal(display.frames[-1], render(final, display.size))
