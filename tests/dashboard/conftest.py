"""Fixtures for the dashboard tests: a real mosquitto, the dashboard service, headless Chromium.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright for Python without
``playwright install`` (``executable_path``). When either is missing the browser tests are
skipped with the reason, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mosquitto_process import MOSQUITTO, Mosquitto  # noqa: E402

from edge.dashboard.broker import BrokerSettings  # noqa: E402
from edge.dashboard.service import DashboardService  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = os.environ.get("EDGE_POSE_CHROMIUM", "/usr/bin/chromium")
#: As root on a closed network: no sandbox, no GPU, no calls home (ecosystem.md, machine notes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh mosquitto per test (no retained leftovers from other tests), TCP + WebSocket on loopback."""
    if not Path(MOSQUITTO).exists():
        _missing("mosquitto not installed (apt-get install --no-install-recommends mosquitto)")
    server = Mosquitto(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dashboard(broker: Mosquitto) -> Iterator[DashboardService]:
    """The dashboard server on a free loopback port, reading ``broker``."""
    service = DashboardService(BrokerSettings(port=broker.port, keepalive=5), port=0)
    service.start()
    assert service.link.wait_connected(10), "dashboard did not reach the broker"
    yield service
    service.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Chromium shared by the session's browser tests."""
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found (apt-get install --no-install-recommends chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright for Python not installed (pip install playwright; no browser download needed)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser page (own context: no cache or storage shared between tests)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests save screenshots for people to look at (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def has_browser() -> bool:
    return Path(CHROMIUM).exists() and shutil.which("mosquitto") is not None
