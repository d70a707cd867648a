"""Shared fixtures: where the (non-redistributable) footage and MediaPipe reference live.

Tests that need ``../shared`` request the ``shared`` fixture and are skipped, with the reason,
when it is absent. ``EDGE_POSE_SHARED`` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGE_POSE_SHARED", REPO.parent / "shared")).resolve()
DEMO_CLIP = REPO / "demo" / "nowva_squats.mp4"


def shared_available() -> bool:
    return (SHARED / "footage").is_dir() and (SHARED / "reference").is_dir()


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared data folder (footage/, reference/, annotations/); skips the test when absent."""
    if not shared_available():
        pytest.skip(
            f"shared test data not found at {SHARED} (set EDGE_POSE_SHARED); footage is not redistributable"
        )
    return SHARED


@pytest.fixture(scope="session")
def demo_clip() -> Path:
    """The bundled CC0 demo clip: a person doing five squats, 1280x720, 30 fps."""
    return DEMO_CLIP
