"""The BlazePose GHUM pipeline, frame by frame, with MediaPipe's tracking and smoothing.

Replicates ``mediapipe/modules/pose_landmark/pose_landmark_cpu.pbtxt`` (legacy ``mp.solutions.pose``):

* Video mode: the detector runs only when there is no ROI from the previous frame; the ROI comes
  from the *smoothed* auxiliary landmarks; a pose flag below ``min_tracking_confidence`` drops the
  pose and the next frame detects again. Landmarks, world landmarks and visibilities are smoothed
  (One-Euro, low-pass).
* Static mode: the detector runs on every frame and nothing is smoothed.

The mask is not blended over time by default, because MediaPipe 0.10.21 does not blend it either:
its graph configures ``SegmentationSmoothingCalculator`` with ``combine_with_previous_ratio: 0.7``, but
the calculator runs with the option's default, 0 (we observed its smoothed and unsmoothed mask streams,
and whole runs with ``smooth_segmentation`` on and off, to be equal to the bit). ``mask_smoothing=0.7``
gives the blend the graph describes.

Which filters restart after a frame without a person follows MediaPipe's graph: the image-landmark and
auxiliary-landmark filters reset (their calculators also see the per-frame image size), while the
world-landmark filter, the visibility filters and the mask blend carry on from the last pose.

Every stage that feeds the next frame's ROI computes as MediaPipe's C++ does, to the bit: float32 where
it uses ``float`` (``edge.blazepose.floats``), its crop positions (``crop``), its sort order and
summation order. Tracking feeds each frame's result into the next crop, and on hard clips (people lying
down, fast turns) a difference in the last bit grows into a visibly different track; bit for bit, the
landmarks equal MediaPipe's own on every reference clip (given frames decoded alike). The mask, which
feeds nothing back, is computed the fast way.

One exception: in video mode on OpenCV 5 the landmark crop is OpenCV 5's own ``warpPerspective``
(``crop.warp_crop``), not OpenCV 4's positions reproduced. On OpenCV 5 even the reproduced crop is not
MediaPipe's to the bit in video (its remap rounds one value in 10^5 the other way, and tracking carries
that on), the decoder already differs there, and OpenCV 5's warp saves a third of a millisecond per
frame. Static mode, and OpenCV 4 in either mode, keep the exact crop.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.blazepose.crop import OPENCV_WARP_IS_MEDIAPIPES
from edge.blazepose.detector import PoseDetector
from edge.blazepose.filters import (
    AUX_LANDMARKS_PARAMS,
    LANDMARKS_PARAMS,
    VISIBILITY_ALPHA,
    WORLD_LANDMARKS_PARAMS,
    LowPassFilter,
    NormalizedLandmarksFilter,
    OneEuroFilter,
)
from edge.blazepose.landmarker import AUX_CENTER, AUX_SCALE, NUM_LANDMARKS, Landmarker
from edge.blazepose.roi import NormRect, alignment_rect, object_scale, roi_from_keypoints
from edge.blazepose.segmentation import MaskSmoother, mask_size_for, warp_to_frame
from edge.errors import ConfigError
from edge.models import LANDMARK_MODELS
from edge.pose import Pose
from edge.runtime import TfliteModel, load_model
from edge.sources import Frame

log = logging.getLogger(__name__)

#: Stage names reported by ``PoseEstimator.stage_seconds`` (``edge-pose bench``), in pipeline order.
STAGES = ("detect", "crop", "landmark_invoke", "landmark_decode", "mask", "smoothing")


@dataclass(frozen=True)
class EstimatorOptions:
    """How to run the pipeline; defaults are MediaPipe's ``mp.solutions.pose`` with the lite model.

    Attributes:
        model: landmark model, ``lite`` | ``full`` | ``heavy``.
        static_image_mode: detect on every frame, no tracking and no smoothing.
        segmentation: compute the person mask.
        smooth_landmarks: One-Euro/low-pass filtering of landmarks (video mode only).
        mask_smoothing: ``combine_with_previous_ratio`` of the mask blend in video mode: 0 (default, what
            MediaPipe 0.10.21 actually does) to 1; MediaPipe's graph asks for 0.7.
        min_detection_confidence: detector score threshold.
        min_tracking_confidence: pose-flag threshold below which the pose is dropped.
        mask_max_side: long side in pixels of the mask grid (0: the frame's own size).
        backend, threads, delegate, edgetpu_device, edgetpu_model, edgetpu_fallback, model_dir: see
            ``edge.runtime.load_model``; the Edge TPU, when chosen, runs ``edgetpu_model`` (a landmark
            model compiled for it) while the detector stays on the CPU.
    """

    model: str = "lite"
    static_image_mode: bool = False
    segmentation: bool = True
    smooth_landmarks: bool = True
    mask_smoothing: float = 0.0
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    mask_max_side: int = 0
    backend: str = "auto"
    threads: int = 2
    delegate: str = "cpu"
    edgetpu_device: str = ""
    edgetpu_model: str = ""
    edgetpu_fallback: bool = True
    model_dir: str = ""

    def __post_init__(self) -> None:
        if self.model not in LANDMARK_MODELS:
            raise ConfigError(
                f"pose.model: unknown model {self.model!r}; expected one of {', '.join(LANDMARK_MODELS)}"
            )
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"pose.{name}: expected a number in 0..1, got {value}")
        if not 0.0 <= self.mask_smoothing <= 1.0:
            raise ConfigError(f"pose.mask_smoothing: expected a number in 0..1, got {self.mask_smoothing}")
        if self.mask_max_side < 0:
            raise ConfigError(
                f"pose.mask_max_side: expected 0 or a positive number of pixels, got {self.mask_max_side}"
            )


class PoseEstimator:
    """BGR frames in, ``Pose`` (or None when nobody is found) out.

    One instance follows one stream: feed frames in order with increasing timestamps; call ``reset``
    between unrelated streams.
    """

    def __init__(
        self,
        options: EstimatorOptions | None = None,
        *,
        detector_model: TfliteModel | None = None,
        landmark_model: TfliteModel | None = None,
    ) -> None:
        self.options = options = options or EstimatorOptions()
        runtime = {
            "backend": options.backend,
            "num_threads": options.threads,
            "model_dir": options.model_dir or None,
        }
        if detector_model is None:
            detector_model = load_model("pose_detection", **runtime)  # type: ignore[arg-type]
        if landmark_model is None:
            edgetpu_model = options.edgetpu_model if options.delegate == "edgetpu" else ""
            landmark_model = load_model(
                LANDMARK_MODELS[options.model],
                path=edgetpu_model or None,
                delegate=options.delegate,
                edgetpu_device=options.edgetpu_device or None,
                edgetpu_fallback=options.edgetpu_fallback,
                **runtime,  # type: ignore[arg-type]
            )
        self.detector = PoseDetector(detector_model, min_score=options.min_detection_confidence)
        exact_crop = options.static_image_mode or OPENCV_WARP_IS_MEDIAPIPES  # see the module docstring
        self.landmarker = Landmarker(landmark_model, exact_crop=exact_crop)
        self.stage_seconds: dict[str, float] = defaultdict(float)
        self.frames = 0
        self.detections_run = 0
        self._video = not options.static_image_mode
        self._previous_roi: NormRect | None = None
        # The 33 body landmarks and the 2 auxiliary ones (rows 33, 34) share a clock and a scale: one
        # bank filters all 35 rows, each with its own parameters; the auxiliary filter alone serves
        # when the body landmarks are not smoothed.
        self._landmarks_filter = NormalizedLandmarksFilter(
            [(LANDMARKS_PARAMS, 33), (AUX_LANDMARKS_PARAMS, NUM_LANDMARKS - 33)]
        )
        self._aux_filter = NormalizedLandmarksFilter(AUX_LANDMARKS_PARAMS)
        self._world_filter = OneEuroFilter(WORLD_LANDMARKS_PARAMS)
        self._visibility_filter = LowPassFilter(VISIBILITY_ALPHA)
        self._mask_smoother = MaskSmoother(options.mask_smoothing)

    # -- public API ------------------------------------------------------------------------

    def process(self, frame: Frame) -> Pose | None:
        """Estimate the pose in a ``Frame`` (uses its timestamp)."""
        return self.estimate(frame.image, frame.timestamp)

    def estimate(self, image: npt.NDArray[np.uint8], timestamp: float) -> Pose | None:
        """Estimate the pose of the most prominent person in a (H, W, 3) uint8 BGR frame.

        Args:
            image: the frame, BGR.
            timestamp: seconds since the start of the stream, increasing (drives the filters).

        Returns:
            The pose, or None when no person is found or the landmark model loses them.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 BGR, but got {image.shape} {image.dtype}")
        self.frames += 1
        height, width = image.shape[:2]
        size = (width, height)
        time_ns = int(round(timestamp * 1e9))

        roi = self._previous_roi if self._video else None
        if roi is None:
            start = time.perf_counter()
            detections = self.detector.detect(image, max_detections=1)
            self.detections_run += 1
            self.stage_seconds["detect"] += time.perf_counter() - start
            if not detections:
                self._lose_track()
                return None
            roi = roi_from_keypoints(detections[0].keypoints, width, height)

        result = self.landmarker.run(image, roi, want_mask=self.options.segmentation)
        for stage, seconds in result.timings.items():
            self.stage_seconds[stage] += seconds
        if not result.score > self.options.min_tracking_confidence:  # MediaPipe keeps scores strictly above
            self._lose_track()
            return None

        start = time.perf_counter()
        landmarks = result.landmarks[:33].copy()
        world = result.world
        if self._video:
            aux = result.landmarks[[AUX_CENTER, AUX_SCALE], :3]
            scale = object_scale(alignment_rect(aux[0], aux[1], width, height), width, height)
            if self.options.smooth_landmarks:
                landmarks[:, 3] = self._visibility_filter.apply(landmarks[:, 3])
                smoothed = self._landmarks_filter.apply(result.landmarks[:, :3], size, time_ns, scale)
                landmarks[:, :3] = smoothed[:33]
                smoothed_aux = smoothed[[AUX_CENTER, AUX_SCALE]]
                world = self._world_filter.apply(world, time_ns).astype(np.float32)
            else:
                smoothed_aux = self._aux_filter.apply(aux, size, time_ns, scale)
            self._previous_roi = roi_from_keypoints(smoothed_aux, width, height)
        self.stage_seconds["smoothing"] += time.perf_counter() - start

        mask = None
        if result.mask is not None:
            start = time.perf_counter()
            mask = warp_to_frame(
                result.mask, result.crop_roi, size, mask_size_for(size, self.options.mask_max_side)
            )
            if self._video and self.options.mask_smoothing > 0:
                mask = self._mask_smoother.apply(mask)
            self.stage_seconds["mask"] += time.perf_counter() - start

        if self._previous_roi is not None:  # the next crop, computed while the caller reads the next frame
            self.landmarker.prepare(self._previous_roi, size)
        return Pose(landmarks, world, result.score, size, timestamp, mask)

    def reset(self) -> None:
        """Forget the tracked person and every filter state (start of a new stream)."""
        self._lose_track()
        self._world_filter.reset()
        self._visibility_filter.reset()
        self._mask_smoother.reset()

    def close(self) -> None:
        """Release the interpreters and the landmarker's background thread."""
        self.landmarker.close()
        self.detector.model = None  # type: ignore[assignment]
        self.landmarker.model = None  # type: ignore[assignment]

    # -- internals -------------------------------------------------------------------------

    def _lose_track(self) -> None:
        self._previous_roi = None
        self._landmarks_filter.reset()
        self._aux_filter.reset()
