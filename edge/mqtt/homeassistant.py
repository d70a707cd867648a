"""Home Assistant MQTT discovery: one retained device-based discovery message per device.

Topic ``<homeassistant.prefix>/device/edgepose_<device_id>/config``; the payload follows Home
Assistant's ``DEVICE_DISCOVERY_SCHEMA`` (``homeassistant/components/mqtt/schemas.py``: ``device``,
``origin`` and ``components`` required; shared ``availability``/``qos`` at the top). Full key
names are used (Home Assistant expands the abbreviations ``dev``/``o``/``cmps``/``p`` to them), so
the retained message is readable in any MQTT browser.

Entities: rep count (``total_increasing``), exercise, frame rate (diagnostic), status (enum,
diagnostic), person present (``binary_sensor``, occupancy) and a reset button. Every entity sets
``default_entity_id`` (``object_id`` is deprecated since HA 2025.10 and ignored from 2026.4) and
is unavailable whenever the device's ``availability`` topic says ``offline``.

The reset button publishes ``{"cmd": "reset"}``. It is left out when ``commands.token`` is set
(a retained discovery message is readable by every subscriber, so it must not carry the token)
and when ``commands.enabled`` is false.
"""

from __future__ import annotations

import re
from typing import Any

from edge import __version__
from edge.config import Config
from edge.mqtt.topics import OFFLINE, ONLINE, STATUSES, Topics, homeassistant_discovery_topic


def object_id(device_id: str) -> str:
    """``edgepose_<device id>`` with every character outside ``[a-z0-9_]`` (entity-id safe) as '_'."""
    return "edgepose_" + re.sub(r"[^a-z0-9_]", "_", device_id.lower())


def discovery_topic(config: Config) -> str:
    return homeassistant_discovery_topic(config.homeassistant.prefix, config.device_id)


def discovery_payload(config: Config, topics: Topics) -> dict[str, Any]:
    """The device-based discovery payload for this device (see the module docstring)."""
    uid = object_id(config.device_id)

    def entity(platform: str, key: str, name: str, **options: Any) -> dict[str, Any]:
        return {
            "platform": platform,
            "name": name,
            "unique_id": f"{uid}_{key}",
            "default_entity_id": f"{platform}.{uid}_{key}",
            **options,
        }

    components: dict[str, dict[str, Any]] = {
        "rep_count": entity(
            "sensor",
            "rep_count",
            "Rep count",
            state_topic=topics.state,
            value_template="{{ value_json.count }}",
            state_class="total_increasing",
            unit_of_measurement="reps",
            icon="mdi:counter",
        ),
        "exercise": entity(
            "sensor",
            "exercise",
            "Exercise",
            state_topic=topics.state,
            value_template="{{ value_json.exercise }}",
            icon="mdi:weight-lifter",
        ),
        "fps": entity(
            "sensor",
            "fps",
            "Frame rate",
            state_topic=topics.stats,
            value_template="{{ value_json.fps }}",
            unit_of_measurement="fps",
            state_class="measurement",
            suggested_display_precision=1,
            entity_category="diagnostic",
            icon="mdi:speedometer",
        ),
        "status": entity(
            "sensor",
            "status",
            "Status",
            state_topic=topics.state,
            value_template="{{ value_json.status }}",
            device_class="enum",
            options=list(STATUSES),
            entity_category="diagnostic",
        ),
        "person": entity(
            "binary_sensor",
            "person",
            "Person",
            state_topic=topics.state,
            value_template="{{ 'ON' if value_json.person else 'OFF' }}",
            device_class="occupancy",
        ),
    }
    if config.commands.enabled and not config.commands.token:
        components["reset"] = entity(
            "button",
            "reset",
            "Reset count",
            command_topic=topics.cmd,
            payload_press='{"cmd":"reset"}',
            icon="mdi:restart",
        )
    return {
        "device": {
            "identifiers": [uid],
            "name": config.device_name,
            "manufacturer": "edge-pose",
            "model": "edge-pose pose and rep counter",
            "sw_version": __version__,
        },
        "origin": {"name": "edge-pose", "sw_version": __version__},
        "availability": [
            {"topic": topics.availability, "payload_available": ONLINE, "payload_not_available": OFFLINE}
        ],
        "qos": 1,
        "components": components,
    }
