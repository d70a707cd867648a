"""Stage 2: the BlazePose GHUM landmark model on the rotated ROI crop, decoded to image coordinates.

Replicates ``pose_landmark_by_roi_cpu.pbtxt``: a 256x256 crop of the ROI (border replicated, range
[0, 1]); ``TensorsToLandmarksCalculator`` (39 points of x, y, z in crop pixels, visibility and presence
logits through a sigmoid); ``RefineLandmarksFromHeatmapCalculator`` (min confidence 0.5; a 9x9 window,
see ``HEATMAP_KERNEL``); letterbox removal; ``LandmarkProjectionCalculator`` (rotate about the crop
centre, scale by the ROI, z by its width); ``WorldLandmarkProjectionCalculator`` (rotate world x, y by
the ROI's rotation); the mask's logits through a sigmoid (``TensorsToSegmentationCalculator``), left in
crop space for ``segmentation`` to warp. Landmarks 33 and 34 are the auxiliary
points that steer the next frame's ROI; 35..38 are dropped, as in MediaPipe.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.background import BackgroundWorker, Job
from edge.blazepose.crop import (
    Letterbox,
    MapWorkspace,
    PixelRect,
    SampleMaps,
    crop,
    crop_maps,
    crop_matrix,
    pad_to_aspect,
    warp_crop,
)
from edge.blazepose.floats import F32, cosf, sigmoid, sinf
from edge.blazepose.roi import NormRect
from edge.blazepose.segmentation import sigmoid_of_logits
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
        mask: (256, 256) float32 person probability in crop space, or None when not requested.
        crop_roi: the padded ROI in pixels the crop was taken from (maps ``mask`` back to the image).
        timings: seconds per stage (``crop``, ``landmark_invoke``, ``landmark_decode``, and ``mask`` for
            the mask's sigmoid).
    """

    score: float
    landmarks: npt.NDArray[np.float32]
    world: npt.NDArray[np.float32]
    mask: npt.NDArray[np.float32] | None
    crop_roi: PixelRect
    timings: dict[str, float] = field(default_factory=dict)


#: Row and column offsets of the window cells, row-major (rows outer, as MediaPipe's loops), as columns:
#: window arrays are (k * k, N), one column per landmark, so that sums over axis 0 run cell by cell.
_WINDOW_ROWS = np.repeat(_OFFSETS, len(_OFFSETS))[:, None]
_WINDOW_COLS = np.tile(_OFFSETS, len(_OFFSETS))[:, None]
_HALF = (HEATMAP_KERNEL - 1) // 2


@functools.lru_cache(maxsize=4)
def _all_true(count: int) -> npt.NDArray[np.bool_]:
    """(count,) True, read-only (shared between calls)."""
    flags = np.ones(count, bool)
    flags.flags.writeable = False
    return flags


@functools.lru_cache(maxsize=4)
def _window_offsets(size_x: int, count: int) -> npt.NDArray[np.int64]:
    """(k * k, 1) flat-index offsets of the window cells, row-major, around a cell of an (H, size_x, count)
    heatmap."""
    return (_WINDOW_ROWS * size_x + _WINDOW_COLS) * count


@dataclass
class HeatmapWindows:
    """The k x k heatmap window around each landmark's cell (``gather_windows``).

    Attributes:
        cells: (N, 2) int64 column, row of each landmark's cell (truncated toward zero, as C++).
        logits: (k * k, N) float32 raw logits of the window cells, row-major per column; cells off
            the heatmap hold some clipped cell's logit and are masked by ``off_heatmap``.
        off_heatmap: (k * k, N) bool, or None when every window lies wholly on the heatmap.
        inside: (N,) bool, the landmark's own cell is on the heatmap.
    """

    cells: npt.NDArray[np.int64]
    logits: npt.NDArray[np.float32]
    off_heatmap: npt.NDArray[np.bool_] | None
    inside: npt.NDArray[np.bool_]


