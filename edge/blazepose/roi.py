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

from edge.blazepose.floats import F32, atan2f, normalize_radians

#: The detector's and the auxiliary landmarks' alignment: keypoint 0 (hips' centre) to keypoint 1
#: (a point above the head that sets scale and rotation) should point straight up (90 degrees), as the
#: float32 MediaPipe stores (``M_PI * 90 / 180.f``).
TARGET_ANGLE = np.float32(math.pi * 90.0 / 180.0)
#: ``RectTransformationCalculator`` scale for both the detection and the tracking ROI.
ROI_SCALE = 1.25


@dataclass(frozen=True)
class NormRect:
    """A rotated rectangle in normalised image coordinates (MediaPipe's ``NormalizedRect``).

    The values are float32 numbers (held as Python floats), as in MediaPipe's proto.

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


def alignment_rect(
    center: npt.ArrayLike, scale_point: npt.ArrayLike, image_width: int, image_height: int
) -> NormRect:
    """Rect centred on ``center`` with side twice the distance to ``scale_point`` (in pixels).

    ``AlignmentPointsRectsCalculator`` in float32 as MediaPipe computes it (the centre goes to pixels and
    back, ``sqrtf``, the C library's ``atan2f``), so that tracked ROIs match MediaPipe's to the bit.

    Args:
        center: normalised (x, y) of the alignment centre (keypoint 0).
        scale_point: normalised (x, y) of the scale/rotation point (keypoint 1).
        image_width, image_height: pixels.

    Returns:
        A rect that is square in pixels, rotated so that ``scale_point`` is straight above ``center``.
    """
    w, h = F32(image_width), F32(image_height)
    c, p = np.asarray(center, F32), np.asarray(scale_point, F32)
    x0, y0 = c[0] * w, c[1] * h
    x1, y1 = p[0] * w, p[1] * h
    box_size = np.sqrt((x1 - x0) * (x1 - x0) + (y1 - y0) * (y1 - y0)) * F32(2)
    rotation = normalize_radians(TARGET_ANGLE - atan2f(-(y1 - y0), x1 - x0))
    return NormRect(float(x0 / w), float(y0 / h), float(box_size / w), float(box_size / h), float(rotation))


def object_scale(rect: NormRect, image_width: int, image_height: int) -> float:
    """Mean side of a rect in pixels (float32): the landmark filters' object scale."""
    w, h = F32(image_width), F32(image_height)
    return float((F32(rect.width) * w + F32(rect.height) * h) * F32(0.5))


def enlarge_to_square(
    rect: NormRect, image_width: int, image_height: int, scale: float = ROI_SCALE
) -> NormRect:
    """Square the rect on its long side (in pixels) and scale it (``RectTransformationCalculator``)."""
    w, h = F32(image_width), F32(image_height)
    long_side = max(F32(rect.width) * w, F32(rect.height) * h)
    return NormRect(
        rect.x_center,
        rect.y_center,
        float(long_side / w * F32(scale)),
        float(long_side / h * F32(scale)),
        rect.rotation,
    )


def roi_from_keypoints(keypoints: npt.NDArray[np.floating], image_width: int, image_height: int) -> NormRect:
    """The landmark model's ROI from a detection's keypoints or the two auxiliary landmarks.

    Args:
        keypoints: (>=2, >=2) normalised points (float32); row 0 is the hips' centre, row 1 the scale point.
    """
    raw = alignment_rect(keypoints[0], keypoints[1], image_width, image_height)
    return enlarge_to_square(raw, image_width, image_height)
