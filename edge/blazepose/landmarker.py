"""Stage 2: the BlazePose GHUM landmark model on the rotated ROI crop, decoded to image coordinates.

Replicates ``pose_landmark_by_roi_cpu.pbtxt``: a 256x256 crop of the ROI (border replicated, range
[0, 1]); ``TensorsToLandmarksCalculator`` (39 points of x, y, z in crop pixels, visibility and presence
logits through a sigmoid); ``RefineLandmarksFromHeatmapCalculator`` (min confidence 0.5; a 9x9 window,
see ``HEATMAP_KERNEL``); letterbox removal; ``LandmarkProjectionCalculator`` (rotate about the crop
centre, scale by the ROI, z by its width); ``WorldLandmarkProjectionCalculator`` (rotate world x, y by
the ROI's rotation). The mask logits are left to ``segmentation``. Landmarks 33 and 34 are the auxiliary
points that steer the next frame's ROI; 35..38 are unused, as in MediaPipe.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.blazepose.crop import PixelRect, crop, pad_to_aspect
from edge.blazepose.roi import NormRect
from edge.blazepose.segmentation import LOGIT_LIMIT
from edge.runtime import TfliteModel

INPUT_SIZE = 256
NUM_MODEL_LANDMARKS = 39
#: The graph asks for 7 (``tensors_to_pose_landmarks_and_segmentation.pbtxt``), but MediaPipe 0.10.21
#: refines with the option's default, 9: with 9 our refined landmarks equal MediaPipe's to the bit on
#: identical inputs (its internal ``all_landmarks`` stream, 21 stills), with 7 they differ by ~0.3 px.
HEATMAP_KERNEL = 9
HEATMAP_MIN_CONFIDENCE = 0.5
AUX_CENTER, AUX_SCALE = 33, 34

_OFFSETS = np.arange(HEATMAP_KERNEL) - (HEATMAP_KERNEL - 1) // 2


def sigmoid(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return (1.0 / (1.0 + np.exp(-x))).astype(np.float32, copy=False)


@dataclass
class LandmarkResult:
    """One landmark-model pass, in image coordinates, before any smoothing.

    Attributes:
        score: pose presence flag in [0, 1] (the model's own probability; no activation applied).
        landmarks: (39, 5) float32 x, y normalised to the image, z (image widths), visibility, presence.
        world: (33, 3) float32 metres, hip-centred, rotated into the image's orientation.
        mask_logits: (256, 256) float32 segmentation logits in crop space, or None when not requested.
        crop_roi: the padded ROI in pixels the crop was taken from (maps ``mask`` back to the image).
    """

    score: float
    landmarks: npt.NDArray[np.float32]
    world: npt.NDArray[np.float32]
    mask_logits: npt.NDArray[np.float32] | None
    crop_roi: PixelRect
    timings: dict[str, float] = field(default_factory=dict)


@functools.lru_cache(maxsize=4)
def _window_offsets(size_x: int, count: int) -> npt.NDArray[np.int64]:
    """(k, k) flat-index offsets of the window cells around a cell of an (H, size_x, count) heatmap."""
    return (_OFFSETS[:, None] * size_x + _OFFSETS[None, :]) * count


def refine_from_heatmap(
    xy: npt.NDArray[np.float32], heatmap: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Replace each landmark by the confidence-weighted mean cell of a 9x9 heatmap window.

    Args:
        xy: (N, 2) crop-normalised x, y.
        heatmap: (64, 64, N) raw logits, HWC.

    Returns:
        (N, 2) refined x, y; unchanged where the window's max confidence is below 0.5 or the
        landmark lies outside the heatmap. Cell indices, not centres (no +0.5), as MediaPipe.
    """
    size_y, size_x, count = heatmap.shape
    cols = (xy[:, 0] * np.float32(size_x)).astype(np.int64)  # C++ float->int: truncates toward zero
    rows = (xy[:, 1] * np.float32(size_y)).astype(np.int64)
    inside = (cols >= 0) & (cols < size_x) & (rows >= 0) & (rows < size_y)
    rr = rows[:, None] + _OFFSETS  # (N, k) window rows
    cc = cols[:, None] + _OFFSETS  # (N, k) window columns
    rows_ok = (rr >= 0) & (rr < size_y) & inside[:, None]
    cols_ok = (cc >= 0) & (cc < size_x)
    valid = rows_ok[:, :, None] & cols_ok[:, None, :]  # (N, k, k)
    # One flat gather of the N x k x k window cells (HWC: index = (row * W + col) * C + channel); cells
    # off the heatmap read a clipped index and are zeroed by ``valid``.
    base = (rows * size_x + cols) * count + np.arange(count)
    window = np.take(heatmap, base[:, None, None] + _window_offsets(size_x, count), mode="clip")
    # Clamped like the mask's logits (see ``segmentation.LOGIT_LIMIT``): heatmap logits far from a joint
    # are extreme enough to send exp() down its slow path; weights below 1.8e-35 change no refined point.
    conf = sigmoid(np.clip(window, -LOGIT_LIMIT, LOGIT_LIMIT, out=window))
    conf[~valid] = 0.0
    total = conf.sum(axis=(1, 2))
    weighted_col = (conf * cc[:, None, :]).sum(axis=(1, 2))
    weighted_row = (conf * rr[:, :, None]).sum(axis=(1, 2))
    refine = inside & (conf.max(axis=(1, 2)) >= HEATMAP_MIN_CONFIDENCE) & (total > 0)
    out = xy.copy()
    safe_total = np.where(total > 0, total, 1.0)
    out[refine, 0] = (weighted_col / size_x / safe_total)[refine]
    out[refine, 1] = (weighted_row / size_y / safe_total)[refine]
    return out


class Landmarker:
    """Runs the landmark model on one ROI and decodes its five outputs."""

    def __init__(self, model: TfliteModel) -> None:
        self.model = model

    def run(self, image: npt.NDArray[np.uint8], roi: NormRect, want_mask: bool) -> LandmarkResult:
        """Estimate landmarks inside ``roi`` of a (H, W, 3) uint8 BGR frame."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        height, width = image.shape[:2]
        crop_roi, letterbox = pad_to_aspect(PixelRect.from_norm(roi, width, height), INPUT_SIZE, INPUT_SIZE)
        self.model.set_image(crop(image, crop_roi, INPUT_SIZE, INPUT_SIZE, border_replicate=True), 0.0, 1.0)
        after_crop = time.perf_counter()
        self.model.invoke()
        after_invoke = time.perf_counter()
        with self.model.borrowed_outputs() as (raw, flag, segmentation, heatmap, raw_world):
            points = raw.reshape(NUM_MODEL_LANDMARKS, 5).copy()
            score = float(flag.reshape(-1)[0])
            world_points = raw_world.reshape(NUM_MODEL_LANDMARKS, 3)[:33].copy()
            xy = refine_from_heatmap(points[:, 0:2] / np.float32(INPUT_SIZE), heatmap[0])  # gathers a copy
            mask_logits = segmentation[0, :, :, 0].copy() if want_mask else None
            del raw, flag, segmentation, heatmap, raw_world
        timings["crop"] = after_crop - start
        timings["landmark_invoke"] = after_invoke - after_crop

        scale = np.float32(INPUT_SIZE)
        sx = 1.0 - letterbox.left - letterbox.right
        sy = 1.0 - letterbox.top - letterbox.bottom
        x = (xy[:, 0] - letterbox.left) / sx - 0.5
        y = (xy[:, 1] - letterbox.top) / sy - 0.5
        z = points[:, 2] / scale / sx
        cos, sin = math.cos(roi.rotation), math.sin(roi.rotation)
        landmarks = np.empty((NUM_MODEL_LANDMARKS, 5), np.float32)
        landmarks[:, 0] = (cos * x - sin * y) * roi.width + roi.x_center
        landmarks[:, 1] = (sin * x + cos * y) * roi.height + roi.y_center
        landmarks[:, 2] = z * roi.width
        landmarks[:, 3:5] = sigmoid(points[:, 3:5])

        world = np.empty((33, 3), np.float32)
        world[:, 0] = cos * world_points[:, 0] - sin * world_points[:, 1]
        world[:, 1] = sin * world_points[:, 0] + cos * world_points[:, 1]
        world[:, 2] = world_points[:, 2]

        timings["landmark_decode"] = time.perf_counter() - after_invoke
        return LandmarkResult(score, landmarks, world, mask_logits, crop_roi, timings)
