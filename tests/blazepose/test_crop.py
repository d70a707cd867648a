"""Crops: MediaPipe's ROI padding, its OpenCV-4 sampling, and the crop-to-image matrix."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edge.blazepose.crop import (
    OPENCV_WARP_IS_MEDIAPIPES,
    MapWorkspace,
    PixelRect,
    crop,
    crop_maps,
    crop_matrix,
    pad_to_aspect,
    resample,
    roi_to_image_matrix,
    sample_maps,
    warp_crop,
)

OPENCV4 = cv2.__version__.startswith("4.")


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
    # OpenCV rounds the blend of fixed-point weights (mean difference ~0.25 level to exact maths); OpenCV 5's
    # own rounding averages ~0.87.
    assert difference.mean() < 0.4
    assert np.mean(difference > 1.0) < 0.005


def _opencv_position(inverse: np.ndarray, x: int, y: int) -> tuple[int, int]:
    """One pixel's source position in 1/32 pixel, transcribed from OpenCV 4's warpPerspective loop."""
    m = inverse.ravel()
    x_block, x_in = x - x % 64, x % 64  # the loop's 64-column blocks
    x0 = m[0] * x_block + m[1] * y + m[2]
    y0 = m[3] * x_block + m[4] * y + m[5]
    w0 = m[6] * x_block + m[7] * y + m[8]
    w = w0 + m[6] * x_in
    w = 32.0 / w if w else 0.0
    return round((x0 + m[0] * x_in) * w), round((y0 + m[3] * x_in) * w)  # cvRound: half to even


def _random_rois(count: int, seed: int) -> list[PixelRect]:
    rng = np.random.default_rng(seed)
    return [
        PixelRect(
            *rng.uniform(-200.0, 1400.0, 2), *([float(rng.uniform(20.0, 1500.0))] * 2), rng.uniform(-3.2, 3.2)
        )
        for _ in range(count)
    ]


def test_ok__sample_maps_hold_opencv4s_positions_to_the_1_32_pixel() -> None:
    rng = np.random.default_rng(3)
    for roi in _random_rois(20, seed=2):
        _, inverse = cv2.invert(crop_matrix(roi, 256, 256), flags=cv2.DECOMP_LU)
        map1, map2 = sample_maps(inverse, 256, 256)
        for x, y in rng.integers(0, 256, (50, 2)):
            fx, fy = _opencv_position(inverse, int(x), int(y))
            assert (map1[y, x, 0], map1[y, x, 1]) == (fx >> 5, fy >> 5)
            assert map2[y, x] == (fy & 31) * 32 + (fx & 31)


@pytest.mark.skipif(not OPENCV4, reason="OpenCV 5 rewrote warpPerspective; MediaPipe's crop is OpenCV 4's")
def test_ok__crop_equals_opencv4_warpperspective_to_the_bit() -> None:
    image = np.random.default_rng(4).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    for roi in _random_rois(200, seed=5):
        matrix = crop_matrix(roi, 256, 256)
        expected = cv2.warpPerspective(
            image, matrix, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        assert np.array_equal(resample(image, crop_maps(roi, 256, 256), border_replicate=True), expected)


def test_ok__warp_crop_is_the_installed_opencvs_warpperspective_in_rgb() -> None:
    image = np.random.default_rng(8).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    for roi in _random_rois(20, seed=9):
        expected = cv2.warpPerspective(
            image,
            crop_matrix(roi, 256, 256),
            (256, 256),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        ours = warp_crop(image, roi, 256, 256, border_replicate=True)
        assert ours.shape == (256, 256, 3) and ours.dtype == np.uint8
        assert np.array_equal(ours, expected[..., ::-1])


def test_ok__warp_crop_equals_the_exact_crop_exactly_where_opencv_is_4() -> None:
    assert OPENCV_WARP_IS_MEDIAPIPES == OPENCV4
    image = np.random.default_rng(10).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    for roi in _random_rois(20, seed=11):
        fast = warp_crop(image, roi, 256, 256, border_replicate=True).astype(int)
        exact = crop(image, roi, 256, 256, border_replicate=True).astype(int)
        if OPENCV4:
            assert np.array_equal(fast, exact)
        else:  # OpenCV 5's own rounding: a few levels on sharp noise (a pixel's shift would be ~85)
            assert np.abs(fast - exact).max() <= 8 and np.abs(fast - exact).mean() < 1.0


def test_ok__maps_in_a_workspace_equal_fresh_ones() -> None:
    workspace = MapWorkspace(256, 256)
    for roi in _random_rois(5, seed=6):
        fresh = crop_maps(roi, 256, 256)
        reused = crop_maps(roi, 256, 256, workspace)
        assert np.array_equal(fresh[0], reused[0]) and np.array_equal(fresh[1], reused[1])


def test_ok__far_away_positions_saturate_as_opencv_does() -> None:
    """Positions beyond what fixed point holds take the general path: OpenCV's int16 clamp, no error."""
    inverse = np.array([[1.0, 0.0, 5e6], [0.0, 1.0, -5e6], [0.0, 0.0, 1.0]])
    map1, map2 = sample_maps(inverse, 64, 64)
    assert map1.dtype == np.int16 and map2.dtype == np.uint16
    assert (map1[..., 0] == 32767).all() and (map1[..., 1] == -32768).all()


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
