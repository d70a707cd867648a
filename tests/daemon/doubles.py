"""Test doubles for the runtime's collaborators (the real ones are written in parallel).

* ``RecordingPublisher``: records every call with the time it was made; can be slow on purpose.
  Unlike ``edge.mqtt``'s publishers it does not rate-limit pose and silhouette messages.
* ``ScriptedRepCounter``: emits one rep event at each scripted stream time where a person is seen.
* ``ListSource``: a finite in-memory source; ``HangingSource``: delivers a few frames, then blocks.
* ``RecordingNotifier``: records systemd notifications.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edge.errors import ConfigError
from edge.pose import Pose
from edge.sources import Frame


@dataclass
class Call:
    name: str
    args: tuple[Any, ...]
    at: float


class RecordingPublisher:
    """Implements ``edge.daemon.Publisher``; thread-safe; ``delay_s`` makes every publish call slow."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: list[Call] = []
        self.handler: Any = None
        self.started = False
        self.stopped = False
        self._lock = threading.Lock()

    def _record(self, name: str, *args: Any) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.calls.append(Call(name, args, time.monotonic()))

    def start(self) -> None:
        self.started = True
        self._record("availability", "online")

    def stop(self, timeout: float) -> None:
        self.stopped = True
        self._record("availability", "offline")

    def publish_state(self, state: dict[str, Any]) -> None:
        self._record("state", state)

    def publish_pose(
        self, pose: Pose | None, frame: int, t: float, image_size: tuple[int, int] | None = None
    ) -> None:
        self._record("pose", pose, frame, t, image_size)

    def publish_rep(self, event: dict[str, Any], session: str) -> None:
        self._record("rep", event, session)

    def publish_silhouette(self, silhouette: dict[str, Any] | None, frame: int) -> None:
        self._record("silhouette", silhouette, frame)

    def publish_stats(self, stats: dict[str, Any]) -> None:
        self._record("stats", stats)

    def set_command_handler(self, handler: Any) -> None:
        self.handler = handler

    @property
    def connected(self) -> bool:
        return self.started and not self.stopped

    @property
    def outbox_size(self) -> int:
        return 0

    def of(self, name: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.name == name]

    def states(self) -> list[dict[str, Any]]:
        return [c.args[0] for c in self.of("state")]


@dataclass
class FakeRepEvent:
    index: int
    t: float
    exercise: str

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "exercise": self.exercise, "end": round(self.t, 3)}


@dataclass
class ScriptedRepCounter:
    """Counts a rep at each time in ``rep_times`` (seconds of stream time), if a person is seen then."""

    rep_times: list[float]
    exercise: str = "squat"
    known: tuple[str, ...] = ("squat", "pushup", "auto")
    count: int = 0
    phase: str = "idle"
    updates: int = 0
    _next: int = 0
    seen_times: list[float] = field(default_factory=list)

    def update(self, pose: Pose | None, t: float) -> FakeRepEvent | None:
        self.updates += 1
        self.seen_times.append(t)
        self.phase = "idle" if pose is None else ("down" if int(t * 2) % 2 else "up")
        if self._next < len(self.rep_times) and t >= self.rep_times[self._next]:
            self._next += 1
            if pose is not None:
                self.count += 1
                return FakeRepEvent(self.count, t, self.exercise)
        return None

    def set_exercise(self, name: str) -> None:
        if name not in self.known:
            raise ConfigError(f"unknown exercise {name!r}; expected one of {', '.join(self.known)}")
        self.exercise = name
        self.count = 0

    def reset(self) -> None:
        self.count = 0

    def snapshot(self) -> dict[str, Any]:
        return {"count": self.count, "phase": self.phase, "exercise": self.exercise}


def make_pose(frame: Frame) -> Pose:
    landmarks = np.zeros((33, 5), np.float32)
    landmarks[:, :2] = 0.5
    landmarks[:, 3:] = 1.0
    return Pose(landmarks, np.zeros((33, 3), np.float32), 1.0, frame.size, frame.timestamp)


class EveryFramePose:
    """Estimator double: a pose on every frame (or None on frames listed in ``empty``)."""

    def __init__(
        self, empty: set[int] | None = None, delay_s: float = 0.0, fail_on: set[int] | None = None
    ) -> None:
        self.empty = empty or set()
        self.fail_on = fail_on or set()
        self.delay_s = delay_s
        self.seen: list[int] = []
        self.closed = False

    def process(self, frame: Frame) -> Pose | None:
        if self.delay_s:
            time.sleep(self.delay_s)
        self.seen.append(frame.index)
        if frame.index in self.fail_on:
            raise RuntimeError(f"delegate error on frame {frame.index}")
        return None if frame.index in self.empty else make_pose(frame)

    def close(self) -> None:
        self.closed = True


class ListSource:
    """``n`` small frames at ``fps`` (timestamps index / fps), optionally paced in real time."""

    def __init__(
        self, n: int, fps: float = 30.0, realtime: bool = False, size: tuple[int, int] = (64, 48)
    ) -> None:
        self.n, self._fps, self.realtime = n, fps, realtime
        self.size = size
        self.i = 0
        self.closed = False
        self._t0: float | None = None

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int:
        return self.n

    def read(self) -> Frame | None:
        if self.closed or self.i >= self.n:
            return None
        if self.realtime:
            if self._t0 is None:
                self._t0 = time.monotonic()
            delay = self._t0 + self.i / self._fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        w, h = self.size
        frame = Frame(np.full((h, w, 3), self.i % 256, np.uint8), self.i, self.i / self._fps)
        self.i += 1
        return frame

    def close(self) -> None:
        self.closed = True


class HangingSource(ListSource):
    """Delivers ``n`` frames in real time, then blocks in ``read`` (a hung driver) until released."""

    def __init__(self, n: int, fps: float = 30.0) -> None:
        super().__init__(n, fps, realtime=True)
        self.release = threading.Event()
        self.hanging = threading.Event()

    def read(self) -> Frame | None:
        if self.i >= self.n:
            self.hanging.set()
            self.release.wait()
            return None
        return super().read()


class RecordingNotifier:
    """``edge.daemon.Notifier`` that records messages; pings the watchdog at most every ``interval_s``."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.messages: list[tuple[float, str]] = []
        self._last = float("-inf")
        self._lock = threading.Lock()

    def _add(self, text: str) -> None:
        with self._lock:
            self.messages.append((time.monotonic(), text))

    def ready(self, status: str = "") -> None:
        self._add("READY=1")

    def status(self, text: str) -> None:
        self._add(f"STATUS={text}")

    def watchdog(self, force: bool = False) -> bool:
        now = time.monotonic()
        if not force and now - self._last < self.interval_s:
            return False
        self._last = now
        self._add("WATCHDOG=1")
        return True

    def stopping(self, status: str = "") -> None:
        self._add("STOPPING=1")

    def of(self, prefix: str) -> list[float]:
        with self._lock:
            return [t for t, m in self.messages if m.startswith(prefix)]
