"""Exercise sessions and per-topic rate limits, the small pieces of state the commands act on."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

from edge.errors import CommandError


def new_session_id() -> str:
    """8 hex digits, random: unique across restarts, short enough for rep ids (``<device>-<session>-<n>``)."""
    return secrets.token_hex(4)


@dataclass
class Session:
    """The current session; the daemon starts with one open.

    Attributes:
        id: unique id; rep events carry it and subscribers deduplicate on ``<device>-<id>-<index>``.
        active: reps are counted into ``count`` (``stop_session`` clears it).
        started: Unix time (s) it began.
        count: reps counted while active.
    """

    id: str
    active: bool
    started: float
    count: int = 0

    @classmethod
    def begin(cls, active: bool = True, now: float | None = None) -> Session:
        return cls(new_session_id(), active, time.time() if now is None else now)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "active": self.active, "started": round(self.started, 3), "count": self.count}


class RateLimiter:
    """Lets through at most ``hz`` events per second of stream time, on a fixed grid.

    A 30 fps stream limited to 10 Hz passes exactly every third frame (the grid absorbs timestamp
    rounding); after a gap the grid restarts at the next event. ``hz = 0`` passes nothing.
    """

    def __init__(self, hz: float) -> None:
        self.hz = 0.0
        self._period: float | None = None
        self._next = -math.inf
        self.set_rate(hz)

    def set_rate(self, hz: float) -> None:
        self.hz = float(hz)
        self._period = 1.0 / hz if hz > 0 else None
        self._next = -math.inf

    def due(self, t: float) -> bool:
        """True (and the event is counted) if an event at stream time ``t`` may pass."""
        if self._period is None or t + 1e-6 < self._next:
            return False
        late = t - self._next
        self._next = self._next + self._period if late < self._period else t + self._period
        return True


def parse_rate(name: str, value: Any, max_hz: float) -> float | None:
    """A rate from a command: None (keep the current one) or a number in [0, max_hz].

    Raises:
        CommandError: not a number, or out of range (names the field).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CommandError(f"{name}: expected a number of messages per second, got {value!r}")
    if not 0 <= value <= max_hz:
        raise CommandError(f"{name}: expected 0..{max_hz:g} (0 = off), got {value}")
    return float(value)
