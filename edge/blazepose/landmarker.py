"""Stage 2: the BlazePose GHUM landmark model on the rotated ROI crop, decoded to image coordinates.

Replicates ``pose_landmark_by_roi_cpu.pbtxt``: a 256x256 crop of the ROI (border replicated, range
[0, 1]); ``TensorsToLandmarksCalculator`` (39 points of x, y, z in crop pixels, visibility and presence
logits through a sigmoid); ``RefineLandmarksFromHeatmapCalculator`` (min confidence 0.5; a 9x9 window,
see ``HEATMAP_KERNEL``); letterbox removal; ``LandmarkProjectionCalculator`` (rotate about the crop
centre, scale by the ROI, z by its width); ``WorldLandmarkProjectionCalculator`` (rotate world x, y by
the ROI's rotation). The mask logits are left to ``segmentation``. Landmarks 33 and 34 are the auxiliary
points that steer the next frame's ROI; 35..38 are dropped, as in MediaPipe.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.blazepose.background import BackgroundWorker, Job
from edge.blazepose.crop import MapWorkspace, PixelRect, SampleMaps, crop, crop_maps, pad_to_aspect
from edge.blazepose.floats import F32, cosf, sigmoid, sinf
from edge.blazepose.roi import NormRect
from edge.runtime import TfliteModel

INPUT_SIZE = 256
NUM_MODEL_LANDMARKS = 39
#: Landmarks kept: 33 of the body and the 2 auxiliary ones; MediaPipe drops 35..38 right after the model.
NUM_LANDMARKS = 35
#: The graph asks for 7 (``tensors_to_pose_landmarks_and_segmentation.pbtxt``), but MediaPipe 0.10.21
#: refines with the option's default, 9: with 9 our refined landmarks equal MediaPipe's to the bit on
#: identical inputs (its internal ``all_landmarks`` stream, 21 stills), with 7 they differ by ~0.3 px.
HEATMAP_KERNEL = 9
HEATMAP_MIN_CONFIDENCE = 0.5
AUX_CENTER, AUX_SCALE = 33, 34

_OFFSETS = np.arange(HEATMAP_KERNEL) - (HEATMAP_KERNEL - 1) // 2


@dataclass
class LandmarkResult:
    """One landmark-model pass, in image coordinates, before any smoothing.

    Attributes:
        score: pose presence flag in [0, 1] (the model's own probability; no activation applied).
        landmarks: (35, 5) float32 x, y normalised to the image, z (image widths), visibility, presence.
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


#: Row and column offsets of the window cells, row-major (rows outer, as MediaPipe's loops).
_WINDOW_ROWS = np.repeat(_OFFSETS, len(_OFFSETS))
_WINDOW_COLS = np.tile(_OFFSETS, len(_OFFSETS))


@functools.lru_cache(maxsize=4)
def _window_offsets(size_x: int, count: int) -> npt.NDArray[np.int64]:
    """(k * k,) flat-index offsets of the window cells, row-major, around a cell of an (H, size_x, count)
    heatmap."""
    return (_WINDOW_ROWS * size_x + _WINDOW_COLS) * count


def refine_from_heatmap(
    xy: npt.NDArray[np.float32], heatmap: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Replace each landmark by the confidence-weighted mean cell of a 9x9 heatmap window.

    Args:
        xy: (N, 2) crop-normalised x, y (float32) of the first N landmarks.
        heatmap: (64, 64, C >= N) raw logits, HWC.

    Returns:
        (N, 2) refined x, y; unchanged where the window's max confidence is below 0.5 or the
        landmark lies outside the heatmap. Cell indices, not centres (no +0.5), as MediaPipe. The sums
        run over the window row by row in float32, one cell at a time, as the C++ loop adds them.
    """
    size_y, size_x, count = heatmap.shape
    points = len(xy)  # the first ``points`` heatmap channels
    cols = (xy[:, 0] * F32(size_x)).astype(np.int64)  # C++ float->int: truncates toward zero
    rows = (xy[:, 1] * F32(size_y)).astype(np.int64)
    inside = (cols >= 0) & (cols < size_x) & (rows >= 0) & (rows < size_y)
    rr = rows[:, None] + _WINDOW_ROWS  # (N, k*k) window rows, row-major
    cc = cols[:, None] + _WINDOW_COLS  # (N, k*k) window columns
    valid = (rr >= 0) & (rr < size_y) & (cc >= 0) & (cc < size_x) & inside[:, None]
    # One flat gather of the N x k*k window cells (HWC: index = (row * W + col) * C + channel); cells
    # off the heatmap read a clipped index and weigh 0, which leaves every float32 sum unchanged.
    base = (rows * size_x + cols) * count + np.arange(points)
    terms = np.empty((3, points, len(_WINDOW_ROWS)), F32)
    conf = terms[0]
    conf[...] = sigmoid(np.take(heatmap, base[:, None] + _window_offsets(size_x, count), mode="clip"))
    conf[~valid] = 0.0
    np.multiply(cc, conf, out=terms[1], casting="unsafe")  # int * float32 -> float32 products
    np.multiply(rr, conf, out=terms[2], casting="unsafe")
    total, weighted_col, weighted_row = np.add.accumulate(terms, axis=2)[:, :, -1]
    refine = inside & (conf.max(axis=1) >= F32(HEATMAP_MIN_CONFIDENCE)) & (total > 0)
    out = xy.copy()
    safe_total = np.where(total > 0, total, F32(1))
    out[refine, 0] = (weighted_col / F32(size_x) / safe_total)[refine]
    out[refine, 1] = (weighted_row / F32(size_y) / safe_total)[refine]
    return out


class Landmarker:
    """Runs the landmark model on one ROI and decodes its five outputs.

    While tracking, the next frame's ROI is known as soon as this frame's landmarks are smoothed, and
    its crop maps (the exact source position of every crop pixel, a third of a millisecond in double
    precision) do not need the next image: ``prepare`` computes them on a background thread while the
    caller finishes this frame (mask, publishing) and reads the next one.
    """

    def __init__(self, model: TfliteModel) -> None:
        self.model = model
        self._workspace = MapWorkspace(INPUT_SIZE, INPUT_SIZE)
        self._background_workspace = MapWorkspace(INPUT_SIZE, INPUT_SIZE)
        self._worker: BackgroundWorker | None = None
        self._pending: tuple[tuple[NormRect, tuple[int, int]], Job[SampleMaps]] | None = None

    def prepare(self, roi: NormRect, image_size: tuple[int, int]) -> None:
        """Start computing the crop of ``roi`` in a frame of ``image_size`` (width, height) in the background.

        ``run`` with the same ROI and frame size uses the result; any other ``run`` computes its own.
        """
        self._wait_pending()
        if self._worker is None:
            self._worker = BackgroundWorker("edge-crop-maps")
        width, height = image_size
        crop_roi, _ = pad_to_aspect(PixelRect.from_norm(roi, width, height), INPUT_SIZE, INPUT_SIZE)
        workspace = self._background_workspace
        job = self._worker.submit(lambda: crop_maps(crop_roi, INPUT_SIZE, INPUT_SIZE, workspace))
        self._pending = ((roi, image_size), job)

    def close(self) -> None:
        """Stop the background thread (if one was started)."""
        self._wait_pending()
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def _wait_pending(self) -> SampleMaps | None:
        if self._pending is None:
            return None
        _, job = self._pending
        self._pending = None
        return job.result()

    def _maps_for(self, roi: NormRect, image_size: tuple[int, int]) -> SampleMaps | None:
        """The prepared maps if they are for this ROI; else None (and the stale job is waited for)."""
        prepared = self._pending is not None and self._pending[0] == (roi, image_size)
        maps = self._wait_pending()
        return maps if prepared else None

    def run(self, image: npt.NDArray[np.uint8], roi: NormRect, want_mask: bool) -> LandmarkResult:
        """Estimate landmarks inside ``roi`` of a (H, W, 3) uint8 BGR frame."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        height, width = image.shape[:2]
        crop_roi, letterbox = pad_to_aspect(PixelRect.from_norm(roi, width, height), INPUT_SIZE, INPUT_SIZE)
        maps = self._maps_for(roi, (width, height))
        self.model.set_image(
            crop(
                image,
                crop_roi,
                INPUT_SIZE,
                INPUT_SIZE,
                border_replicate=True,
                maps=maps,
                workspace=self._workspace,
            ),
            0.0,
            1.0,
        )
        after_crop = time.perf_counter()
        self.model.invoke()
        after_invoke = time.perf_counter()
        with self.model.borrowed_outputs() as (raw, flag, segmentation, heatmap, raw_world):
            points = raw.reshape(NUM_MODEL_LANDMARKS, 5)[:NUM_LANDMARKS].copy()
            score = float(flag.reshape(-1)[0])
            world_points = raw_world.reshape(NUM_MODEL_LANDMARKS, 3)[:33].copy()
            xy = refine_from_heatmap(points[:, 0:2] / F32(INPUT_SIZE), heatmap[0])  # gathers a copy
            mask_logits = segmentation[0, :, :, 0].copy() if want_mask else None
            del raw, flag, segmentation, heatmap, raw_world
        timings["crop"] = after_crop - start
        timings["landmark_invoke"] = after_invoke - after_crop

        # Letterbox removal and projection onto the image (``LandmarkLetterboxRemovalCalculator``,
        # ``LandmarkProjectionCalculator``, ``WorldLandmarkProjectionCalculator``): float32 in C++ order.
        left, top = F32(letterbox.left), F32(letterbox.top)
        sx = F32(1) - (left + F32(letterbox.right))
        sy = F32(1) - (top + F32(letterbox.bottom))
        x = (xy[:, 0] - left) / sx - F32(0.5)
        y = (xy[:, 1] - top) / sy - F32(0.5)
        z = points[:, 2] / F32(INPUT_SIZE) / sx
        cos, sin = cosf(roi.rotation), sinf(roi.rotation)
        landmarks = np.empty((NUM_LANDMARKS, 5), F32)
        landmarks[:, 0] = (cos * x - sin * y) * F32(roi.width) + F32(roi.x_center)
        landmarks[:, 1] = (sin * x + cos * y) * F32(roi.height) + F32(roi.y_center)
        landmarks[:, 2] = z * F32(roi.width)
        landmarks[:, 3:5] = sigmoid(points[:, 3:5])

        world = np.empty((33, 3), F32)
        world[:, 0] = cos * world_points[:, 0] - sin * world_points[:, 1]
        world[:, 1] = sin * world_points[:, 0] + cos * world_points[:, 1]
        world[:, 2] = world_points[:, 2]

        timings["landmark_decode"] = time.perf_counter() - after_invoke
        return LandmarkResult(score, landmarks, world, mask_logits, crop_roi, timings)
