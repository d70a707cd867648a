"""The MQTT contract in code: every topic, its QoS and retain flag, and every payload builder.

This module is the single source of truth for topic names (frigate's drifting topic lists are
the anti-pattern): the publisher, the command subscriber, Home Assistant discovery, the
dashboard's tests and ``tests/mqtt/test_topics.py`` (which locks the complete set) all use it.

Topics are ``<topic_prefix>/<device_id>/<suffix>``. Every JSON payload carries ``"v": 1`` (the
schema version) and ``"ts"`` (Unix seconds, float), as CONTRACT.md specifies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge.pose import Pose

SCHEMA_VERSION = 1
ONLINE = "online"
OFFLINE = "offline"

#: Keys of the ``state`` payload body (``CommandHandler.state()`` returns exactly these).
STATE_KEYS = ("device_id", "exercise", "count", "phase", "session", "person", "status", "source")
SESSION_KEYS = ("id", "active", "started", "count")
STATUSES = ("starting", "running", "camera_error", "stopping")


@dataclass(frozen=True)
class TopicSpec:
    """How one kind of message is published.

    Attributes:
        suffix: topic below ``<prefix>/<device_id>/``.
        qos: MQTT QoS level.
        retain: published with the retain flag.
        expires: MQTT 5 Message Expiry applies (stale data is worthless: pose, silhouette, stats).
        inbound: published by others and subscribed to by the device (``cmd``).
    """

    suffix: str
    qos: int
    retain: bool
    expires: bool = False
    inbound: bool = False


#: The complete topic table (CONTRACT.md "MQTT topics"), in the contract's order.
TOPICS: dict[str, TopicSpec] = {
    "availability": TopicSpec("availability", qos=1, retain=True),
    "state": TopicSpec("state", qos=1, retain=True),
    "pose": TopicSpec("pose", qos=0, retain=False, expires=True),
    "rep": TopicSpec("rep", qos=1, retain=False),
    "silhouette": TopicSpec("silhouette", qos=0, retain=False, expires=True),
    "stats": TopicSpec("stats", qos=0, retain=True, expires=True),
    "cmd": TopicSpec("cmd", qos=1, retain=False, inbound=True),
    "cmd_result": TopicSpec("cmd/result", qos=1, retain=False),
}


@dataclass(frozen=True)
class Topics:
    """The topic names of one device: ``Topics("edge-pose", "gym1").state == "edge-pose/gym1/state"``."""

    prefix: str
    device_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device_id}"

    def topic(self, kind: str) -> str:
        """The topic of a message kind from ``TOPICS`` (``KeyError`` for an unknown kind)."""
        return f"{self.base}/{TOPICS[kind].suffix}"

    @property
    def availability(self) -> str:
        return self.topic("availability")

    @property
    def state(self) -> str:
        return self.topic("state")

    @property
    def pose(self) -> str:
        return self.topic("pose")

    @property
    def rep(self) -> str:
        return self.topic("rep")

    @property
    def silhouette(self) -> str:
        return self.topic("silhouette")

    @property
    def stats(self) -> str:
        return self.topic("stats")

    @property
    def cmd(self) -> str:
        return self.topic("cmd")

    @property
    def cmd_result(self) -> str:
        return self.topic("cmd_result")

    def all(self) -> dict[str, str]:
        """``{kind: topic}`` for every kind in ``TOPICS``."""
        return {kind: self.topic(kind) for kind in TOPICS}

    def subscriptions(self) -> list[str]:
        """Topics the device subscribes to (the inbound kinds)."""
        return [self.topic(kind) for kind, spec in TOPICS.items() if spec.inbound]


def homeassistant_discovery_topic(ha_prefix: str, device_id: str) -> str:
    """Device-based discovery topic: ``<prefix>/device/edgepose_<device_id>/config``."""
    return f"{ha_prefix}/device/edgepose_{device_id}/config"


def homeassistant_status_topic(ha_prefix: str) -> str:
    """Where Home Assistant announces ``online``/``offline`` (its birth and last will)."""
    return f"{ha_prefix}/status"


@dataclass(frozen=True)
class Message:
    """One outgoing MQTT message (what ``MemoryPublisher`` records and the outbox stores)."""

    kind: str
    topic: str
    payload: bytes
    qos: int
    retain: bool

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)

    def text(self) -> str:
        return self.payload.decode("utf-8")


def encode(payload: Mapping[str, Any] | str) -> bytes:
    """Compact UTF-8 JSON for mappings, UTF-8 text for strings. NaN/inf are not valid JSON: refused."""
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _head(ts: float | None) -> dict[str, Any]:
    return {"v": SCHEMA_VERSION, "ts": round(time.time() if ts is None else ts, 3)}


# -- payload builders (each adds "v" and "ts") ---------------------------------------------------


def state_payload(state: Mapping[str, Any], ts: float | None = None) -> dict[str, Any]:
    """The ``state`` payload from the daemon's state body.

    Args:
        state: ``{"device_id", "exercise", "count", "phase", "session": {"id", "active",
            "started", "count"}, "person", "status", "source"}`` (``STATE_KEYS``).
        ts: Unix time in seconds; now when omitted.

    Raises:
        ValueError: a key is missing or ``status`` is not one of ``STATUSES`` (a programming error
            in the caller; the contract tests catch it).
    """
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"state payload is missing {', '.join(missing)}")
    session = state["session"]
    if not isinstance(session, Mapping) or any(k not in session for k in SESSION_KEYS):
        raise ValueError(f"state.session must have the keys {', '.join(SESSION_KEYS)}")
    if state["status"] not in STATUSES:
        raise ValueError(f"state.status must be one of {', '.join(STATUSES)}, got {state['status']!r}")
    return {
        **_head(ts),
        **{k: state[k] for k in STATE_KEYS},
        "session": {k: session[k] for k in SESSION_KEYS},
    }


def pose_payload(
    pose: Pose | None,
    frame: int,
    t: float,
    image_size: tuple[int, int] | None = None,
    ts: float | None = None,
    digits: int = 4,
) -> dict[str, Any]:
    """The ``pose`` payload of one frame.

    Args:
        pose: the frame's pose, or ``None`` when nobody was found (``landmarks``/``world``/``score`` null).
        frame: frame index in the stream.
        t: stream time of the frame in seconds.
        image_size: (width, height) when ``pose`` is None (otherwise the pose's own).
        ts: Unix time in seconds; now when omitted.
        digits: decimals kept (4 = 0.1 mm in metres, 1/10000 of the image in normalised units).

    Returns:
        ``{"v", "ts", "frame", "t", "image_size": [w, h] | null, "score", "landmarks": 33 x
        [x, y, z, visibility, presence] | null, "world": 33 x [x, y, z] metres | null}``.
    """
    out = {**_head(ts), "frame": int(frame), "t": round(float(t), 4)}
    if pose is None:
        size = list(image_size) if image_size is not None else None
        return {**out, "image_size": size, "score": None, "landmarks": None, "world": None}
    body = pose.to_json(digits=digits)
    return {
        **out,
        "image_size": [int(pose.image_size[0]), int(pose.image_size[1])],
        "score": body["score"],
        "landmarks": body["landmarks"],
        "world": body["world"],
    }


def rep_id(device_id: str, session: str, index: int, partial: bool = False) -> str:
    """The rep event's stable id ``<device>-<session>-<index>[p]``: subscribers deduplicate on it."""
    return f"{device_id}-{session}-{index}{'p' if partial else ''}"


def rep_payload(
    event: Mapping[str, Any], device_id: str, session: str, ts: float | None = None
) -> dict[str, Any]:
    """The ``rep`` payload: ``{"v", "ts", "id", "device_id", "session", ...event}``.

    Args:
        event: the ``RepEvent`` JSON (``index``, ``exercise``, ``side``, ``start``, ``end``, ...,
            ``partial``); its keys never replace ``v``, ``ts``, ``id``, ``device_id``, ``session``.
        device_id: the device id.
        session: the session id the rep belongs to.
        ts: Unix time in seconds; now when omitted.

    Raises:
        ValueError: ``event`` has no integer ``index``.
    """
    index = event.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"rep event needs an integer 'index', got {index!r}")
    out = {
        **_head(ts),
        "id": rep_id(device_id, session, index, bool(event.get("partial", False))),
        "device_id": device_id,
        "session": session,
    }
    for key, value in event.items():
        out.setdefault(key, value)
    return out


