"""Regions of interest: the rotated square crop the landmark model looks at.

Replicates MediaPipe's ``AlignmentPointsRectsCalculator`` (a rect centred on one keypoint, sized
by the distance to a second, rotated so that the second lies straight above the first) and
``RectTransformationCalculator`` (scale 1.25, squared on the long side in pixels); see
``mediapipe/modules/pose_landmark/pose_detection_to_roi.pbtxt`` and ``pose_landmarks_to_roi.pbtxt``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

#: The detector's and the auxiliary landmarks' alignment: keypoint 0 (hips' centre) to keypoint 1
#: (a point above the head that sets scale and rotation) should point straight up (90 degrees).
TARGET_ANGLE = math.pi / 2
#: ``RectTransformationCalculator`` scale for both the detection and the tracking ROI.
ROI_SCALE = 1.25


@dataclass(frozen=True)
class NormRect:
    """A rotated rectangle in normalised image coordinates (MediaPipe's ``NormalizedRect``).

    Attributes:
        x_center, y_center: centre, as fractions of the image width and height.
        width, height: size, as fractions of the image width and height.
        rotation: radians, clockwise in image coordinates (y down), in [-pi, pi).
    """

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float = 0.0

    def to_pixels(self, image_width: int, image_height: int) -> tuple[float, float, float, float, float]:
        """(cx, cy, w, h, rotation) in pixels and radians."""
        return (
            self.x_center * image_width,
            self.y_center * image_height,
            self.width * image_width,
            self.height * image_height,
            self.rotation,
        )


def normalize_radians(angle: float) -> float:
    """Wrap an angle to [-pi, pi), as MediaPipe's ``NormalizeRadians``."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def alignment_rect(
    center: npt.ArrayLike, scale_point: npt.ArrayLike, image_width: int, image_height: int
) -> NormRect:
    """Rect centred on ``center`` with side twice the distance to ``scale_point`` (in pixels).

    Args:
        center: normalised (x, y) of the alignment centre (keypoint 0).
        scale_point: normalised (x, y) of the scale/rotation point (keypoint 1).
        image_width, image_height: pixels.

    Returns:
        A rect that is square in pixels, rotated so that ``scale_point`` is straight above ``center``.
    """
    (cx, cy), (sx, sy) = np.asarray(center, np.float64)[:2], np.asarray(scale_point, np.float64)[:2]
    x0, y0 = float(cx) * image_width, float(cy) * image_height
    x1, y1 = float(sx) * image_width, float(sy) * image_height
    box_size = math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2) * 2.0
    rotation = normalize_radians(TARGET_ANGLE - math.atan2(-(y1 - y0), x1 - x0))
    return NormRect(
        x0 / image_width, y0 / image_height, box_size / image_width, box_size / image_height, rotation
    )


def object_scale(rect: NormRect, image_width: int, image_height: int) -> float:
    """Mean side of a rect in pixels: the landmark filters' object scale."""
    return (rect.width * image_width + rect.height * image_height) / 2.0


def enlarge_to_square(
    rect: NormRect, image_width: int, image_height: int, scale: float = ROI_SCALE
) -> NormRect:
    """Square the rect on its long side (in pixels) and scale it (``RectTransformationCalculator``)."""
    long_side = max(rect.width * image_width, rect.height * image_height)
    return NormRect(
        rect.x_center,
        rect.y_center,
        long_side / image_width * scale,
        long_side / image_height * scale,
        rect.rotation,
    )


def roi_from_keypoints(keypoints: npt.NDArray[np.floating], image_width: int, image_height: int) -> NormRect:
    """The landmark model's ROI from a detection's keypoints or the two auxiliary landmarks.

    Args:
        keypoints: (>=2, >=2) normalised points; row 0 is the hips' centre, row 1 the scale point.
    """
    raw = alignment_rect(keypoints[0], keypoints[1], image_width, image_height)
    return enlarge_to_square(raw, image_width, image_height)
