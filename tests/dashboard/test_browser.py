"""The dashboard in a real headless Chromium, fed by a real mosquitto.

What a person sees is asserted on the page itself (text of the count and exercise, drawn pixels
on the skeleton canvas, chart points), then saved as ``artifacts/dashboard-*.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from mosquitto_process import Mosquitto
from playwright.sync_api import expect
from reference_device import ReferenceDevice

from edge.dashboard.broker import BrokerSettings
from edge.dashboard.service import DashboardService

pytestmark = [pytest.mark.data]

CLIP = "squat/nowva_squats.mp4"


def card(page: Any, device: str) -> Any:
    return page.locator(f'section.device[data-device="{device}"]')


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
        expect(dev.locator(".count")).to_have_text(str(device.expected_count), timeout=10_000)
        expect(dev.locator(".exercise")).to_have_text("squat")
        expect(dev).to_have_attribute("data-reps", str(device.expected_count))
        expect(dev.locator(".stats")).to_contain_text("fps")
        expect(dev.locator(".lastrep")).to_contain_text(f"last rep #{device.expected_count}")
        page.screenshot(path=str(artifacts / "dashboard-nowva_squats.png"), full_page=True)
    finally:
        device.stop()
    expect(card(page, "gym1").locator(".availability")).to_have_text("offline", timeout=10_000)
