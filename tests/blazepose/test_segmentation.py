"""The person mask: warping back to the frame and MediaPipe's (optional) temporal blend."""

from __future__ import annotations

import numpy as np
import pytest

from edge.blazepose.crop import PixelRect, roi_to_image_matrix
from edge.blazepose.segmentation import (
    MaskSmoother,
    mask_size_for,
    sigmoid_of_logits,
    smooth_mask,
    warp_to_frame,
)


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((640, 360), 0, (640, 360)),
        ((640, 360), 320, (320, 180)),
        ((1080, 1920), 320, (180, 320)),
        ((200, 100), 320, (200, 100)),
    ],
)
def test_ok__mask_grid_keeps_the_frame_aspect(
    size: tuple[int, int], max_side: int, expected: tuple[int, int]
) -> None:
    assert mask_size_for(size, max_side) == expected


def test_ok__sigmoid_into_a_new_array_or_in_place() -> None:
    logits = np.array([[-100.0, 0.0, 100.0]], np.float32)
    probabilities = sigmoid_of_logits(logits)
    assert np.array_equal(probabilities, [[0.0, 0.5, 1.0]])
    assert np.array_equal(logits, [[-100.0, 0.0, 100.0]])  # untouched
    assert sigmoid_of_logits(logits, out=logits) is logits and np.array_equal(logits, probabilities)


def test_ok__extreme_logits_give_the_sigmoid_within_1_2e_7_without_overflow() -> None:
    logits = np.array([[-1037.0, -80.0, -30.0, -5.0, 0.0, 5.0, 30.0, 350.0]], np.float32)
    exact = np.exp(-np.logaddexp(0.0, -logits.astype(np.float64)))
    with np.errstate(all="raise"):  # no overflow, no subnormal slow path
        probabilities = sigmoid_of_logits(logits.copy())
    assert probabilities.dtype == np.float32
    assert probabilities.min() == 0.0 and probabilities[0, 4] == 0.5 and probabilities.max() == 1.0
    assert np.abs(probabilities - exact).max() <= 1.2e-7


def test_ok__sigmoid_is_within_1_2e_7_everywhere_in_the_range_that_matters() -> None:
    logits = np.linspace(-20.0, 20.0, 100_001, dtype=np.float32)
    exact = np.exp(-np.logaddexp(0.0, -logits.astype(np.float64)))
    probabilities = sigmoid_of_logits(logits.copy())
    assert np.abs(probabilities - exact).max() <= 1.2e-7
    assert np.all(np.diff(probabilities) >= 0)  # monotonic


def test_ok__warped_mask_fills_the_roi_and_is_zero_outside() -> None:
    roi = PixelRect(100.0, 50.0, 60.0, 60.0, 0.0)  # 60x60 px square centred at (100, 50) in 200x100
    mask = warp_to_frame(np.ones((256, 256), np.float32), roi, (200, 100), (200, 100))
    assert mask.shape == (100, 200)
    assert mask[50, 100] == pytest.approx(1.0)
    assert mask[50, 60] == 0.0 and mask[5, 100] == 0.0
    inside = mask > 0.5
    assert 55 * 55 < inside.sum() < 62 * 62


def test_ok__warp_to_a_smaller_grid_covers_the_same_frame() -> None:
    roi = PixelRect(100.0, 50.0, 60.0, 60.0, 0.0)
    full = warp_to_frame(np.ones((256, 256), np.float32), roi, (200, 100), (200, 100))
    half = warp_to_frame(np.ones((256, 256), np.float32), roi, (200, 100), (100, 50))
    assert (half > 0.5).sum() == pytest.approx((full > 0.5).sum() / 4, rel=0.1)


def test_ok__rotated_roi_puts_a_crop_spot_where_the_crop_to_image_matrix_says() -> None:
    roi = PixelRect(320.0, 180.0, 200.0, 260.0, 0.6)
    crop_mask = np.zeros((256, 256), np.float32)
    crop_mask[184:201, 56:73] = 1.0  # a spot centred on crop pixel (64, 192)
    size, grid = (640, 360), (320, 180)
    mask = warp_to_frame(crop_mask, roi, size, grid)
    # pixel indices are positions (OpenCV's mapping, no half-pixel shift), in the crop and in the grid
    x, y, _ = roi_to_image_matrix(roi, *size) @ [64 / 256, 192 / 256, 1.0]  # image-normalised
    rows, cols = np.nonzero(mask > 0.5)
    assert len(rows) > 10
    assert cols.mean() == pytest.approx(x * grid[0], abs=0.5)
    assert rows.mean() == pytest.approx(y * grid[1], abs=0.5)


def test_ok__blend_leans_on_previous_only_where_uncertain() -> None:
    current = np.array([0.5, 0.0, 1.0], np.float32)
    previous = np.array([1.0, 1.0, 0.0], np.float32)
    out = smooth_mask(current, previous, 0.7)
    assert out[0] == pytest.approx(0.5 + 0.5 * 0.7)  # p = 0.5: full uncertainty
    assert out[1:] == pytest.approx([0.0, 1.0], abs=1e-4)  # confident pixels keep their value


def test_ok__smoother_restarts_when_the_grid_changes() -> None:
    smoother = MaskSmoother(0.7)
    smoother.apply(np.full((2, 2), 0.5, np.float32))
    fresh = np.full((3, 3), 0.5, np.float32)
    assert np.array_equal(smoother.apply(fresh), fresh)