def silhouette_payload(
    silhouette: Mapping[str, Any] | None, frame: int, ts: float | None = None
) -> dict[str, Any]:
    """The ``silhouette`` payload: ``{"v", "ts", "frame", ...Silhouette.to_json()}``.

    ``None`` (nobody in the frame) becomes ``{"v", "ts", "frame", "polygon": null}`` so that
    dashboards clear the outline.
    """
    out = {**_head(ts), "frame": int(frame)}
    if silhouette is None:
        return {**out, "polygon": None}
    for key, value in silhouette.items():
        out.setdefault(key, value)
    return out


def stats_payload(stats: Mapping[str, Any], ts: float | None = None) -> dict[str, Any]:
    """The ``stats`` payload: ``{"v", "ts", "fps", "latency_ms": {"p50", "p99"}, "frames",
    "skipped_frames", "cpu_temp_c", "rss_mb", "uptime_s", "outbox", "model", "delegate"}``."""
    out = _head(ts)
    for key, value in stats.items():
        out.setdefault(key, value)
    return out


def command_result_payload(
    command_id: Any,
    cmd: str | None,
    ok: bool,
    error: str | None,
    state: Mapping[str, Any] | None,
    ts: float | None = None,
) -> dict[str, Any]:
    """The ``cmd/result`` payload: ``{"v", "ts", "id", "cmd", "ok", "error", "state"}``."""
    return {
        **_head(ts),
        "id": command_id,
        "cmd": cmd,
        "ok": bool(ok),
        "error": error,
        "state": dict(state) if state is not None else None,
    }
