"""The dashboard in a real headless Chromium, fed by a real mosquitto.

What a person sees is asserted on the page itself (text of the count and exercise, drawn pixels
on the skeleton canvas, chart points), then saved as ``artifacts/dashboard-*.png``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from mosquitto_process import Mosquitto
from playwright.sync_api import expect
from reference_device import ReferenceDevice, clip_label

from edge.dashboard.broker import BrokerSettings
from edge.dashboard.service import DashboardService

pytestmark = [pytest.mark.data]

CLIP = "squat/nowva_squats.mp4"
REPO = Path(__file__).resolve().parents[2]


def card(page: Any, device: str) -> Any:
    return page.locator(f'section.device[data-device="{device}"]')


def assert_settled_count(page: Any, device: str, count: int) -> None:
    """The card shows ``count`` reps in its charts and ``count`` as its number, and still does a moment later.

    A count counting up passes through the expected value; checking once after all reps have
    arrived and the stream has had time to deliver the last state catches an off-by-one.
    """
    dev = card(page, device)
    expect(dev).to_have_attribute("data-reps", str(count), timeout=10_000)
    expect(dev.locator(".count")).to_have_text(str(count), timeout=10_000)
    page.wait_for_timeout(700)
    assert dev.locator(".count").text_content() == str(count)
    assert dev.get_attribute("data-reps") == str(count)


def canvas_ink(page: Any, device: str) -> int:
    """Number of non-transparent pixels on a device's skeleton canvas."""
    return int(
        page.evaluate(
            """(id) => {
              const c = document.querySelector(`section.device[data-device="${id}"] canvas`);
              const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
              let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""",
            device,
        )
    )


def test_ok__replayed_clip_shows_labelled_count_exercise_and_skeleton(
    broker: Mosquitto, dashboard: DashboardService, page: Any, shared: Path, artifacts: Path
) -> None:
    """The whole path (publisher -> mosquitto -> server -> SSE -> page) shows the human-labelled count.

    Prevents: a page that connects but never updates the count, drops reps, shows the wrong
    exercise, or draws no skeleton.
    """
    page.goto(dashboard.url)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    device = ReferenceDevice(broker.port, "gym1", shared, CLIP, speed=4.0).start()
    try:
        dev = card(page, "gym1")
        expect(dev.locator(".availability")).to_have_text("online", timeout=10_000)
        expect(dev).to_have_attribute("data-pose", "live", timeout=10_000)
        assert canvas_ink(page, "gym1") > 500, "skeleton/silhouette not drawn"
        assert device.wait_done(30)
        assert_settled_count(page, "gym1", device.expected_count)
        expect(dev.locator(".exercise")).to_have_text("squat")
        expect(dev.locator(".stats")).to_contain_text("fps")
        expect(dev.locator(".lastrep")).to_contain_text(f"last rep #{device.expected_count}")
        page.screenshot(path=str(artifacts / "dashboard-nowva_squats.png"), full_page=True)
    finally:
        device.stop()
    expect(card(page, "gym1").locator(".availability")).to_have_text("offline", timeout=10_000)


SIDE_BY_SIDE = {
    "bench-a": "squat/nowva_squats.mp4",
    "bench-b": "bicep_curl/bajpai_bicep_curl.mp4",
    "bench-c": "pushup/calimiro_push-up_36.mp4",
}


def test_ok__several_devices_side_by_side_each_with_its_own_count(
    broker: Mosquitto, dashboard: DashboardService, page: Any, shared: Path, artifacts: Path
) -> None:
    """Three devices on one broker get three cards, each with its own clip's count and exercise.

    Prevents: devices overwriting each other's cards, or a device discovered only if it was there
    before the page opened.
    """
    page.goto(dashboard.url)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    devices = [
        ReferenceDevice(broker.port, name, shared, clip, speed=3.0).start()
        for name, clip in SIDE_BY_SIDE.items()
    ]
    try:
        for device in devices:
            expect(card(page, device.device_id)).to_have_attribute("data-pose", "live", timeout=10_000)
        page.wait_for_timeout(1500)  # mid-exercise, for the picture
        page.screenshot(path=str(artifacts / "dashboard-devices.png"), full_page=True)
        for device in devices:
            assert device.wait_done(30)
        for device in devices:
            assert_settled_count(page, device.device_id, device.expected_count)
            expect(card(page, device.device_id)).to_have_attribute("data-exercise", device.exercise)
        ids = page.eval_on_selector_all("section.device", "els => els.map(e => e.dataset.device)")
        assert ids == sorted(SIDE_BY_SIDE)
    finally:
        for device in devices:
            device.stop()


def test_ok__late_joiner_sees_retained_state_and_cached_reps(
    broker: Mosquitto, dashboard: DashboardService, page: Any, shared: Path
) -> None:
    """A page opened after the set is over still shows the count, stats and every rep of it.

    Prevents: a dashboard that only shows what happened while it was open (reps are not retained
    on the broker; the server's cache must fill in).
    """
    device = ReferenceDevice(broker.port, "late", shared, "pushup/calimiro_push-up_36.mp4", speed=5.0).start()
    try:
        assert device.wait_done(30)
        time.sleep(0.3)
        page.goto(dashboard.url)
        dev = card(page, "late")
        assert_settled_count(page, "late", device.expected_count)
        expect(dev.locator(".availability")).to_have_text("online")
        expect(dev.locator(".stats")).to_contain_text("41/63 ms")
    finally:
        device.stop()


