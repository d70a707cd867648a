"""Crops: MediaPipe's ROI padding, its OpenCV-4 sampling, and the crop-to-image matrix."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edge.blazepose.crop import PixelRect, crop, crop_matrix, pad_to_aspect, roi_to_image_matrix, sample_maps


def test_ok__landscape_frame_is_padded_top_and_bottom() -> None:
    roi, letterbox = pad_to_aspect(PixelRect.whole_image(640, 480), 224, 224)
    assert (roi.width, roi.height) == (640, 640)
    assert (letterbox.top, letterbox.bottom, letterbox.left) == pytest.approx((0.125, 0.125, 0.0))


def test_ok__portrait_frame_is_padded_left_and_right() -> None:
    roi, letterbox = pad_to_aspect(PixelRect.whole_image(480, 640), 224, 224)
    assert (roi.width, roi.height) == (640, 640)
    assert (letterbox.left, letterbox.right, letterbox.top) == pytest.approx((0.125, 0.125, 0.0))


def _opencv4_reference(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """OpenCV 4's warpPerspective arithmetic, written out: 1/32-pixel source positions, bilinear."""
    inverse = np.linalg.inv(matrix)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    fx = np.rint((inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) * 32).astype(np.int64)
    fy = np.rint((inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) * 32).astype(np.int64)
    x0, y0, ax, ay = fx >> 5, fy >> 5, (fx & 31) / 32.0, (fy & 31) / 32.0
    h, w = image.shape[:2]

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return image[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)].astype(np.float64)

    top = at(y0, x0) * (1 - ax)[..., None] + at(y0, x0 + 1) * ax[..., None]
    bottom = at(y0 + 1, x0) * (1 - ax)[..., None] + at(y0 + 1, x0 + 1) * ax[..., None]
    return top * (1 - ay)[..., None] + bottom * ay[..., None]


def test_ok__crop_samples_where_opencv4_warpperspective_does() -> None:
    """Fails if the sampling follows OpenCV 5's rounding, which moves landmarks by ~0.5% of the body."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)  # sharp: 1/32 px shifts change values
    roi = PixelRect(210.3, 140.7, 180.2, 180.2, 0.31)
    matrix = crop_matrix(roi, 64, 64)
    ours = crop(image, roi, 64, 64, border_replicate=True)[..., ::-1].astype(np.float64)
    reference = _opencv4_reference(image, matrix, 64)
    difference = np.abs(ours - reference)
    # OpenCV rounds the blend of fixed-point weights (mean difference ~0.25 level to exact maths), and our
    # float32 maps round a handful of positions the other way; OpenCV 5's own rounding averages ~0.87.
    assert difference.mean() < 0.4
    assert np.mean(difference > 1.0) < 0.005


def test_ok__sample_maps_identity_reproduces_the_image() -> None:
    image = np.arange(48, dtype=np.uint8).reshape(6, 8)
    map1, map2 = sample_maps(np.eye(3), 8, 6)
    assert np.array_equal(cv2.remap(image, map1, map2, cv2.INTER_LINEAR), image)


def test_ok__crop_to_image_matrix_inverts_the_crop() -> None:
    roi = PixelRect(300.0, 200.0, 150.0, 150.0, math.radians(25))
    to_tensor = crop_matrix(roi, 256, 256)
    to_image = roi_to_image_matrix(roi, 640, 480)
    for u, v in [(0.0, 0.0), (1.0, 0.0), (0.5, 0.5), (0.2, 0.9)]:
        x, y, _ = to_image @ [u, v, 1.0]
        back = to_tensor @ [x * 640, y * 480, 1.0]
        assert back[:2] / back[2] == pytest.approx([u * 256, v * 256], abs=1e-3)
