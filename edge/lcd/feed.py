"""Feed an ``LcdRenderer`` from MQTT: the ``edge-pose lcd`` unit (kvmd-oled style).

Subscribes to one device's ``availability``, ``state``, ``stats``, ``pose`` and ``silhouette``
(CONTRACT.md) and turns each message into an ``LcdRenderer.update``. Without a device id it shows
the first device that publishes anything and says so in the log. No camera thumbnail travels
over MQTT, so this mode draws the silhouette outline and the skeleton.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import numpy as np

from edge.dashboard import topics
from edge.dashboard.broker import BrokerSettings, MqttLink
from edge.lcd.renderer import LcdRenderer

log = logging.getLogger(__name__)

KINDS = ("availability", "state", "stats", "pose", "silhouette")


class MqttFeed:
    """Keep ``renderer`` showing what device ``device_id`` publishes.

    Args:
        renderer: the started renderer to update.
        settings: the broker.
        device_id: device to show; empty shows the first one heard.
    """

    def __init__(self, renderer: LcdRenderer, settings: BrokerSettings, device_id: str = "") -> None:
        self.renderer = renderer
        self.settings = settings
        self.device_id = device_id
        self._lock = threading.Lock()
        self.link = MqttLink(
            settings,
            topics.subscriptions(settings.topic_prefix, KINDS, device_id or "+"),
            on_message=self._on_message,
            on_status=self._on_status,
        )
        renderer.update(status="starting", message=f"waiting for {device_id or 'a device'}")

    def start(self) -> MqttFeed:
        self.link.start()
        return self

    def stop(self) -> None:
        self.link.stop()

    def _on_status(self, connected: bool, reason: str) -> None:
        if connected:
            self.renderer.update(message="" if self.device_id else "waiting for a device")
        else:
            self.renderer.update(message="no broker", landmarks=None, person=False)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        parsed = topics.parse(self.settings.topic_prefix, topic)
        if parsed is None:
            return
        device, kind = parsed
        with self._lock:
            if not self.device_id:
                self.device_id = device
                log.info("lcd: showing device %s", device)
            if device != self.device_id:
                return
        try:
            self.renderer.update(**changes_for(kind, payload))
        except (ValueError, TypeError) as exc:
            log.debug("lcd: ignoring a malformed %s message: %s", kind, exc)


def changes_for(kind: str, payload: bytes) -> dict[str, Any]:
    """The ``LcdState`` changes one message means (CONTRACT.md payloads).

    Raises:
        ValueError: the payload is not what the contract describes.
    """
    if kind == "availability":
        online = payload.decode("utf-8", "replace").strip() == "online"
        changes: dict[str, Any] = {"online": online, "message": ""}
        if not online:
            changes.update(landmarks=None, person=False, polygon=None)
        return changes
    data = json.loads(payload) if payload else {}
    if not isinstance(data, dict):
        raise ValueError(f"{kind} payload is not a JSON object")
    if kind == "state":
        count = data.get("count")
        return {
            "count": int(count) if isinstance(count, (int, float)) else None,
            "exercise": str(data.get("exercise") or ""),
            "status": str(data.get("status") or "running"),
            "person": bool(data.get("person", True)),
            "message": "",
        }
    if kind == "stats":
        fps = data.get("fps")
        return {"fps": float(fps) if isinstance(fps, (int, float)) else None}
    if kind == "pose":
        landmarks = data.get("landmarks")
        size = data.get("image_size")
        changes = {
            "landmarks": None if landmarks is None else np.asarray(landmarks, np.float32).reshape(33, -1)
        }
        if isinstance(size, list) and len(size) == 2:
            changes["image_size"] = (int(size[0]), int(size[1]))
        return changes
    if kind == "silhouette":
        rings = data.get("polygons") or ([data["polygon"]] if data.get("polygon") else [])
        rings = [np.asarray(r, np.float32).reshape(-1, 2) for r in rings if len(r) >= 3]
        return {"polygon": max(rings, key=len) if rings else None}
    raise ValueError(f"unknown kind {kind!r}")