def test_ok__commands_round_trip_with_the_device_reply_shown(
    broker: Mosquitto, page: Any, shared: Path
) -> None:
    """Reset and set-exercise go browser -> server -> cmd topic -> device, and its cmd/result comes back.

    Also: the server adds the command token (the page never has it), and a refused command shows
    the device's error.
    """
    service = DashboardService(BrokerSettings(port=broker.port), port=0, command_token="s3cret")
    service.start()
    device = ReferenceDevice(
        broker.port, "cmdtest", shared, "pushup/calimiro_push-up_36.mp4", speed=5.0
    ).start()
    try:
        assert device.wait_done(30)
        page.goto(service.url)
        dev = card(page, "cmdtest")
        assert_settled_count(page, "cmdtest", device.expected_count)
        assert "s3cret" not in page.content()

        dev.locator('button[data-cmd="reset"]').click()
        expect(dev.locator(".result")).to_have_text("reset: ok", timeout=10_000)
        expect(dev.locator(".count")).to_have_text("0")
        assert device.commands[-1]["cmd"] == "reset" and device.commands[-1]["token"] == "s3cret"
        assert device.commands[-1]["id"].startswith("web-")
        expect(dev).to_have_attribute("data-reps", "0")  # a reset starts a new session: empty charts

        dev.locator("select.exercise-select").select_option("bicep_curl")
        dev.locator('button[data-cmd="set_exercise"]').click()
        expect(dev.locator(".result")).to_have_text("set_exercise: ok", timeout=10_000)
        expect(dev.locator(".exercise")).to_have_text("bicep curl")
        expect(dev).to_have_attribute("data-exercise", "bicep_curl")

        page.evaluate("""() => fetch("api/devices/cmdtest/cmd", {method: "POST",
            headers: {"Content-Type": "application/json"},
            body: JSON.stringify({cmd: "set_exercise", exercise: "bogus"})})""")
        expect(dev.locator(".result")).to_have_text(
            "set_exercise: refused: unknown exercise 'bogus'", timeout=10_000
        )
        expect(dev.locator(".result")).to_have_attribute("data-ok", "false")
    finally:
        device.stop()
        service.stop()


def test_ok__page_recovers_after_broker_restart(
    broker: Mosquitto, dashboard: DashboardService, page: Any, shared: Path, artifacts: Path
) -> None:
    """Broker down: the page says so; broker back: the server reconnects and the page goes live again.

    Prevents: a dashboard that silently freezes on the last count after a broker restart.
    """
    device = ReferenceDevice(broker.port, "restart", shared, CLIP, speed=2.0, loop=True).start()
    try:
        page.goto(dashboard.url)
        conn = page.locator("#conn")
        dev = card(page, "restart")
        expect(dev).to_have_attribute("data-pose", "live", timeout=10_000)
        broker.stop()
        expect(conn).to_have_attribute("data-state", "broker-down", timeout=15_000)
        expect(dev).to_have_attribute("data-pose", "none", timeout=10_000)
        page.screenshot(path=str(artifacts / "dashboard-broker-down.png"))
        broker.start()
        expect(conn).to_have_attribute("data-state", "live", timeout=20_000)
        expect(dev).to_have_attribute("data-pose", "live", timeout=20_000)
        expect(dev.locator(".availability")).to_have_text("online")
    finally:
        device.stop()


def test_ok__page_recovers_after_dashboard_server_restart(broker: Mosquitto, page: Any, shared: Path) -> None:
    """Server gone: the page shows it is disconnected; server back on the same port: the page resumes."""
    service = DashboardService(BrokerSettings(port=broker.port), port=0)
    service.start()
    port = service.http.server_address[1]
    device = ReferenceDevice(broker.port, "srv", shared, CLIP, speed=2.0, loop=True).start()
    try:
        page.goto(service.url)
        conn = page.locator("#conn")
        dev = card(page, "srv")
        expect(dev).to_have_attribute("data-pose", "live", timeout=10_000)
        service.stop()
        expect(conn).to_have_attribute("data-state", "server-down", timeout=10_000)
        service = DashboardService(BrokerSettings(port=broker.port), port=port)
        service.start()
        expect(conn).to_have_attribute("data-state", "live", timeout=15_000)
        expect(dev).to_have_attribute("data-pose", "live", timeout=10_000)
    finally:
        device.stop()
        service.stop()


