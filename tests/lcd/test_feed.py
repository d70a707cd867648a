"""The MQTT-fed screen (``edge-pose lcd``): CONTRACT payloads become screen state; the unit runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from mosquitto_process import Mosquitto

from edge.dashboard.broker import BrokerSettings
from edge.lcd.feed import MqttFeed, changes_for
from edge.lcd.panels import PngDisplay
from edge.lcd.render import LcdState, render
from edge.lcd.renderer import LcdRenderer

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("kind", "payload", "expected"),
    [
        ("availability", b"online", {"online": True, "message": ""}),
        (
            "availability",
            b"offline",
            {"online": False, "message": "", "landmarks": None, "person": False, "polygon": None},
        ),
        (
            "state",
            b'{"v":1,"ts":0,"count":4,"exercise":"squat","status":"running","person":false}',
            {"count": 4, "exercise": "squat", "status": "running", "person": False, "message": ""},
        ),
        (
            "state",
            b'{"count": null}',
            {"count": None, "exercise": "", "status": "running", "person": True, "message": ""},
        ),
        ("stats", b'{"fps": 29.5}', {"fps": 29.5}),
        ("stats", b'{"fps": "fast"}', {"fps": None}),
        (
            "pose",
            b'{"landmarks": null, "image_size": [640, 480]}',
            {"landmarks": None, "image_size": (640, 480)},
        ),
    ],
)
def test_ok__contract_payloads_map_to_screen_changes(kind: str, payload: bytes, expected: dict) -> None:
    assert changes_for(kind, payload) == expected


def test_ok__pose_and_silhouette_payloads_become_arrays() -> None:
    pose = changes_for(
        "pose", json.dumps({"landmarks": [[0.5, 0.5, 0, 1, 1]] * 33, "image_size": [320, 240]}).encode()
    )
    assert pose["landmarks"].shape == (33, 5) and pose["image_size"] == (320, 240)
    sil = changes_for("silhouette", b'{"polygon": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}')
    assert sil["polygon"].shape == (3, 2)
    many = changes_for("silhouette", b'{"polygons": [[[0,0],[1,0],[1,1]], [[0,0],[1,0],[1,1],[0,1]]]}')
    assert many["polygon"].shape == (4, 2), "the largest ring is shown"


@pytest.mark.parametrize(
    ("kind", "payload"), [("state", b"[1]"), ("pose", b'{"landmarks": [[1, 2]]}'), ("state", b"{oops")]
)
def test_fail__malformed_payloads_raise_value_errors_the_feed_ignores(kind: str, payload: bytes) -> None:
    with pytest.raises(ValueError):
        changes_for(kind, payload)


@pytest.mark.data
def test_ok__screen_follows_a_replayed_device_over_mqtt(
    broker: Mosquitto, shared: Path, artifacts: Path, tmp_path: Path
) -> None:
    """A real broker, a replayed clip, the feed and the renderer: the panel ends on the labelled count."""
    from reference_device import ReferenceDevice

    png = PngDisplay(tmp_path / "lcd.png", 320, 240)
    lcd = LcdRenderer(png, fps=10).start()
    feed = MqttFeed(lcd, BrokerSettings(port=broker.port), device_id="gym1").start()
    other = ReferenceDevice(broker.port, "gym2", shared, "pushup/calimiro_push-up_36.mp4", speed=4.0).start()
    device = ReferenceDevice(broker.port, "gym1", shared, "squat/nowva_squats.mp4", speed=4.0).start()
    try:
        assert device.wait_done(30)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and lcd.state.count != device.expected_count:
            time.sleep(0.05)
        state = lcd.state
        assert (state.count, state.exercise, state.online) == (device.expected_count, "squat", True)
        assert state.landmarks is not None and state.polygon is not None
        time.sleep(0.3)
        assert lcd.frames > 5 and (tmp_path / "lcd.png").exists()
        (artifacts / "lcd-mqtt-320x240.png").write_bytes((tmp_path / "lcd.png").read_bytes())
        device.stop()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and lcd.state.online:
            time.sleep(0.05)
        assert not lcd.state.online, "the LWT/offline message reaches the screen"
    finally:
        other.stop()
        feed.stop()
        lcd.stop()


def test_ok__lcd_command_runs_as_a_unit_and_leaves_a_stopped_screen(
    broker: Mosquitto, tmp_path: Path
) -> None:
    """``edge-pose lcd`` as systemd runs it: starts, shows the device's count, exits 0 on SIGTERM."""
    import paho.mqtt.client as mqtt

    png = tmp_path / "lcd.png"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge",
            "lcd",
            "--output",
            "png",
            "--png-path",
            str(png),
            "--width",
            "240",
            "--height",
            "240",
            "--mqtt-port",
            str(broker.port),
            "--device-id",
            "unit1",
            "--fps",
            "10",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish("edge-pose/unit1/availability", "online", qos=1, retain=True).wait_for_publish(5)
        state = {"v": 1, "ts": 0, "count": 6, "exercise": "squat", "status": "running", "person": True}
        client.publish("edge-pose/unit1/state", json.dumps(state), qos=1, retain=True).wait_for_publish(5)
        expected = render(LcdState(count=6, exercise="squat", status="running", person=True), (240, 240))
        deadline = time.monotonic() + 15
        shown = None
        while time.monotonic() < deadline:
            if png.exists():
                shown = cv2.imread(str(png))
                if shown is not None and np.array_equal(shown[:, :, ::-1], expected):
                    break
            time.sleep(0.1)
        assert shown is not None and np.array_equal(shown[:, :, ::-1], expected), (
            proc.stderr.read1().decode() if proc.poll() is not None else "screen never showed the count"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        client.disconnect()
        client.loop_stop()
    assert proc.returncode == 0, err.decode()
    assert b"edge-pose lcd: png 240x240" in out
    final = cv2.imread(str(png))[:, :, ::-1]
    assert not np.array_equal(final, expected), "exit leaves a 'stopped' screen, not a live-looking count"
