"""Fixtures for the LCD tests: pose tables, a fake sysfs + file-backed framebuffer, a real broker."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

DASHBOARD_TESTS = Path(__file__).resolve().parents[1] / "dashboard"
sys.path.insert(0, str(DASHBOARD_TESTS))  # mosquitto_process, reference_device (shared test helpers)

from mosquitto_process import MOSQUITTO, Mosquitto  # noqa: E402

from edge.landmarks import PoseLandmark as L  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def standing_pose(cx: float = 0.5, visibility: float = 0.99) -> np.ndarray:
    """(33, 5) landmarks of a person standing at horizontal centre ``cx`` of a frame (normalised)."""
    lm = np.zeros((33, 5), np.float32)
    lm[:, 3:] = visibility
    spots = {
        L.NOSE: (0.0, 0.15),
        L.LEFT_SHOULDER: (0.06, 0.28),
        L.RIGHT_SHOULDER: (-0.06, 0.28),
        L.LEFT_ELBOW: (0.08, 0.42),
        L.RIGHT_ELBOW: (-0.08, 0.42),
        L.LEFT_WRIST: (0.08, 0.55),
        L.RIGHT_WRIST: (-0.08, 0.55),
        L.LEFT_HIP: (0.04, 0.55),
        L.RIGHT_HIP: (-0.04, 0.55),
        L.LEFT_KNEE: (0.045, 0.72),
        L.RIGHT_KNEE: (-0.045, 0.72),
        L.LEFT_ANKLE: (0.05, 0.88),
        L.RIGHT_ANKLE: (-0.05, 0.88),
    }
    for landmark in L:  # face and hand points near their neighbours
        lm[landmark, :2] = (cx, 0.15)
    for hand, wrist in ((range(17, 23, 2), L.LEFT_WRIST), (range(18, 23, 2), L.RIGHT_WRIST)):
        for i in hand:
            spots[L(i)] = (spots[wrist][0], spots[wrist][1] + 0.02)
    for foot, ankle in (
        ((L.LEFT_HEEL, L.LEFT_FOOT_INDEX), L.LEFT_ANKLE),
        ((L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX), L.RIGHT_ANKLE),
    ):
        for f in foot:
            spots[f] = (spots[ankle][0], spots[ankle][1] + 0.03)
    for landmark, (dx, y) in spots.items():
        lm[landmark, :2] = (cx + dx, y)
    return lm


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
