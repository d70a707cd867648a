"""``MemoryPublisher``: the ``Publisher`` test double. Records messages instead of sending them.

It builds exactly the payloads ``MqttPublisher`` sends (same topic table, builders, rate
limiter and command dispatcher), so the daemon's unit tests assert the real contract. Network
behaviour is simulated: ``set_connected(False)`` makes QoS 0 messages drop (counted) and rep
events/state wait in an in-memory outbox that ``set_connected(True)`` delivers in order.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from edge.config import Config, DeviceConfig
from edge.mqtt.commands import CommandDispatcher, CommandHandler
from edge.mqtt.publisher import RateLimiter
from edge.mqtt.topics import (
    OFFLINE,
    ONLINE,
    TOPICS,
    Message,
    Topics,
    encode,
    pose_payload,
    rep_payload,
    silhouette_payload,
    state_payload,
    stats_payload,
)

if TYPE_CHECKING:
    from edge.pose import Pose


class MemoryPublisher:
    """Records every message a real publisher would send.

    Args:
        config: the configuration (default: defaults with ``device.id = "test"``).
        connected: whether the simulated broker is reachable after ``start()``.
        clock: monotonic seconds for the rate limiters (tests pass a fake clock).

    Attributes:
        messages: every message "sent", in order.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        connected: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or Config(device=DeviceConfig(id="test"))
        self.topics = Topics(self.config.mqtt.topic_prefix, self.config.device_id)
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._reachable = connected
        self._connected = False
        self._started = False
        self._outbox: list[Message] = []
        self._state: Message | None = None
        self._pose_limit = RateLimiter(self.config.publish.pose_hz, clock)
        self._silhouette_limit = RateLimiter(self.config.publish.silhouette_hz, clock)
        self._dispatcher = CommandDispatcher(
            self.config.commands.token, self.config.commands.enabled, self.set_rates
        )
        self._counters = {"published": 0, "dropped_offline": 0, "rate_limited": 0}

    # -- Publisher -------------------------------------------------------------------------------

    def start(self) -> None:
        self._started = True
        if self._reachable:
            self.set_connected(True)

    def stop(self, timeout: float = 5.0) -> None:
        if self._connected:
            self._record(self._message("availability", OFFLINE.encode()))
        self._connected = False
        self._started = False

    def publish_state(self, state: Mapping[str, Any]) -> None:
        message = self._message("state", encode(state_payload(state)))
        with self._lock:
            self._state = message
            if self._connected:
                self._record(message)
            else:
                self._outbox = [m for m in self._outbox if m.kind != "state"] + [message]

    def publish_rep(self, event: Mapping[str, Any], session: str) -> str:
        payload = rep_payload(event, self.config.device_id, session)
        message = self._message("rep", encode(payload))
        with self._lock:
            if self._connected:
                self._record(message)
            else:
                self._outbox.append(message)
        return str(payload["id"])

    def publish_pose(
        self, pose: Pose | None, frame: int, t: float, image_size: tuple[int, int] | None = None
    ) -> None:
        if not self._pose_limit.allow():
            self._counters["rate_limited"] += 1
        elif not self._connected:
            self._counters["dropped_offline"] += 1
        else:
            self._record(self._message("pose", encode(pose_payload(pose, frame, t, image_size))))

    def publish_silhouette(self, silhouette: Mapping[str, Any] | None, frame: int) -> None:
        if not self._silhouette_limit.allow():
            self._counters["rate_limited"] += 1
        elif not self._connected:
            self._counters["dropped_offline"] += 1
        else:
            self._record(self._message("silhouette", encode(silhouette_payload(silhouette, frame))))

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        body = dict(stats)
        body.setdefault("outbox", self.outbox_size)
        if not self._connected:
            self._counters["dropped_offline"] += 1
            return
        self._record(self._message("stats", encode(stats_payload(body))))

    def set_rates(self, pose_hz: float | None = None, silhouette_hz: float | None = None) -> None:
        if pose_hz is not None:
            self._pose_limit.hz = pose_hz
        if silhouette_hz is not None:
            self._silhouette_limit.hz = silhouette_hz

    def set_command_handler(self, handler: CommandHandler | None) -> None:
        self._dispatcher.set_handler(handler)

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def outbox_size(self) -> int:
        return len(self._outbox)

    @property
    def rates(self) -> tuple[float, float]:
        return self._pose_limit.hz, self._silhouette_limit.hz

    @property
    def counters(self) -> dict[str, int]:
        return {
            **self._counters,
            "outbox": self.outbox_size,
            "outbox_dropped_reps": 0,
            "commands_accepted": self._dispatcher.accepted,
            "commands_refused": self._dispatcher.refused,
        }

    # -- simulation and inspection ------------------------------------------------------------------

    def set_connected(self, connected: bool) -> None:
        """Simulate the broker coming and going; on connect: ``online``, then the outbox in order,
        then the latest state again (as after a broker restart)."""
        with self._lock:
            if connected and not self._connected:
                self._connected = True
                self._record(self._message("availability", ONLINE.encode()))
                pending, self._outbox = self._outbox, []
                for message in pending:
                    self._record(message)
                if self._state is not None and (not pending or pending[-1] is not self._state):
                    self._record(self._state)
            elif not connected:
                self._connected = False

    def receive_command(self, command: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
        """Deliver a command as if it arrived on ``cmd``; records and returns the ``cmd/result``."""
        if isinstance(command, Mapping):
            payload = json.dumps(command).encode()
        elif isinstance(command, str):
            payload = command.encode()
        else:
            payload = command
        result = self._dispatcher.handle(payload)
        self._record(self._message("cmd_result", encode(result)))
        return result

    def of_kind(self, kind: str) -> list[Message]:
        """Recorded messages of one kind ("state", "rep", ...), in order."""
        return [m for m in self.messages if m.kind == kind]

    def payloads(self, kind: str) -> list[Any]:
        """Decoded payloads of one kind (JSON, or text for ``availability``)."""
        return [m.text() if kind == "availability" else m.json() for m in self.of_kind(kind)]

    def clear(self) -> None:
        self.messages.clear()

    def _message(self, kind: str, payload: bytes) -> Message:
        spec = TOPICS[kind]
        return Message(kind, self.topics.topic(kind), payload, spec.qos, spec.retain)

    def _record(self, message: Message) -> None:
        self.messages.append(message)
        self._counters["published"] += 1
