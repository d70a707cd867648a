"""The ``Publisher`` interface the daemon codes against, and the rate limiter both publishers share.

Implementations: ``edge.mqtt.client.MqttPublisher`` (paho, the real broker) and
``edge.mqtt.memory.MemoryPublisher`` (records messages; for the daemon's unit tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from edge.mqtt.commands import CommandHandler
    from edge.pose import Pose


@runtime_checkable
class Publisher(Protocol):
    """Publishes the daemon's messages (CONTRACT.md "MQTT topics") and receives its commands.

    Every ``publish_*`` method returns quickly and never raises for a network problem: pose,
    silhouette and stats (QoS 0) are dropped and counted while disconnected; rep events and the
    state go through the durable outbox and are delivered, in order, after a reconnect.
    """

    def start(self) -> None:
        """Connect in the background (returns at once; reconnects forever)."""

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver the state and the outbox (at most ``timeout`` s), publish ``offline``, disconnect."""

    def publish_state(self, state: Mapping[str, Any]) -> None:
        """The state body (``topics.STATE_KEYS``); retained; only the newest undelivered copy is kept."""

    def publish_pose(
        self, pose: Pose | None, frame: int, t: float, image_size: tuple[int, int] | None = None
    ) -> None:
        """One frame's pose (``None``: nobody), rate-limited to ``publish.pose_hz``."""

    def publish_rep(self, event: Mapping[str, Any], session: str) -> str:
        """One rep event (the ``RepEvent`` JSON); never lost. Returns the event's ``id``."""

    def publish_silhouette(self, silhouette: Mapping[str, Any] | None, frame: int) -> None:
        """One frame's silhouette (``Silhouette.to_json()``; ``None``: nobody), rate-limited."""

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        """Health figures (``outbox`` is filled in when missing); retained."""

    def set_rates(self, pose_hz: float | None = None, silhouette_hz: float | None = None) -> None:
        """Change the pose/silhouette rate limits at run time (``None``: unchanged, 0: off)."""

    def set_command_handler(self, handler: CommandHandler | None) -> None:
        """Who runs the commands received on ``cmd`` (until set, commands are refused as not ready)."""

    @property
    def connected(self) -> bool:
        """True while connected to the broker (after a successful CONNACK)."""

    @property
    def outbox_size(self) -> int:
        """Messages waiting in the outbox (undelivered or not yet acknowledged)."""

    @property
    def counters(self) -> dict[str, int]:
        """Running totals: ``published``, ``dropped_offline``, ``rate_limited``, ``outbox``, ..."""


class RateLimiter:
    """Lets through at most ``hz`` events per second, on a steady schedule.

    Each passing event books the next slot one period later, keeping the schedule's phase (so
    15 fps at ``hz = 10`` still gives 10 per second, not every other frame); an event more than a
    period late starts a new schedule (so a pause is never followed by a catch-up burst). An
    event may come up to ``JITTER_S`` (15 ms, under half a frame at 30 fps) before its slot:
    from a 30 fps stream ``hz = 10`` passes exactly every third frame and ``hz = 2`` every
    fifteenth, while events the caller already paced at ``hz`` (the daemon paces pose messages
    too) pass despite +-7 ms of queueing jitter.

    Args:
        hz: events per second; 0 lets nothing through.
        clock: monotonic seconds.
    """

    JITTER_S = 0.015

    def __init__(self, hz: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next: float | None = None
        self.hz = hz

    @property
    def hz(self) -> float:
        return self._hz

    @hz.setter
    def hz(self, value: float) -> None:
        self._hz = max(0.0, float(value))
        self._period = 1.0 / self._hz if self._hz > 0 else 0.0
        self._slack = min(0.25 * self._period, self.JITTER_S)
        self._next = None  # the next event passes; the new rate applies from there

    def allow(self, now: float | None = None) -> bool:
        if self._hz <= 0:
            return False
        now = self._clock() if now is None else now
        if self._next is not None and now < self._next - self._slack:
            return False
        if self._next is None or now - self._next >= self._period:
            self._next = now + self._period  # first event, or after a pause: a new schedule
        else:
            self._next += self._period  # on schedule (a little early or late): keep the phase
        return True