def gather_windows(
    xy: npt.NDArray[np.float32],
    heatmap: npt.NDArray[np.float32],
    out: npt.NDArray[np.float32] | None = None,
) -> HeatmapWindows:
    """Gather each landmark's 9x9 window of heatmap logits (one flat ``take``).

    Args:
        xy: (N, 2) crop-normalised x, y (float32) of the first N landmarks.
        heatmap: (H, W, C >= N) raw logits, HWC (the model's 64x64 heatmap).
        out: (k * k, N) float32 to gather into (lets a caller add more logits to one sigmoid).
    """
    size_y, size_x, count = heatmap.shape
    points = len(xy)
    cells = (xy * np.array([size_x, size_y], F32)).astype(np.int64)  # C++ float->int: toward zero
    cols, rows = cells[:, 0], cells[:, 1]
    inside: npt.NDArray[np.bool_]
    last_col, last_row = cells.max(axis=0).tolist()
    if cells.min() >= _HALF and last_col < size_x - _HALF and last_row < size_y - _HALF:
        inside = _all_true(points)  # the usual case: no window leaves the map
        off_heatmap = None
    else:
        limits = np.array([size_x, size_y])
        inside = np.all((cells >= 0) & (cells < limits), axis=1)
        rr, cc = rows + _WINDOW_ROWS, cols + _WINDOW_COLS
        off_heatmap = (rr < 0) | (rr >= size_y) | (cc < 0) | (cc >= size_x) | ~inside
    # HWC: index = (row * W + col) * C + channel; cells off the map read a clipped index (masked later).
    base = (rows * size_x + cols) * count + np.arange(points)
    logits = np.take(heatmap, base + _window_offsets(size_x, count), mode="clip", out=out)
    return HeatmapWindows(cells, logits, off_heatmap, inside)


def refine_with_confidences(
    xy: npt.NDArray[np.float32],
    windows: HeatmapWindows,
    confidences: npt.NDArray[np.float32],
    heatmap_size: tuple[int, int],
) -> npt.NDArray[np.float32]:
    """The refinement proper, given the sigmoid of ``windows.logits`` ((k * k, N) float32; zeroed here
    where off the heatmap). ``heatmap_size`` is (width, height) in cells. See ``refine_from_heatmap``."""
    size_x, size_y = heatmap_size
    if windows.off_heatmap is not None:
        confidences[windows.off_heatmap] = 0.0  # adding 0 leaves every float32 sum as the C++ skips it
    cols, rows = windows.cells[:, 0], windows.cells[:, 1]
    terms = np.empty((len(_WINDOW_ROWS), 3, len(xy)), F32)
    terms[:, 0] = confidences
    np.multiply(cols + _WINDOW_COLS, confidences, out=terms[:, 1], casting="unsafe")  # int * f32 -> f32
    np.multiply(rows + _WINDOW_ROWS, confidences, out=terms[:, 2], casting="unsafe")
    # Over axis 0 of a C-contiguous array numpy adds row after row: the C++ loop's sequential sums.
    sums = np.add.reduce(terms, axis=0)  # (3, N): total, weighted column, weighted row
    total = sums[0]
    refine = windows.inside & (confidences.max(axis=0) >= F32(HEATMAP_MIN_CONFIDENCE)) & (total > 0)
    out = xy.copy()
    # (weighted / size) / total, in float32 as the C++, written only where the landmark is refined.
    scaled = np.divide(sums[1:], np.array([[size_x], [size_y]], F32))
    np.divide(scaled, total, out=out.T, where=refine)
    return out


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
    windows = gather_windows(xy, heatmap)
    size = (heatmap.shape[1], heatmap.shape[0])
    return refine_with_confidences(xy, windows, sigmoid(windows.logits), size)


@dataclass(frozen=True)
class CropPlan:
    """How to take the crop of one ROI, worked out before the frame is there (``Landmarker.prepare``).

    Attributes:
        roi: the ROI in pixels, padded to the crop's aspect ratio.
        letterbox: the padding, as fractions of the padded side (removed from the landmarks).
        maps: the exact crop's fixed-point sample maps, or None for OpenCV's own warp.
        matrix: (3, 3) image-to-crop perspective matrix for OpenCV's own warp, or None for the exact crop.
    """

    roi: PixelRect
    letterbox: Letterbox
    maps: SampleMaps | None
    matrix: npt.NDArray[np.float64] | None


