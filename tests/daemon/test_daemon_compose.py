"""From configuration to parts: estimator options, silhouette stages, the LCD sink, journald logging."""

from __future__ import annotations

import logging
import os
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from edge.daemon.compose import LcdSink, build_silhouette_stage, estimator_options, mask_needed
from edge.daemon.journal import JournalFormatter, configure, under_journal
from edge.daemon.stages import PoseMaskSilhouettes, SelfieMaskSilhouettes
from edge.pose import Pose
from edge.sources import Frame

POSE = SimpleNamespace(
    model="lite",
    backend="auto",
    threads=3,
    delegate="cpu",
    edgetpu_device="",
    edgetpu_model="",
    edgetpu_fallback=True,
    model_dir="",
    segmentation=True,
    min_detection_confidence=0.6,
    min_tracking_confidence=0.4,
    smooth_landmarks=False,
    mask_smoothing=0.7,
    mask_max_side=320,
)
SILHOUETTE = SimpleNamespace(enabled=True, source="pose", threshold=0.5, max_points=48, png=True, png_size=64)


def config(**sections: Any) -> SimpleNamespace:
    base = {
        "silhouette": SILHOUETTE,
        "publish": SimpleNamespace(silhouette_hz=2.0),
        "lcd": SimpleNamespace(enabled=False),
    }
    base.update(sections)
    return SimpleNamespace(**base)


def test_ok__estimator_options_follow_the_pose_section() -> None:
    options = estimator_options(POSE, mask_needed=True)
    assert (options.model, options.threads, options.min_detection_confidence) == ("lite", 3, 0.6)
    assert options.min_tracking_confidence == 0.4 and options.smooth_landmarks is False
    assert options.segmentation is True and options.mask_max_side == 320 and options.mask_smoothing == 0.7
    assert options.static_image_mode is False


def test_ok__no_mask_is_computed_when_nothing_uses_it() -> None:
    """The segmentation head costs time on a Pi: off unless silhouettes (from the pose) or the LCD use it."""
    assert mask_needed(config()) is True
    assert mask_needed(config(publish=SimpleNamespace(silhouette_hz=0.0))) is False
    off = SimpleNamespace(**{**vars(SILHOUETTE), "enabled": False})
    assert mask_needed(config(silhouette=off)) is False
    assert mask_needed(config(silhouette=off, lcd=SimpleNamespace(enabled=True))) is True
    selfie = SimpleNamespace(**{**vars(SILHOUETTE), "source": "selfie-general"})
    assert mask_needed(config(silhouette=selfie)) is False
    assert estimator_options(POSE, mask_needed=False).segmentation is False


def test_ok__silhouette_stage_follows_the_section() -> None:
    stage = build_silhouette_stage(SILHOUETTE, POSE, SimpleNamespace(silhouette_hz=2.0))
    assert isinstance(stage, PoseMaskSilhouettes)
    assert build_silhouette_stage(SILHOUETTE, POSE, SimpleNamespace(silhouette_hz=0.0)) is None
    off = SimpleNamespace(**{**vars(SILHOUETTE), "enabled": False})
    assert build_silhouette_stage(off, POSE, SimpleNamespace(silhouette_hz=2.0)) is None


def test_ok__pose_mask_silhouette_publishes_the_extractors_json() -> None:
    """A real extractor on a square mask: polygon and area come out; no person gives None."""
    stage = build_silhouette_stage(SILHOUETTE, POSE, SimpleNamespace(silhouette_hz=2.0))
    assert stage is not None
    mask = np.zeros((90, 160), np.float32)
    mask[20:70, 60:100] = 1.0
    landmarks = np.full((33, 5), 0.5, np.float32)
    frame = Frame(np.zeros((180, 320, 3), np.uint8), 0, 0.0)
    pose = Pose(landmarks, np.zeros((33, 3), np.float32), 1.0, frame.size, 0.0, mask)
    payload = stage.compute(frame, pose)
    assert payload is not None and 0.1 < payload["area"] < 0.2 and "png" in str(payload)
    assert stage.compute(frame, None) is None


def test_ok__selfie_silhouettes_segment_a_small_mask_even_without_a_pose() -> None:
    """Selfie Segmentation is asked for a mask at the extractor's working size, not the frame's."""

    class Segmenter:
        def __init__(self) -> None:
            self.sizes: list[tuple[int, int] | None] = []

        def segment(self, image: Any, output_size: tuple[int, int] | None = None) -> Any:
            self.sizes.append(output_size)
            mask = np.zeros((output_size[1], output_size[0]), np.float32)  # type: ignore[index]
            mask[10:60, 50:100] = 1.0
            return mask

    from edge.silhouette import SilhouetteExtractor

    segmenter = Segmenter()
    stage = SelfieMaskSilhouettes(segmenter, SilhouetteExtractor(source="selfie-general"))
    payload = stage.compute(Frame(np.zeros((720, 1280, 3), np.uint8), 0, 0.0), None)
    assert segmenter.sizes == [(256, 144)]
    assert payload is not None and payload["area"] > 0


def test_ok__lcd_sink_hands_the_renderer_frame_pose_and_state() -> None:
    class Renderer:
        def __init__(self) -> None:
            self.changes: dict[str, Any] = {}

        def update(self, **changes: Any) -> None:
            self.changes = changes

    renderer = Renderer()
    frame = Frame(np.zeros((48, 64, 3), np.uint8), 3, 0.1)
    pose = Pose(np.zeros((33, 5), np.float32), np.zeros((33, 3), np.float32), 1.0, (64, 48), 0.1)
    state = {"count": 4, "exercise": "squat", "status": "running"}
    LcdSink(renderer).show(frame, pose, state, fps=29.5)
    got = renderer.changes
    assert (got["count"], got["exercise"], got["status"], got["fps"], got["person"]) == (
        4,
        "squat",
        "running",
        29.5,
        True,
    )
    assert got["thumbnail"] is frame.image and got["landmarks"] is pose.landmarks
    assert got["image_size"] == (64, 48)
    LcdSink(renderer).show(frame, None, state)
    assert renderer.changes["landmarks"] is None and renderer.changes["person"] is False


@pytest.mark.parametrize(
    ("level", "priority"),
    [(logging.DEBUG, "<7>"), (logging.INFO, "<6>"), (logging.WARNING, "<4>"), (logging.ERROR, "<3>")],
)
def test_ok__journal_lines_carry_the_syslog_priority(level: int, priority: str) -> None:
    """journalctl -p warning must show warnings and errors only: the priority prefix does that."""
    record = logging.LogRecord("edge.daemon", level, __file__, 1, "camera %s", ("lost",), None)
    assert JournalFormatter().format(record) == f"{priority}edge.daemon: camera lost"


def test_ok__journal_is_detected_only_for_our_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    """$JOURNAL_STREAM inherited by a child whose stderr goes elsewhere must not switch formats."""
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    assert under_journal() is False
    info = os.fstat(sys.stderr.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
    assert under_journal() is True
    monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino + 1}")
    assert under_journal() is False


def test_ok__configured_level_and_verbosity(monkeypatch: pytest.MonkeyPatch) -> None:
    """logging.level sets the level; -v can only add detail."""
    root = logging.getLogger()
    before = root.level
    try:
        configure("warning")
        assert root.level == logging.WARNING
        configure("warning", verbosity=1)
        assert root.level == logging.INFO
        configure("error", verbosity=2)
        assert root.level == logging.DEBUG
    finally:
        root.setLevel(before)
