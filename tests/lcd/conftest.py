"""Fixtures for the LCD tests: pose tables, a fake sysfs + file-backed framebuffer, a real broker."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

DASHBOARD_TESTS = Path(__file__).resolve().parents[1] / "dashboard"
sys.path.insert(0, str(DASHBOARD_TESTS))  # mosquitto_process, reference_device (shared test helpers)

from mosquitto_process import MOSQUITTO, Mosquitto  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def fake_fb(tmp_path: Path):
    """Factory: a regular file standing in for /dev/fbN, plus the sysfs folder describing it."""

    def make(
        width: int,
        height: int,
        bpp: int,
        stride: int | None = None,
        rows: int | None = None,
        modes: str | None = None,
        fill: int = 0xAA,
    ) -> tuple[Path, Path]:
        stride = stride or width * bpp // 8
        rows = rows or height
        sysfs = tmp_path / "sys" / "class" / "graphics"
        folder = sysfs / "fb1"
        folder.mkdir(parents=True)
        (folder / "virtual_size").write_text(f"{width},{rows}\n")
        (folder / "bits_per_pixel").write_text(f"{bpp}\n")
        (folder / "stride").write_text(f"{stride}\n")
        if modes:
            (folder / "modes").write_text(modes)
        device = tmp_path / "fb1"
        device.write_bytes(bytes([fill]) * (stride * rows))
        return device, sysfs

    return make


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("mosquitto not installed (apt-get install --no-install-recommends mosquitto)")
    server = Mosquitto(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
