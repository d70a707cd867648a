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
from edge.blazepose.cxx_sort import sort_order_descending
from edge.blazepose.floats import F32, sigmoid
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
    """IoU of (N, 4) (xmin, ymin, width, height) boxes with one box, float32 as MediaPipe's ``Rectangle_f``.

    The far corner is rebuilt as ``min + size``; boxes that merely touch intersect (IoU 0); 0 for empty ones.
    """
    ax0, ay0 = boxes[:, 0], boxes[:, 1]
    ax1, ay1 = ax0 + boxes[:, 2], ay0 + boxes[:, 3]
    bx0, by0 = box[0], box[1]
    bx1, by1 = bx0 + box[2], by0 + box[3]
    inter = (np.minimum(ax1, bx1) - np.maximum(ax0, bx0)) * (np.minimum(ay1, by1) - np.maximum(ay0, by0))
    norm = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    disjoint = (bx1 < ax0) | (ax1 < bx0) | (by1 < ay0) | (ay1 < by0)
    empty = (ax0 > ax1) | (ay0 > ay1) | (bx0 > bx1) | (by0 > by1)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(norm > 0, inter / np.where(norm > 0, norm, F32(1)), F32(0))
    return np.where(disjoint | empty, F32(0), iou).astype(F32)


def _sequential_sum(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Float32 sums along axis 0 added one at a time in order, as a C++ ``+=`` loop (numpy pairs them)."""
    return np.add.accumulate(values, axis=0, dtype=F32)[-1]


def weighted_nms(
    scores: npt.NDArray[np.float32],
    boxes: npt.NDArray[np.float32],
    keypoints: npt.NDArray[np.float32],
    iou_threshold: float,
    max_detections: int,
) -> list[tuple[float, npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
    """MediaPipe's WEIGHTED non-maximum suppression, float32 to the bit.

    The best remaining box absorbs every remaining box overlapping it by more than the threshold
    (itself included); corners and keypoints become the score-weighted means (float32 sums in score
    order), the score stays the best one's.

    Args:
        scores: (N,) float32; boxes: (N, 4) xmin, ymin, width, height; keypoints: (N, K, 2).

    Returns:
        Up to ``max_detections`` tuples (score, box (4,) xmin, ymin, width, height, keypoints (K, 2)),
        best first.
    """
    scores, boxes, keypoints = (np.asarray(v, F32) for v in (scores, boxes, keypoints))
    remaining = np.array(sort_order_descending(scores), dtype=np.int64)
    threshold = F32(iou_threshold)
    results: list[tuple[float, npt.NDArray[np.float32], npt.NDArray[np.float32]]] = []
    while remaining.size and len(results) < max_detections:
        best = remaining[0]
        overlap = _iou(boxes[best], boxes[remaining]) > threshold
        members = remaining[overlap]
        box, points = boxes[best].copy(), keypoints[best].copy()
        if members.size:
            weights = scores[members]
            corners = np.stack(
                [
                    boxes[members, 0],
                    boxes[members, 1],
                    boxes[members, 0] + boxes[members, 2],
                    boxes[members, 1] + boxes[members, 3],
                ],
                axis=1,
            )
            total = _sequential_sum(weights)
            mean_corners = _sequential_sum(corners * weights[:, None]) / total
            points = _sequential_sum(keypoints[members] * weights[:, None, None]) / total
            box = np.array(
                [
                    mean_corners[0],
                    mean_corners[1],
                    mean_corners[2] - mean_corners[0],
                    mean_corners[3] - mean_corners[1],
                ],
                F32,
            )
        results.append((float(scores[best]), box, points))
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
                crop_maps(roi, INPUT_SIZE, INPUT_SIZE),
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
        """``TensorsToDetectionsCalculator``, weighted NMS and letterbox removal, in MediaPipe's float32."""
        clipped = np.clip(logits.astype(F32), F32(-SCORE_CLIP), F32(SCORE_CLIP))
        scores = sigmoid(clipped)
        keep = np.flatnonzero(scores >= F32(self.min_score))
        if keep.size == 0:
            return []
        scores = scores[keep]
        raw = raw[keep].astype(F32)
        anchors = self.anchors[keep]
        size = F32(INPUT_SIZE)
        centers = raw[:, 0:2] / size + anchors
        sizes = raw[:, 2:4] / size
        low, high = centers - sizes / F32(2), centers + sizes / F32(2)
        boxes = np.concatenate([low, high - low], axis=1)
        keypoints = (
            raw[:, 4 : 4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) / size + anchors[:, None, :]
        )
        valid = (boxes[:, 2:] >= 0).all(axis=1)  # also drops NaN sizes
        if not valid.all():
            scores, boxes, keypoints = scores[valid], boxes[valid], keypoints[valid]
        # ``DetectionLetterboxRemovalCalculator``: the padding of each side pair is summed first.
        left, top = F32(letterbox.left), F32(letterbox.top)
        sx = F32(1) - (left + F32(letterbox.right))
        sy = F32(1) - (top + F32(letterbox.bottom))
        detections = []
        for score, box, points in weighted_nms(scores, boxes, keypoints, self.iou_threshold, max_detections):
            unboxed = np.empty_like(points)
            unboxed[:, 0] = (points[:, 0] - left) / sx
            unboxed[:, 1] = (points[:, 1] - top) / sy
            xmin, ymin = (box[0] - left) / sx, (box[1] - top) / sy
            w, h = box[2] / sx, box[3] / sy
            detections.append(Detection(score, (float(xmin), float(ymin), float(w), float(h)), unboxed))
        return detections
