"""Skeleton drawing puts joints where the landmarks are and skips what the model cannot see."""

from __future__ import annotations

import numpy as np

from edge.drawing import draw_skeleton
from edge.landmarks import PoseLandmark


def _landmarks(visibility: float) -> np.ndarray:
    lm = np.zeros((33, 5), np.float32)
    lm[:, 0] = np.linspace(0.2, 0.8, 33)
    lm[:, 1] = 0.5
    lm[:, 3] = visibility
    return lm


def test_ok__visible_joint_is_painted_at_its_pixel() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    lm = _landmarks(1.0)
    draw_skeleton(image, lm)
    x, y = (lm[PoseLandmark.LEFT_KNEE, :2] * (200, 100)).round().astype(int)
    assert image[y, x].any()


def test_ok__invisible_landmarks_leave_the_image_untouched() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    draw_skeleton(image, _landmarks(0.1))
    assert not image.any()
