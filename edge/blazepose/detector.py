"""Stage 1: the BlazePose person detector (``pose_detection.tflite``), run only when tracking is lost.

Replicates ``mediapipe/modules/pose_detection/pose_detection_cpu.pbtxt``: the whole frame letterboxed
into 224x224 (zero border, range [-1, 1]); 2254 SSD anchors (``SsdAnchorsCalculator``); box and
keypoint decoding (``TensorsToDetectionsCalculator``: XYWH, scale 224, sigmoid scores clipped at
+-100, threshold 0.5); weighted non-maximum suppression at IoU 0.3 (``NonMaxSuppressionCalculator``);
letterbox removal. The detector's box is the face; its four keypoints are the hips' centre, a
full-body scale/rotation point, the shoulders' centre and an upper-body scale/rotation point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.blazepose.crop import Letterbox, PixelRect, SampleMaps, crop, crop_maps, pad_to_aspect
from edge.runtime import TfliteModel

INPUT_SIZE = 224
NUM_KEYPOINTS = 4
SCORE_CLIP = 100.0


@dataclass(frozen=True)
class AnchorOptions:
    """``SsdAnchorsCalculatorOptions`` of the pose detector."""

    input_size: int = INPUT_SIZE
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    anchor_offset: float = 0.5
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0


def ssd_anchor_centers(options: AnchorOptions = AnchorOptions()) -> npt.NDArray[np.float32]:
    """Anchor centres (N, 2) normalised to the input, in the model's output order.

    Layers with equal strides share one feature map; with ``fixed_anchor_size`` every anchor is
    1x1, so only the number of anchors per cell matters (one per aspect ratio, plus one for the
    interpolated scale), not the scales themselves.
    """
    centers: list[npt.NDArray[np.float32]] = []
    layer = 0
    num_layers = len(options.strides)
    while layer < num_layers:
        per_cell = 0
        last = layer
        while last < num_layers and options.strides[last] == options.strides[layer]:
            per_cell += len(options.aspect_ratios) + (1 if options.interpolated_scale_aspect_ratio > 0 else 0)
            last += 1
        side = math.ceil(options.input_size / options.strides[layer])
        ys, xs = np.mgrid[0:side, 0:side]
        grid = np.stack([(xs + options.anchor_offset) / side, (ys + options.anchor_offset) / side], axis=-1)
        centers.append(np.repeat(grid.reshape(-1, 2), per_cell, axis=0).astype(np.float32))
        layer = last
    return np.concatenate(centers)


@dataclass(frozen=True)
class Detection:
    """One detected person, in normalised image coordinates.

    Attributes:
        score: detector confidence in [0, 1].
        box: (xmin, ymin, width, height) of the face box.
        keypoints: (4, 2) x, y: hips' centre, full-body scale point, shoulders' centre, upper-body
            scale point.
    """

    score: float
    box: tuple[float, float, float, float]
    keypoints: npt.NDArray[np.float32]


def _iou(box: npt.NDArray[np.float32], boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """IoU of one (xmin, ymin, xmax, ymax) box with (N, 4) boxes; 0 where they do not intersect."""
    ix = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    iy = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.where((ix >= 0) & (iy >= 0), ix * iy, 0.0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0).astype(np.float32)


def weighted_nms(
    scores: npt.NDArray[np.float32],
    corners: npt.NDArray[np.float32],
    keypoints: npt.NDArray[np.float32],
    iou_threshold: float,
    max_detections: int,
) -> list[tuple[float, npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
    """MediaPipe's WEIGHTED non-maximum suppression.

    The best remaining box absorbs every remaining box overlapping it by more than the threshold
    (itself included); corners and keypoints become the score-weighted means, the score stays the
    best one's.

    Args:
        scores: (N,); corners: (N, 4) xmin, ymin, xmax, ymax; keypoints: (N, K, 2).

    Returns:
        Up to ``max_detections`` tuples (score, corners (4,), keypoints (K, 2)), best first.
    """
    order = np.argsort(-scores, kind="stable")
    scores, corners, keypoints = scores[order], corners[order], keypoints[order]
    remaining = np.arange(len(scores))
    results: list[tuple[float, npt.NDArray[np.float32], npt.NDArray[np.float32]]] = []
    while remaining.size and len(results) < max_detections:
        best = remaining[0]
        overlap = _iou(corners[best], corners[remaining]) > iou_threshold
        members = remaining[overlap]
        weights = scores[members][:, None]
        total = float(weights.sum())
        mean_corners = (corners[members] * weights).sum(axis=0) / total
        mean_keypoints = (keypoints[members] * weights[:, :, None]).sum(axis=0) / total
        results.append((float(scores[best]), mean_corners, mean_keypoints))
        if not overlap.any():  # cannot happen (a box overlaps itself) unless it is degenerate
            remaining = remaining[1:]
        else:
            remaining = remaining[~overlap]
    return results


class PoseDetector:
    """The person detector: BGR frame in, detections (best first) out."""

    def __init__(self, model: TfliteModel, min_score: float = 0.5, iou_threshold: float = 0.3) -> None:
        self.model = model
        self.min_score = min_score
        self.iou_threshold = iou_threshold
        self.anchors = ssd_anchor_centers()
        self._letterbox: tuple[tuple[int, int], PixelRect, Letterbox, SampleMaps] | None = None
        if len(self.anchors) != model.spec.output_shapes[0][1]:
            raise ValueError(
                f"{len(self.anchors)} anchors for a model with {model.spec.output_shapes[0][1]} boxes"
            )

    def detect(self, image: npt.NDArray[np.uint8], max_detections: int = 1) -> list[Detection]:
        """Find people in a (H, W, 3) uint8 BGR frame.

        Returns:
            Up to ``max_detections`` detections in normalised image coordinates, best first.
        """
        height, width = image.shape[:2]
        if self._letterbox is None or self._letterbox[0] != (width, height):  # depends on the frame size only
            roi, letterbox = pad_to_aspect(PixelRect.whole_image(width, height), INPUT_SIZE, INPUT_SIZE)
            self._letterbox = (
                (width, height),
                roi,
                letterbox,
                crop_maps(roi, INPUT_SIZE, INPUT_SIZE, exact=True),
            )
        _, roi, letterbox, maps = self._letterbox
        self.model.set_image(
            crop(image, roi, INPUT_SIZE, INPUT_SIZE, border_replicate=False, maps=maps), -1.0, 1.0
        )
        self.model.invoke()
        raw_boxes, raw_scores = self.model.outputs()
        return self._decode(raw_boxes[0], raw_scores[0, :, 0], letterbox, max_detections)

    def _decode(
        self,
        raw: npt.NDArray[np.float32],
        logits: npt.NDArray[np.float32],
        letterbox: Letterbox,
        max_detections: int,
    ) -> list[Detection]:
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        raw = raw[keep] / np.float32(INPUT_SIZE)
        anchors = self.anchors[keep]
        centers = raw[:, 0:2] + anchors
        sizes = raw[:, 2:4]
        corners = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)
        keypoints = raw[:, 4 : 4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
        valid = (sizes >= 0).all(axis=1) & np.isfinite(corners).all(axis=1)
        if not valid.all():
            scores_kept, corners, keypoints = scores[keep][valid], corners[valid], keypoints[valid]
        else:
            scores_kept = scores[keep]
        detections = []
        sx = 1.0 - letterbox.left - letterbox.right
        sy = 1.0 - letterbox.top - letterbox.bottom
        for score, box, points in weighted_nms(
            scores_kept, corners, keypoints, self.iou_threshold, max_detections
        ):
            xmin, ymin = (box[0] - letterbox.left) / sx, (box[1] - letterbox.top) / sy
            w, h = (box[2] - box[0]) / sx, (box[3] - box[1]) / sy
            unboxed = np.empty_like(points)
            unboxed[:, 0] = (points[:, 0] - letterbox.left) / sx
            unboxed[:, 1] = (points[:, 1] - letterbox.top) / sy
            detections.append(Detection(score, (float(xmin), float(ymin), float(w), float(h)), unboxed))
        return detections