def test_ok__direct_websocket_mode_reads_the_broker_without_the_server_stream(
    broker: Mosquitto, dashboard: DashboardService, page: Any, shared: Path, artifacts: Path
) -> None:
    """``?ws=ws://...`` connects the page to the broker's WebSocket listener with the vendored MQTT.js.

    Prevents: the direct mode rotting unnoticed (it has no server cache: the page must dedupe
    reps and rebuild state from retained messages itself); commands go straight to the broker.
    """
    device = ReferenceDevice(
        broker.port, "wsdev", shared, "pushup/calimiro_push-up_36.mp4", speed=2.0
    ).start()
    try:
        page.goto(f"{dashboard.url}?ws={broker.ws_url}")
        conn = page.locator("#conn")
        expect(conn).to_have_attribute("data-state", "live", timeout=10_000)
        expect(conn).to_contain_text("direct")
        dev = card(page, "wsdev")
        expect(dev).to_have_attribute("data-pose", "live", timeout=10_000)
        assert device.wait_done(30)
        assert_settled_count(page, "wsdev", device.expected_count)
        assert dashboard.hub.subscriber_count == 0, "direct mode must not use the server's event stream"
        dev.locator('button[data-cmd="reset"]').click()
        expect(dev.locator(".result")).to_have_text("reset: ok", timeout=10_000)
        expect(dev.locator(".count")).to_have_text("0")
        page.screenshot(path=str(artifacts / "dashboard-direct-ws.png"))
    finally:
        device.stop()


def test_ok__sse_stream_is_plain_text_events_a_script_can_read(
    broker: Mosquitto, dashboard: DashboardService
) -> None:
    """The event stream starts with a snapshot and then carries live messages (curl-able, no browser)."""
    import urllib.request

    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    try:
        with urllib.request.urlopen(dashboard.url + "api/events", timeout=10) as stream:
            first = stream.readline().decode()
            assert first.startswith("retry: ")
            snapshot = json.loads(stream.readline().decode().removeprefix("data: "))
            assert snapshot["type"] == "snapshot" and snapshot["broker"]["connected"] is True
            publisher.publish(
                "edge-pose/curl1/state", json.dumps({"v": 1, "ts": 0, "count": 7}), qos=1
            ).wait_for_publish(5)
            lines = []
            while not any(line.startswith("data: ") for line in lines):
                lines.append(stream.readline().decode())
            event = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
            assert event == {
                "type": "msg",
                "device": "curl1",
                "kind": "state",
                "data": {"v": 1, "ts": 0, "count": 7},
                "retained": False,
            }
    finally:
        publisher.disconnect()
        publisher.loop_stop()


def test_ok__phone_width_page_has_no_sideways_scroll(
    broker: Mosquitto, dashboard: DashboardService, page: Any, shared: Path, artifacts: Path
) -> None:
    """People check the count on a phone on the gym's Wi-Fi: one column, nothing cut off."""
    device = ReferenceDevice(
        broker.port, "phone", shared, "pushup/calimiro_push-up_36.mp4", speed=5.0
    ).start()
    try:
        assert device.wait_done(30)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(dashboard.url)
        assert_settled_count(page, "phone", device.expected_count)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)
    finally:
        device.stop()


RUN_AVAILABLE = importlib.util.find_spec("edge.commands.run") is not None


@pytest.mark.slow
@pytest.mark.skipif(
    not RUN_AVAILABLE, reason="edge-pose run is not on this branch yet (the replay tests stand in)"
)
def test_ok__edge_pose_run_plays_a_clip_and_the_page_shows_its_count(
    broker: Mosquitto, dashboard: DashboardService, page: Any, shared: Path, artifacts: Path, tmp_path: Path
) -> None:
    """The real thing: ``edge-pose run`` plays the CC0 demo clip into mosquitto; the page shows 5 squats.

    Configured only through CONTRACT.md's schema (a TOML file), so it holds whatever the daemon's
    command-line options turn out to be.
    """
    clip = shared / "footage" / CLIP
    _, expected = clip_label(shared, CLIP)
    config = tmp_path / "config.toml"
    config.write_text(
        "\n".join(
            [
                "[device]",
                'id = "run1"',
                "[source]",
                'kind = "file"',
                f'uri = "{clip}"',
                "realtime = true",
                "[reps]",
                'exercise = "squat"',
                "[mqtt]",
                'host = "127.0.0.1"',
                f"port = {broker.port}",
                "[publish]",
                "stats_interval_s = 1",
                f'outbox_dir = "{tmp_path / "outbox"}"',
                "[homeassistant]",
                "discovery = false",
                "",
            ]
        )
    )
    page.goto(dashboard.url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        dev = card(page, "run1")
        expect(dev.locator(".availability")).to_have_text("online", timeout=60_000)
        expect(dev).to_have_attribute("data-pose", "live", timeout=30_000)
        expect(dev.locator(".count")).to_have_text(str(expected), timeout=90_000)
        page.wait_for_timeout(1500)
        assert dev.locator(".count").text_content() == str(expected)
        expect(dev).to_have_attribute("data-exercise", "squat")
        expect(dev.locator(".stats")).to_contain_text("fps")
        page.screenshot(path=str(artifacts / "dashboard-edge-pose-run.png"), full_page=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode in (0, -signal.SIGTERM), err.decode()[-2000:]