def _rotate(
    xy: npt.NDArray[np.float32], cos: np.float32, sin: np.float32, out: npt.NDArray[np.float32]
) -> None:
    """(N, 2) float32 points rotated by an angle given as its float32 cosine and sine, into ``out``:
    ``x' = cos * x - sin * y``, ``y' = sin * x + cos * y``, each product rounded to float32 first."""
    with_cos, with_sin = xy * cos, xy * sin
    np.subtract(with_cos[:, 0], with_sin[:, 1], out=out[:, 0])
    np.add(with_sin[:, 0], with_cos[:, 1], out=out[:, 1])


class Landmarker:
    """Runs the landmark model on one ROI and decodes its five outputs.

    ``exact_crop`` picks how the crop is resampled: OpenCV 4's positions reproduced (``crop``, MediaPipe's
    crop to the bit on any OpenCV) or the installed OpenCV's ``warpPerspective`` (``warp_crop``: the
    same on OpenCV 4, faster on OpenCV 5 and a little different there).

    While tracking, the next frame's ROI is known as soon as this frame's landmarks are smoothed, and how
    to crop it does not need the next image: ``prepare`` works it out on a background thread while the
    caller finishes this frame (mask, publishing) and reads the next one. For the exact crop that is its
    maps (the exact source position of every crop pixel, a third of a millisecond in double precision);
    for OpenCV's warp, the padded ROI and its matrix (10 us warm, but 60-70 us when run on the main
    thread right after the next frame's decoding has filled the caches).
    """

    def __init__(self, model: TfliteModel, *, exact_crop: bool = True) -> None:
        self.model = model
        self.exact_crop = exact_crop
        self._workspace = MapWorkspace(INPUT_SIZE, INPUT_SIZE)
        self._background_workspace = MapWorkspace(INPUT_SIZE, INPUT_SIZE)
        self._worker: BackgroundWorker | None = None
        self._pending: tuple[tuple[NormRect, tuple[int, int]], Job[CropPlan]] | None = None

    def plan(
        self, roi: NormRect, image_size: tuple[int, int], workspace: MapWorkspace | None = None
    ) -> CropPlan:
        """How to crop ``roi`` (normalised) from a frame of ``image_size`` (width, height) pixels."""
        width, height = image_size
        crop_roi, letterbox = pad_to_aspect(PixelRect.from_norm(roi, width, height), INPUT_SIZE, INPUT_SIZE)
        if self.exact_crop:
            maps = crop_maps(crop_roi, INPUT_SIZE, INPUT_SIZE, workspace or self._workspace)
            return CropPlan(crop_roi, letterbox, maps, None)
        return CropPlan(crop_roi, letterbox, None, crop_matrix(crop_roi, INPUT_SIZE, INPUT_SIZE))

    def prepare(self, roi: NormRect, image_size: tuple[int, int]) -> None:
        """Start planning the crop of ``roi`` in a frame of ``image_size`` (width, height) in the background.

        ``run`` with the same ROI and frame size uses the result; any other ``run`` plans its own.
        """
        self._wait_pending()
        if self._worker is None:
            self._worker = BackgroundWorker("edge-crop-plan")
        workspace = self._background_workspace
        job = self._worker.submit(lambda: self.plan(roi, image_size, workspace))
        self._pending = ((roi, image_size), job)

    def close(self) -> None:
        """Stop the background thread (if one was started)."""
        self._wait_pending()
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def _wait_pending(self) -> CropPlan | None:
        if self._pending is None:
            return None
        _, job = self._pending
        self._pending = None
        return job.result()

    def _plan_for(self, roi: NormRect, image_size: tuple[int, int]) -> CropPlan:
        """The prepared plan if it is for this ROI and frame size; else (after the stale job) a new one."""
        prepared = self._pending is not None and self._pending[0] == (roi, image_size)
        plan = self._wait_pending()
        return plan if prepared and plan is not None else self.plan(roi, image_size)

    def run(self, image: npt.NDArray[np.uint8], roi: NormRect, want_mask: bool) -> LandmarkResult:
        """Estimate landmarks inside ``roi`` of a (H, W, 3) uint8 BGR frame."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        height, width = image.shape[:2]
        plan = self._plan_for(roi, (width, height))
        crop_roi, letterbox = plan.roi, plan.letterbox
        if plan.maps is not None:
            rgb = crop(image, crop_roi, INPUT_SIZE, INPUT_SIZE, border_replicate=True, maps=plan.maps)
        else:
            rgb = warp_crop(
                image, crop_roi, INPUT_SIZE, INPUT_SIZE, border_replicate=True, matrix=plan.matrix
            )
        self.model.set_image(rgb, 0.0, 1.0)
        after_crop = time.perf_counter()
        self.model.invoke()
        after_invoke = time.perf_counter()
        with self.model.borrowed_outputs() as (raw, flag, segmentation, heatmap, raw_world):
            points = raw.reshape(NUM_MODEL_LANDMARKS, 5)[:NUM_LANDMARKS]
            score = float(flag.reshape(-1)[0])
            world_points = raw_world.reshape(NUM_MODEL_LANDMARKS, 3)[:33].copy()
            xy = points[:, 0:2] / F32(INPUT_SIZE)
            z = points[:, 2] / F32(INPUT_SIZE)
            # One sigmoid for the heatmap windows and the visibility and presence logits.
            cells = len(_WINDOW_ROWS) * NUM_LANDMARKS
            logits = np.empty(cells + 2 * NUM_LANDMARKS, F32)
            windows = gather_windows(xy, heatmap[0], out=logits[:cells].reshape(-1, NUM_LANDMARKS))
            heatmap_size = (heatmap.shape[2], heatmap.shape[1])  # (1, 64, 64, 39): (width, height)
            logits[cells:].reshape(NUM_LANDMARKS, 2)[...] = points[:, 3:5]
            mask = None
            if want_mask:  # straight from the interpreter's buffer into a new array: no copy first
                before_mask = time.perf_counter()
                mask = sigmoid_of_logits(segmentation[0, :, :, 0])
                timings["mask"] = time.perf_counter() - before_mask
            del raw, flag, segmentation, heatmap, raw_world, points
        timings["crop"] = after_crop - start
        timings["landmark_invoke"] = after_invoke - after_crop
        probabilities = sigmoid(logits)
        confidences = probabilities[:cells].reshape(-1, NUM_LANDMARKS)
        xy = refine_with_confidences(xy, windows, confidences, heatmap_size)

        # Letterbox removal and projection onto the image (``LandmarkLetterboxRemovalCalculator``,
        # ``LandmarkProjectionCalculator``, ``WorldLandmarkProjectionCalculator``): float32 in C++ order,
        # x and y side by side in (N, 2) arrays.
        left, top = F32(letterbox.left), F32(letterbox.top)
        scale = np.array([F32(1) - (left + F32(letterbox.right)), F32(1) - (top + F32(letterbox.bottom))])
        centred = (xy - np.array([left, top])) / scale - F32(0.5)
        cos, sin = cosf(roi.rotation), sinf(roi.rotation)
        landmarks = np.empty((NUM_LANDMARKS, 5), F32)
        _rotate(centred, cos, sin, out=landmarks[:, 0:2])
        landmarks[:, 0:2] *= np.array([roi.width, roi.height], F32)
        landmarks[:, 0:2] += np.array([roi.x_center, roi.y_center], F32)
        np.multiply(z / scale[0], F32(roi.width), out=landmarks[:, 2])
        landmarks[:, 3:5] = probabilities[cells:].reshape(NUM_LANDMARKS, 2)

        world = np.empty((33, 3), F32)
        _rotate(world_points[:, 0:2], cos, sin, out=world[:, 0:2])
        world[:, 2] = world_points[:, 2]

        timings["landmark_decode"] = time.perf_counter() - after_invoke - timings.get("mask", 0.0)
        return LandmarkResult(score, landmarks, world, mask, crop_roi, timings)
