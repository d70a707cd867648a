"""The landmark model's stage: its crop, planned ahead or not, and heatmap refinement as MediaPipe 0.10.21
runs it."""

from __future__ import annotations

import numpy as np
import pytest

from edge.blazepose.floats import sigmoid
from edge.blazepose.landmarker import HEATMAP_KERNEL, Landmarker, gather_windows, refine_from_heatmap
from edge.blazepose.roi import NormRect
from edge.runtime import load_model
from edge.sources import VideoFileSource

LOW = -10.0  # sigmoid ~ 0


def _heatmap(peaks: dict[tuple[int, int], float], channels: int = 1) -> np.ndarray:
    heatmap = np.full((64, 64, channels), LOW, np.float32)
    for (row, col), logit in peaks.items():
        heatmap[row, col, 0] = logit
    return heatmap


def test_ok__window_is_9x9_as_mediapipe_runs_it() -> None:
    assert HEATMAP_KERNEL == 9


def test_ok__confident_peak_in_window_moves_the_landmark_to_its_cell_index() -> None:
    xy = np.array([[20.2 / 64, 30.7 / 64]], np.float32)  # cell (row 30, col 20)
    refined = refine_from_heatmap(xy, _heatmap({(33, 24): 5.0}))
    # the peak dominates; weights elsewhere are sigmoid(-10) ~ 4.5e-5 each, so allow a small pull
    assert refined[0] == pytest.approx([24 / 64, 33 / 64], abs=2e-3)


def test_ok__peak_outside_the_window_is_ignored() -> None:
    xy = np.array([[20.2 / 64, 30.7 / 64]], np.float32)
    refined = refine_from_heatmap(xy, _heatmap({(30, 25): 5.0}))  # 5 columns away: outside a 9x9 window
    assert np.array_equal(refined, xy)


def test_ok__unconfident_window_leaves_the_landmark() -> None:
    xy = np.array([[0.5, 0.5]], np.float32)
    refined = refine_from_heatmap(xy, _heatmap({(32, 32): -0.1}))  # max confidence just below 0.5
    assert np.array_equal(refined, xy)


def test_ok__landmark_outside_the_heatmap_is_kept() -> None:
    xy = np.array([[1.02, 0.5], [-0.2, 0.5], [0.5, 1.01]], np.float32)
    heatmap = np.full((64, 64, 3), 5.0, np.float32)
    assert np.array_equal(refine_from_heatmap(xy, heatmap), xy)


def test_ok__window_is_clipped_at_the_heatmap_edge() -> None:
    xy = np.array([[0.2 / 64, 0.2 / 64]], np.float32)  # cell (0, 0): only a 5x5 quarter of the window exists
    heatmap = np.full((64, 64, 1), LOW, np.float32)
    heatmap[0:5, 0:5, 0] = 5.0
    refined = refine_from_heatmap(xy, heatmap)
    assert refined[0] == pytest.approx([2 / 64, 2 / 64], abs=1e-4)  # mean cell index of the 5x5 block


def _refine_as_cpp(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """``RefineLandmarksFromHeatmapCalculator`` transcribed loop by loop (float32, sequential sums)."""
    f32 = np.float32
    height, width, _ = heatmap.shape
    offset = (HEATMAP_KERNEL - 1) // 2
    out = xy.copy()
    for i, (x, y) in enumerate(xy):
        col, row = int(f32(x) * f32(width)), int(f32(y) * f32(height))
        if not (0 <= col < width and 0 <= row < height):
            continue
        total = weighted_col = weighted_row = best = f32(0)
        for r in range(max(0, row - offset), min(height, row + offset + 1)):
            for c in range(max(0, col - offset), min(width, col + offset + 1)):
                confidence = sigmoid(heatmap[r, c, i])
                total = f32(total + confidence)
                best = max(best, confidence)
                weighted_col = f32(weighted_col + f32(c) * confidence)
                weighted_row = f32(weighted_row + f32(r) * confidence)
        if best >= f32(0.5) and total > 0:
            out[i] = (weighted_col / f32(width) / total, weighted_row / f32(height) / total)
    return out


def test_ok__refinement_equals_mediapipes_loop_to_the_bit() -> None:
    rng = np.random.default_rng(9)
    heatmap = rng.normal(-6.0, 4.0, (64, 64, 35)).astype(np.float32)
    xy = rng.uniform(-0.05, 1.05, (35, 2)).astype(np.float32)
    assert np.array_equal(refine_from_heatmap(xy, heatmap), _refine_as_cpp(xy, heatmap))


def test_ok__windows_wholly_on_the_heatmap_take_the_short_path_to_the_same_bits() -> None:
    rng = np.random.default_rng(11)
    heatmap = rng.normal(-3.0, 4.0, (64, 64, 35)).astype(np.float32)
    xy = rng.uniform(5 / 64, 59 / 64, (35, 2)).astype(np.float32)  # every 9x9 window on the heatmap
    assert gather_windows(xy, heatmap).off_heatmap is None
    assert np.array_equal(refine_from_heatmap(xy, heatmap), _refine_as_cpp(xy, heatmap))


@pytest.mark.parametrize("exact_crop", [True, False], ids=["exact crop", "opencv warp"])
def test_ok__a_crop_planned_in_the_background_gives_the_same_result(demo_clip, exact_crop: bool) -> None:
    source = VideoFileSource(demo_clip)
    frame = source.read()
    source.close()
    size = frame.size
    roi = NormRect(0.5, 0.55, 0.5, 0.5 * size[0] / size[1], 0.2)  # a square in pixels, tilted
    elsewhere = NormRect(0.4, 0.5, 0.3, 0.3 * size[0] / size[1], 0.0)
    landmarker = Landmarker(load_model("pose_landmark_lite", num_threads=1), exact_crop=exact_crop)
    try:
        unplanned = landmarker.run(frame.image, roi, want_mask=True)
        landmarker.prepare(roi, size)
        planned = landmarker.run(frame.image, roi, want_mask=True)
        landmarker.prepare(elsewhere, size)  # a plan for another ROI is not used
        stale = landmarker.run(frame.image, roi, want_mask=True)
    finally:
        landmarker.close()
    for result in (planned, stale):
        assert result.crop_roi == unplanned.crop_roi
        assert np.array_equal(result.landmarks, unplanned.landmarks)
        assert np.array_equal(result.world, unplanned.world)
        assert result.mask is not None and np.array_equal(result.mask, unplanned.mask)
