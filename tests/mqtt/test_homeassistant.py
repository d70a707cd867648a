"""Home Assistant device-based discovery: payload shape against HA's documented keys, and re-publishing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import FAST, STATE, Mosquitto, make_config, wait_until

from edge.config import load
from edge.mqtt import homeassistant
from edge.mqtt.client import MqttPublisher
from edge.mqtt.topics import TOPICS, Topics

# Top level of a device discovery message: home-assistant/core
# homeassistant/components/mqtt/schemas.py DEVICE_DISCOVERY_SCHEMA (MQTT_AVAILABILITY_SCHEMA extended
# with device, components, origin, state_topic, command_topic, qos, encoding). Unknown keys are refused.
TOP_LEVEL = {
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "device",
    "components",
    "origin",
    "state_topic",
    "command_topic",
    "qos",
    "encoding",
}
REQUIRED_TOP = {"device", "components", "origin"}
DEVICE = {
    "identifiers",
    "connections",
    "manufacturer",
    "model",
    "model_id",
    "name",
    "hw_version",
    "serial_number",
    "sw_version",
    "via_device",
    "suggested_area",
    "configuration_url",
}
ORIGIN = {"name", "sw_version", "support_url"}
AVAILABILITY_ITEM = {"topic", "payload_available", "payload_not_available", "value_template"}
# Per-platform options: home-assistant.io source/_integrations/{sensor,binary_sensor,button}.mqtt.markdown
ENTITY = {
    "platform",
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "default_entity_id",
    "enabled_by_default",
    "encoding",
    "entity_category",
    "entity_picture",
    "icon",
    "json_attributes_template",
    "json_attributes_topic",
    "name",
    "payload_available",
    "payload_not_available",
    "qos",
    "unique_id",
}
PLATFORM = {
    "sensor": ENTITY
    | {
        "device_class",
        "expire_after",
        "force_update",
        "last_reset_value_template",
        "options",
        "suggested_display_precision",
        "state_class",
        "state_topic",
        "unit_of_measurement",
        "value_template",
    },
    "binary_sensor": ENTITY
    | {
        "device_class",
        "expire_after",
        "force_update",
        "off_delay",
        "payload_off",
        "payload_on",
        "state_topic",
        "value_template",
    },
    "button": ENTITY | {"command_template", "command_topic", "device_class", "payload_press", "retain"},
}
# homeassistant/components/mqtt/discovery.py TOPIC_MATCHER
TOPIC_MATCHER = re.compile(
    r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config"
)


def config(tmp_path: Path, **overrides: Any) -> Any:
    values = {
        "device.id": "gym-1",
        "mqtt.host": "x",
        **{k.replace("__", "."): v for k, v in overrides.items()},
    }
    return load(None, env={"CONFIGURATION_DIRECTORY": str(tmp_path)}, overrides=values)


def validate(payload: dict[str, Any], topics: Topics) -> None:
    """Checks a discovery payload the way Home Assistant's schemas would (and a bit stricter)."""
    assert REQUIRED_TOP <= set(payload) <= TOP_LEVEL, set(payload) - TOP_LEVEL
    assert set(payload["device"]) <= DEVICE and payload["device"]["identifiers"]
    assert set(payload["origin"]) <= ORIGIN and payload["origin"]["name"]
    for item in payload["availability"]:
        assert set(item) <= AVAILABILITY_ITEM and item["topic"] == topics.availability
        assert (item["payload_available"], item["payload_not_available"]) == ("online", "offline")
    unique_ids = set()
    for key, comp in payload["components"].items():
        platform = comp["platform"]
        assert platform in PLATFORM, platform
        assert set(comp) <= PLATFORM[platform], (key, set(comp) - PLATFORM[platform])
        assert "object_id" not in comp, "object_id is deprecated (HA 2025.10) and ignored from 2026.4"
        assert re.fullmatch(rf"{platform}\.[a-z0-9_]+", comp["default_entity_id"]), comp["default_entity_id"]
        assert comp["unique_id"] not in unique_ids
        unique_ids.add(comp["unique_id"])
        assert comp.get("state_class", "measurement") in ("measurement", "total", "total_increasing")
        assert comp.get("entity_category", "diagnostic") in ("config", "diagnostic")
        if comp.get("device_class") == "enum":
            assert comp["options"]
        for topic_key in ("state_topic", "command_topic"):
            if topic_key in comp:
                assert comp[topic_key] in topics.all().values()


