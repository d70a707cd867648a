"""ROIs: MediaPipe's alignment rects and their square, enlarged form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.blazepose.roi import (
    alignment_rect,
    enlarge_to_square,
    object_scale,
    roi_from_keypoints,
)


@pytest.mark.parametrize(
    ("scale_point", "rotation"),
    [
        ((0.5, 0.25), 0.0),  # straight above the centre: upright person
        ((0.75, 0.5), math.pi / 2),  # to the right: the person lies along +x, rotate clockwise
        ((0.25, 0.5), -math.pi / 2),
        ((0.5, 0.75), -math.pi),  # below: upside down
    ],
)
def test_ok__rotation_points_the_scale_point_straight_up(
    scale_point: tuple[float, float], rotation: float
) -> None:
    rect = alignment_rect((0.5, 0.5), scale_point, 100, 100)
    assert rect.rotation == pytest.approx(rotation)


def test_ok__alignment_rect_is_twice_the_distance_and_square_in_pixels() -> None:
    rect = alignment_rect((0.5, 0.5), (0.5, 0.3), 200, 100)  # 20 px up in a 200x100 frame
    assert (rect.width * 200, rect.height * 100) == pytest.approx((40.0, 40.0))
    assert object_scale(rect, 200, 100) == pytest.approx(40.0)


def test_ok__enlarge_squares_the_long_side_and_scales_by_1_25() -> None:
    rect = enlarge_to_square(alignment_rect((0.5, 0.5), (0.5, 0.3), 200, 100), 200, 100)
    assert (rect.width * 200, rect.height * 100) == pytest.approx((50.0, 50.0))


def test_ok__roi_from_keypoints_uses_the_first_two_keypoints() -> None:
    keypoints = np.array([[0.5, 0.5], [0.5, 0.3], [9.0, 9.0], [9.0, 9.0]])
    roi = roi_from_keypoints(keypoints, 200, 100)
    assert (roi.x_center, roi.y_center) == (0.5, 0.5)
    assert roi.width * 200 == pytest.approx(50.0)
