"""What the dashboard knows about every device, and the fan-out of changes to open pages.

``DeviceHub`` is fed decoded MQTT messages (from ``MqttLink`` or anything else), keeps the latest
of each kind per device plus the recent reps and command results, and copies every change to each
subscribed page. A page that connects late gets ``snapshot()`` first, then live events, so it sees
the same as a page that was open all along (within the cache's limits: the last ``max_reps`` reps
per device since the server started, the broker's retained messages before that).

Events are JSON strings, serialised once per message, not once per page:
``{"type": "msg", "device": id, "kind": kind, "data": payload, "retained": bool}`` and
``{"type": "broker", "connected": bool, "detail": str}``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Kinds a slow page may miss without harm: the next message replaces them.
LOSSY_KINDS = frozenset({"pose", "silhouette", "stats"})
#: Kinds whose latest value describes the device (cached; replayed to late joiners).
LATEST_KINDS = ("availability", "state", "stats", "pose", "silhouette")


@dataclass
class DeviceRecord:
    """Latest known messages of one device (decoded payloads, None until seen)."""

    availability: str | None = None
    state: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None
    pose: dict[str, Any] | None = None
    silhouette: dict[str, Any] | None = None
    reps: deque[dict[str, Any]] = field(default_factory=deque)
    rep_ids: set[str] = field(default_factory=set)
    results: deque[dict[str, Any]] = field(default_factory=deque)
    last_seen: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "availability": self.availability,
            "state": self.state,
            "stats": self.stats,
            "pose": self.pose,
            "silhouette": self.silhouette,
            "reps": list(self.reps),
            "results": list(self.results),
            "last_seen": self.last_seen,
        }


class Subscription:
    """One page's queue of events. Lossy kinds are shed first when the page falls behind.

    When the queue is full anyway, ``overflowed`` is set and nothing more is queued: the server
    then closes the stream and the page reconnects and starts again from a snapshot, which is
    cheaper and more correct than replaying a backlog.
    """

    def __init__(self, maxsize: int) -> None:
        self.queue: queue.Queue[str] = queue.Queue(maxsize)
        self.maxsize = maxsize
        self.overflowed = False
        self.shed = 0

    def offer(self, event: str, lossy: bool) -> None:
        if self.overflowed:
            return
        if lossy and self.queue.qsize() >= self.maxsize // 2:
            self.shed += 1
            return
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.overflowed = True

    def get(self, timeout: float) -> str | None:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None


class DeviceHub:
    """Thread-safe cache of every device's latest messages, with fan-out to subscribers.

    Args:
        max_reps: reps kept per device for late joiners (older ones are dropped first).
        max_results: command results kept per device.
        clock: source of ``last_seen`` times (Unix seconds).
    """

    def __init__(self, max_reps: int = 200, max_results: int = 20, clock: Any = time.time) -> None:
        self.max_reps = max_reps
        self.max_results = max_results
        self._clock = clock
        self._lock = threading.Lock()
        self._devices: dict[str, DeviceRecord] = {}
        self._subscribers: list[Subscription] = []
        self._broker: dict[str, Any] = {"connected": False, "detail": "starting"}
        self.malformed = 0

    # -- input ---------------------------------------------------------------------------------

    def handle(self, device: str, kind: str, payload: bytes, retained: bool = False) -> bool:
        """Take one message for ``device``; return True if it changed what pages show.

        Malformed payloads are counted and logged at debug level, never raised: one bad
        publisher must not take the dashboard down.
        """
        data: Any
        if kind == "availability":
            data = payload.decode("utf-8", "replace").strip() or None
        elif not payload:
            data = None  # a cleared retained topic
        else:
            try:
                data = json.loads(payload)
            except ValueError:
                data = None
            if not isinstance(data, dict):
                self.malformed += 1
                log.debug("ignoring a malformed %s payload from %s", kind, device)
                return False
        with self._lock:
            record = self._devices.setdefault(device, DeviceRecord())
            record.last_seen = self._clock()
            if kind == "rep":
                if data is None or not self._add_rep(record, data):
                    return False
            elif kind == "cmd/result":
                if data is None:
                    return False
                record.results.append(data)
                while len(record.results) > self.max_results:
                    record.results.popleft()
            elif kind in LATEST_KINDS:
                setattr(record, kind, data)
            else:
                return False
            event = json.dumps(
                {"type": "msg", "device": device, "kind": kind, "data": data, "retained": retained},
                separators=(",", ":"),
            )
            self._broadcast(event, lossy=kind in LOSSY_KINDS)
        return True

    def _add_rep(self, record: DeviceRecord, rep: dict[str, Any]) -> bool:
        rep_id = rep.get("id")
        if isinstance(rep_id, str):
            if rep_id in record.rep_ids:
                return False  # QoS 1 duplicate or an outbox replay
            record.rep_ids.add(rep_id)
        record.reps.append(rep)
        while len(record.reps) > self.max_reps:
            old = record.reps.popleft()
            record.rep_ids.discard(old.get("id"))  # type: ignore[arg-type]
        return True

    def set_broker(self, connected: bool, detail: str = "") -> None:
        """Record whether the server reaches the broker and tell every page."""
        with self._lock:
            if self._broker == {"connected": connected, "detail": detail}:
                return
            self._broker = {"connected": connected, "detail": detail}
            self._broadcast(json.dumps({"type": "broker", **self._broker}), lossy=False)

    # -- output --------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything a page needs to draw the current picture (JSON-serialisable)."""
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> dict[str, Any]:
        return {
            "type": "snapshot",
            "broker": dict(self._broker),
            "devices": {name: record.to_json() for name, record in sorted(self._devices.items())},
        }

    @property
    def broker_connected(self) -> bool:
        with self._lock:
            return bool(self._broker["connected"])

    def devices(self) -> list[str]:
        """Ids of every device seen, sorted."""
        with self._lock:
            return sorted(self._devices)

    def subscribe(self, maxsize: int = 512) -> tuple[Subscription, str]:
        """Register a page; return its queue and the snapshot to send first (as one JSON string).

        Taking both under one lock means no event falls between the snapshot and the queue.
        """
        subscription = Subscription(maxsize)
        with self._lock:
            snapshot = self._snapshot_locked()
            self._subscribers.append(subscription)
        return subscription, json.dumps(snapshot, separators=(",", ":"))

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def _broadcast(self, event: str, lossy: bool) -> None:
        for subscription in self._subscribers:
            subscription.offer(event, lossy)
