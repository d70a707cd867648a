"""The person detector: MediaPipe's anchors, box decoding and weighted NMS, on synthetic tensors."""

from __future__ import annotations

import numpy as np
import pytest

from edge.blazepose.crop import Letterbox
from edge.blazepose.detector import (
    INPUT_SIZE,
    PoseDetector,
    ssd_anchor_centers,
    weighted_nms,
)
from edge.runtime import load_model


def test_ok__2254_anchors_in_mediapipe_order() -> None:
    anchors = ssd_anchor_centers()
    assert anchors.shape == (2254, 2)
    # stride 8: 28x28 cells, 2 anchors each, row-major from the top-left cell centre
    assert np.allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    assert np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[2], [1.5 / 28, 0.5 / 28])
    # stride 32: three layers merged into 7x7 cells with 6 anchors each; the last is the bottom-right cell
    assert np.allclose(anchors[-1], [6.5 / 7, 6.5 / 7])
    assert np.allclose(anchors[-6:], anchors[-1])


def test_ok__weighted_nms_averages_overlapping_boxes_by_score_and_keeps_best_score() -> None:
    scores = np.array([0.9, 0.6, 0.8], np.float32)
    boxes = np.array(
        [[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.0, 1.0], [5.0, 5.0, 1.0, 1.0]], np.float32
    )  # x, y, w, h
    keypoints = np.array([[[0.0, 0.0]], [[1.0, 1.0]], [[5.0, 5.0]]], np.float32)
    results = weighted_nms(scores, boxes, keypoints, iou_threshold=0.3, max_detections=5)
    assert len(results) == 2
    score, box, points = results[0]
    assert score == pytest.approx(0.9)
    assert np.allclose(box, [0.6 * 0.1 / 1.5, 0.0, 1.0, 1.0])  # corners averaged: xmax (0.9 + 0.66) / 1.5
    assert np.allclose(points, [[0.6 / 1.5, 0.6 / 1.5]])
    assert results[1][0] == pytest.approx(0.8)  # the far box survives on its own


def test_ok__weighted_nms_sums_in_float32_in_score_order() -> None:
    """MediaPipe adds the weighted corners one at a time in float32; numpy's pairwise sum differs."""
    rng = np.random.default_rng(11)
    scores = np.sort(rng.uniform(0.5, 1.0, 200).astype(np.float32))[::-1].copy()
    boxes = np.column_stack(
        [rng.uniform(0.3, 0.31, 200), rng.uniform(0.3, 0.31, 200), np.full(200, 0.2), np.full(200, 0.2)]
    )
    boxes = boxes.astype(np.float32)
    keypoints = rng.uniform(0.0, 1.0, (200, 1, 2)).astype(np.float32)
    (_, box, points), *_ = weighted_nms(scores, boxes, keypoints, 0.3, 1)
    total = np.float32(0)
    weighted_x = np.float32(0)
    for s, b in zip(scores, boxes, strict=True):
        total = np.float32(total + s)
        weighted_x = np.float32(weighted_x + b[0] * s)
    assert box[0] == np.float32(weighted_x / total)


def test_ok__weighted_nms_stops_at_max_detections() -> None:
    scores = np.array([0.9, 0.8], np.float32)
    boxes = np.array([[0, 0, 1, 1], [3, 3, 1, 1]], np.float32)
    keypoints = np.zeros((2, 1, 2), np.float32)
    assert len(weighted_nms(scores, boxes, keypoints, 0.3, 1)) == 1


@pytest.fixture(scope="module")
def detector() -> PoseDetector:
    return PoseDetector(load_model("pose_detection", num_threads=1))


def test_ok__decoding_puts_box_and_keypoints_at_anchor_plus_offset_and_removes_letterbox(
    detector: PoseDetector,
) -> None:
    raw = np.zeros((2254, 12), np.float32)
    logits = np.full(2254, -10.0, np.float32)
    anchor = 1000
    logits[anchor] = 3.0
    ax, ay = detector.anchors[anchor]
    raw[anchor, :4] = [22.4, -11.2, 44.8, 22.4]  # centre offset (0.1, -0.05), size (0.2, 0.1) in input units
    raw[anchor, 4:6] = [0.0, 11.2]  # keypoint 0 at anchor + (0, 0.05)
    letterbox = Letterbox(0.0, 0.125, 0.0, 0.125)  # a 4:3 landscape frame
    (detection,) = detector._decode(raw, logits, letterbox, max_detections=1)
    assert detection.score == pytest.approx(1 / (1 + np.exp(-3.0)))
    xmin, ymin, width, height = detection.box
    assert xmin == pytest.approx(ax + 0.1 - 0.1, abs=1e-6)
    assert ymin == pytest.approx((ay - 0.05 - 0.05 - 0.125) / 0.75, abs=1e-6)
    assert (width, height) == pytest.approx((0.2, 0.1 / 0.75), abs=1e-6)
    assert detection.keypoints[0] == pytest.approx([ax, (ay + 0.05 - 0.125) / 0.75], abs=1e-6)


def test_ok__scores_below_threshold_give_no_detection(detector: PoseDetector) -> None:
    logits = np.full(2254, 0.0, np.float32)  # probability exactly 0.5 passes; just below does not
    logits[:] = -0.01
    assert detector._decode(np.zeros((2254, 12), np.float32), logits, Letterbox(), 1) == []


def test_ok__blank_frame_has_no_person(detector: PoseDetector) -> None:
    assert detector.detect(np.zeros((INPUT_SIZE, INPUT_SIZE * 2, 3), np.uint8)) == []
