"""The interfaces the runtime needs from the other parts, and the one it offers (``CommandHandler``).

The runtime codes against these small Protocols, not against the classes that implement them:
``edge.blazepose.PoseEstimator``, ``edge.reps.RepCounter``, ``edge.silhouette`` and ``edge.mqtt``'s
publisher fit them structurally, and so do the test doubles (a scripted estimator, an in-memory
publisher). Nothing here imports those modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from edge.pose import Pose
from edge.sources import Frame


class PoseEstimatorLike(Protocol):
    """``edge.blazepose.PoseEstimator`` (or a double): one frame in, the person's pose (or None) out.

    Frames come in order with increasing timestamps (the estimator tracks and smooths over them).
    """

    def process(self, frame: Frame) -> Pose | None: ...

    def close(self) -> None: ...


class RepEventLike(Protocol):
    """One repetition; ``to_json()`` is the payload part of the MQTT ``rep`` message."""

    def to_json(self) -> dict[str, Any]: ...


class RepCounterLike(Protocol):
    """``edge.reps.RepCounter``: fed every frame's pose (None when no person) and its stream time."""

    def update(self, pose: Pose | None, t: float) -> RepEventLike | None: ...

    @property
    def count(self) -> int: ...

    @property
    def phase(self) -> str: ...

    @property
    def exercise(self) -> str | None: ...

    def set_exercise(self, name: str) -> None: ...

    def reset(self) -> None: ...


class SilhouetteStage(Protocol):
    """Silhouette of the person in a frame, as the JSON of the MQTT ``silhouette`` message (or None)."""

    def compute(self, frame: Frame, pose: Pose | None) -> dict[str, Any] | None: ...


class CommandHandler(Protocol):
    """What MQTT commands act on (implemented by ``edge.daemon.Daemon``); every method is thread-safe.

    Methods raise ``edge.errors.CommandError`` with a one-line reason for invalid arguments.
    """

    def reset(self) -> None: ...

    def set_exercise(self, name: str) -> None: ...

    def start_session(self) -> None: ...

    def stop_session(self) -> None: ...

    def set_rates(self, pose_hz: float | None, silhouette_hz: float | None) -> None: ...

    def state(self) -> dict[str, Any]: ...


class Publisher(Protocol):
    """``edge.mqtt.MqttPublisher`` (or ``MemoryPublisher``). ``publish_*`` must not block for long.

    The publisher applies ``publish.pose_hz`` and ``publish.silhouette_hz`` itself, on its own
    clock (and ``set_rates`` commands to them): the daemon offers every frame's pose (the newest
    one whenever the publishing thread gets to it) and computes silhouettes at the silhouette rate.
    """

    def start(self) -> None: ...

    def stop(self, timeout: float) -> None: ...

    def publish_state(self, state: dict[str, Any]) -> None: ...

    def publish_pose(
        self, pose: Pose | None, frame: int, t: float, image_size: tuple[int, int] | None = None
    ) -> None: ...

    def publish_rep(self, event: dict[str, Any], session: str) -> Any: ...

    def publish_silhouette(self, silhouette: dict[str, Any] | None, frame: int) -> None: ...

    def publish_stats(self, stats: dict[str, Any]) -> None: ...

    def set_command_handler(self, handler: CommandHandler) -> None: ...

    @property
    def connected(self) -> bool: ...

    @property
    def outbox_size(self) -> int: ...


class DisplaySink(Protocol):
    """The LCD (``edge.daemon.compose.LcdSink`` around ``edge.lcd.LcdRenderer``): takes the newest
    frame, pose, state and frame rate; renders on its own schedule."""

    def show(
        self, frame: Frame, pose: Pose | None, state: Mapping[str, Any], fps: float | None = None
    ) -> None: ...


class Notifier(Protocol):
    """systemd notifications (``edge.health.SystemdNotifier``)."""

    def ready(self, status: str = "") -> None: ...

    def status(self, text: str) -> None: ...

    def watchdog(self, force: bool = False) -> bool: ...

    def stopping(self, status: str = "") -> None: ...