def test_ok__discovery_payload_matches_home_assistant_schema(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    topics = Topics(cfg.mqtt.topic_prefix, cfg.device_id)
    payload = homeassistant.discovery_payload(cfg, topics)
    validate(payload, topics)
    match = TOPIC_MATCHER.fullmatch(homeassistant.discovery_topic(cfg).removeprefix("homeassistant/"))
    assert match and match["component"] == "device" and match["object_id"] == "edgepose_gym-1"
    comps = payload["components"]
    assert set(comps) == {"rep_count", "exercise", "fps", "status", "person", "reset"}
    assert comps["rep_count"]["state_class"] == "total_increasing"
    assert comps["rep_count"]["default_entity_id"] == "sensor.edgepose_gym_1_rep_count"  # '-' is not allowed
    assert comps["person"]["platform"] == "binary_sensor"
    assert comps["fps"]["state_topic"] == topics.stats
    assert json.loads(comps["reset"]["payload_press"]) == {"cmd": "reset"}
    assert comps["reset"]["command_topic"] == topics.cmd


def test_ok__value_templates_read_keys_that_exist() -> None:
    """The templates name payload keys; a renamed state key must break this test, not HA silently."""
    payload = homeassistant.discovery_payload(
        load(
            None,
            env={"CONFIGURATION_DIRECTORY": "/nonexistent"},
            overrides={"device.id": "d", "mqtt.host": "x"},
        ),
        Topics("edge-pose", "d"),
    )
    for comp in payload["components"].values():
        for key in re.findall(r"value_json\.(\w+)", comp.get("value_template", "")):
            assert key in STATE or (key == "fps" and comp["state_topic"].endswith("/stats")), key
    assert TOPICS["state"].retain and TOPICS["stats"].retain, "HA needs retained state after its own restart"


@pytest.mark.parametrize("overrides", [{"commands__token": "s3cret"}, {"commands__enabled": False}])
def test_ok__no_reset_button_with_token_or_disabled_commands(tmp_path: Path, overrides: dict) -> None:
    """A retained discovery message is public: it must never carry the command token."""
    cfg = config(tmp_path, **overrides)
    payload = homeassistant.discovery_payload(cfg, Topics(cfg.mqtt.topic_prefix, cfg.device_id))
    assert "reset" not in payload["components"]
    assert "s3cret" not in json.dumps(payload)


def test_ok__discovery_retained_and_republished_when_home_assistant_restarts(
    broker: Mosquitto, tmp_path: Path, subscribers: Any
) -> None:
    cfg = make_config(tmp_path, broker.port, homeassistant__discovery=True)
    pub = MqttPublisher(cfg, **FAST)
    pub.connect(timeout=5)
    try:
        topic = "homeassistant/device/edgepose_dev1/config"
        # Wait until discovery was published before Home Assistant subscribes: a message forwarded live to an
        # existing subscription carries retain=0 (MQTT 3.1.1 section 3.3.1.3); a stored one shows retain=1.
        probe = subscribers(broker.port, [topic], client_id="probe")
        assert probe.wait_for(lambda: len(probe.on(topic)) == 1)
        ha = subscribers(broker.port, [topic], client_id="home-assistant")
        assert ha.wait_for(lambda: len(ha.on(topic)) == 1)
        first = ha.on(topic)[0]
        assert first.retain, "discovery must be retained so HA finds the device after its own restart"
        validate(json.loads(first.payload), pub.topics)
        ha.client.publish("homeassistant/status", "offline", qos=1)
        ha.client.publish("homeassistant/status", "online", qos=1)  # HA's birth message
        assert ha.wait_for(lambda: len(ha.on(topic)) == 2)
        assert json.loads(ha.on(topic)[1].payload) == json.loads(first.payload)
        assert not wait_until(lambda: len(ha.on(topic)) > 2, timeout=0.3), "'offline' must not trigger it"
    finally:
        pub.stop(timeout=1)
