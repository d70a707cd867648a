"""What the inference thread hands to the publishing thread, bounded so a slow broker never slows inference.

* Rep events: a FIFO (they must all go out, in order); bounded at ``rep_capacity``. Reaching the
  bound means the publisher has been stuck for hours of exercise; the oldest are then dropped and
  counted (and logged), rather than letting memory grow without limit.
* State, pose, silhouette: latest-value slots. Only the newest matters; one that was not published
  yet is replaced (state changes are coalesced, the ``state`` topic is at most ~5 messages/s).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from edge.pose import Pose

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepMessage:
    event: dict[str, Any]
    session: str
    captured_at: float


@dataclass(frozen=True)
class PoseMessage:
    pose: Pose | None
    frame: int
    t: float
    captured_at: float
    image_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class SilhouetteMessage:
    silhouette: dict[str, Any] | None
    frame: int
    captured_at: float


@dataclass
class Batch:
    """Everything taken in one go by the publishing thread, in publishing order."""

    reps: list[RepMessage] = field(default_factory=list)
    state: dict[str, Any] | None = None
    pose: PoseMessage | None = None
    silhouette: SilhouetteMessage | None = None

    def __bool__(self) -> bool:
        return bool(self.reps) or any(x is not None for x in (self.state, self.pose, self.silhouette))


class Outgoing:
    """Bounded hand-over to the publishing thread.

    Args:
        rep_capacity: most rep events held while the publisher is stuck.
    """

    def __init__(self, rep_capacity: int = 1000) -> None:
        self._cond = threading.Condition()
        self._reps: deque[RepMessage] = deque()
        self._rep_capacity = rep_capacity
        self._state: dict[str, Any] | None = None
        self._pose: PoseMessage | None = None
        self._silhouette: SilhouetteMessage | None = None
        self.dropped_reps = 0
        self.replaced_poses = 0

    def put_rep(self, message: RepMessage) -> None:
        with self._cond:
            if len(self._reps) >= self._rep_capacity:
                self._reps.popleft()
                self.dropped_reps += 1
                log.error("publisher stuck: %d rep events dropped", self.dropped_reps)
            self._reps.append(message)
            self._cond.notify_all()

    def put_state(self, state: dict[str, Any]) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()

    def put_pose(self, message: PoseMessage) -> None:
        with self._cond:
            if self._pose is not None:
                self.replaced_poses += 1
            self._pose = message
            self._cond.notify_all()

    def put_silhouette(self, message: SilhouetteMessage) -> None:
        with self._cond:
            self._silhouette = message
            self._cond.notify_all()

    def wait(self, timeout: float, include_state: bool = True) -> bool:
        """Wait up to ``timeout`` s for something to publish; True if something is pending."""
        with self._cond:
            if not self._pending(include_state) and timeout > 0:
                self._cond.wait(timeout)
            return self._pending(include_state)

    def take(self, include_state: bool = True) -> Batch:
        """Remove and return what is pending (the state only if ``include_state``)."""
        with self._cond:
            batch = Batch(list(self._reps), None, self._pose, self._silhouette)
            self._reps.clear()
            self._pose = self._silhouette = None
            if include_state:
                batch.state, self._state = self._state, None
            return batch

    @property
    def state_pending(self) -> bool:
        with self._cond:
            return self._state is not None

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _pending(self, include_state: bool) -> bool:
        return (
            bool(self._reps)
            or self._pose is not None
            or self._silhouette is not None
            or (include_state and self._state is not None)
        )
