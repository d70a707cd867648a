"""The dashboard server over plain HTTP (no browser): config, command relay, refusals, files."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from mosquitto_process import Mosquitto

from edge.dashboard.broker import BrokerSettings
from edge.dashboard.server import VISIBILITY_THRESHOLD, skeleton_json
from edge.dashboard.service import DashboardService
from edge.drawing import VISIBILITY_THRESHOLD as DRAWING_THRESHOLD
from edge.landmarks import POSE_CONNECTIONS, PoseLandmark


def request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    req = urllib.request.Request(
        url, data=data, headers=headers or {}, method="POST" if data is not None else "GET"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            body = res.read()
            return res.status, res.headers, body
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.fixture
def commands(broker: Mosquitto) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Commands that reach the broker, as (topic, payload) - read by a real subscriber."""
    seen: list[tuple[str, dict[str, Any]]] = []
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, m: seen.append((m.topic, json.loads(m.payload)))
    client.on_subscribe = lambda *args: ready.set()
    client.connect("127.0.0.1", broker.port)
    client.subscribe("edge-pose/+/cmd", qos=1)
    client.loop_start()
    assert ready.wait(5)
    yield seen
    client.disconnect()
    client.loop_stop()


def test_ok__skeleton_is_served_from_the_python_vocabulary() -> None:
    """Prevents: the page drawing a skeleton that drifts from edge.landmarks (one source of truth)."""
    sk = skeleton_json()
    assert {tuple(edge) for edge in sk["connections"]} == {(int(a), int(b)) for a, b in POSE_CONNECTIONS}
    assert sk["names"] == [lm.name for lm in PoseLandmark]
    assert PoseLandmark.LEFT_KNEE in sk["left"] and PoseLandmark.RIGHT_KNEE not in sk["left"]
    assert VISIBILITY_THRESHOLD == DRAWING_THRESHOLD


def test_ok__page_config_and_health_are_served(dashboard: DashboardService) -> None:
    status, headers, body = request(dashboard.url)
    assert status == 200 and b"<title>edge-pose</title>" in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, _, body = request(dashboard.url + "api/config")
    config = json.loads(body)
    assert config["topic_prefix"] == "edge-pose" and "squat" in config["exercises"]
    assert json.loads(request(dashboard.url + "healthz")[2]) == {
        "ok": True,
        "broker": True,
        "devices": 0,
        "pages": 0,
    }


def test_ok__command_is_published_with_id_and_the_servers_token(
    broker: Mosquitto, commands: list[Any]
) -> None:
    """Prevents: commands sent without the token the devices require, or without an id for the reply."""
    service = DashboardService(BrokerSettings(port=broker.port), port=0, command_token="tok")
    service.start()
    try:
        assert service.link.wait_connected(10)
        body = json.dumps({"cmd": "set_exercise", "exercise": "squat", "token": "from-the-browser"}).encode()
        status, _, reply = request(
            service.url + "api/devices/gym1/cmd", body, {"Content-Type": "application/json"}
        )
        assert status == 202
        command_id = json.loads(reply)["id"]
        for _ in range(50):
            if commands:
                break
            threading.Event().wait(0.1)
        assert commands == [
            (
                "edge-pose/gym1/cmd",
                {"cmd": "set_exercise", "exercise": "squat", "id": command_id, "token": "tok"},
            )
        ]
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("path", "body", "headers", "status"),
    [
        ("api/devices/Gym!/cmd", b'{"cmd": "reset"}', {"Content-Type": "application/json"}, 400),
        (
            "api/devices/gym1/cmd",
            b'{"cmd": "reset"}',
            {"Content-Type": "text/plain"},
            415,
        ),  # simple cross-site form
        ("api/devices/gym1/cmd", b"not json", {"Content-Type": "application/json"}, 400),
        ("api/devices/gym1/cmd", b'{"cmd": "reboot"}', {"Content-Type": "application/json"}, 400),
        ("api/devices/gym1/cmd", b'{"cmd": "reset", "id": 5}', {"Content-Type": "application/json"}, 400),
        ("api/devices/gym1/cmd", b"x" * 5000, {"Content-Type": "application/json"}, 400),
        (
            "api/devices/gym1/cmd",
            b'{"cmd": "reset"}',
            {"Content-Type": "application/json", "Origin": "http://evil.example"},
            403,
        ),
        ("api/devices/gym1/nope", b"{}", {"Content-Type": "application/json"}, 404),
    ],
)
def test_fail__bad_or_cross_site_commands_are_refused_and_not_published(
    dashboard: DashboardService,
    commands: list[Any],
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    """Prevents: another web site (or a typo) driving the devices through a dashboard on localhost."""
    code, _, reply = request(dashboard.url + path, body, headers)
    assert code == status
    assert "error" in json.loads(reply)
    threading.Event().wait(0.3)
    assert commands == []


def test_fail__command_while_broker_is_down_is_refused_not_queued(
    broker: Mosquitto, dashboard: DashboardService
) -> None:
    """Prevents: a 'reset' pressed during an outage firing minutes later, mid-set."""
    broker.stop()
    for _ in range(100):
        if not dashboard.link.connected:
            break
        threading.Event().wait(0.1)
    code, _, reply = request(
        dashboard.url + "api/devices/gym1/cmd", b'{"cmd": "reset"}', {"Content-Type": "application/json"}
    )
    assert code == 503 and "broker" in json.loads(reply)["error"]
    assert json.loads(request(dashboard.url + "healthz")[2])["broker"] is False


@pytest.mark.parametrize(
    "path", ["static/../server.py", "static/%2e%2e/server.py", "static/vendor/../../hub.py", "nope"]
)
def test_fail__files_outside_static_are_not_served(dashboard: DashboardService, path: str) -> None:
    code, _, _ = request(dashboard.url + path)
    assert code == 404


def test_ok__vendored_scripts_are_served_with_a_javascript_type(dashboard: DashboardService) -> None:
    code, headers, body = request(dashboard.url + "static/vendor/uPlot.iife.min.js")
    assert code == 200 and headers["Content-Type"].startswith(("text/javascript", "application/javascript"))
    assert body.startswith(b"/*! https://github.com/leeoniya/uPlot (v1.6.32)")


@pytest.mark.parametrize(
    ("transport", "protocol"), [("tcp", "5"), ("websockets", "3.1.1"), ("websockets", "5")]
)
def test_ok__server_reads_the_broker_over_every_transport_and_protocol(
    broker: Mosquitto, transport: str, protocol: str
) -> None:
    """Prevents: a dashboard that only works against the one broker setup the tests happen to use."""
    port = broker.ws_port if transport == "websockets" else broker.port
    service = DashboardService(BrokerSettings(port=port, transport=transport, protocol=protocol), port=0)
    service.start()
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    try:
        assert service.link.wait_connected(10)
        publisher.publish(
            "edge-pose/t1/state", b'{"v": 1, "ts": 0, "count": 3}', qos=1, retain=True
        ).wait_for_publish(5)
        for _ in range(100):
            if service.hub.snapshot()["devices"].get("t1", {}).get("state"):
                break
            threading.Event().wait(0.05)
        assert service.hub.snapshot()["devices"]["t1"]["state"]["count"] == 3
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        service.stop()
