"""Drawing poses onto BGR images, for ``--annotate``, the LCD and screenshots.

Colours are BGR tuples (OpenCV order). Functions draw in place and also return the image.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
import numpy.typing as npt

from edge.landmarks import POSE_CONNECTIONS, PoseLandmark

#: MediaPipe skips landmarks it is unsure of below this visibility when drawing.
VISIBILITY_THRESHOLD = 0.5

_LEFT = frozenset(lm for lm in PoseLandmark if lm.name.startswith("LEFT") or lm.name == "MOUTH_LEFT")


def draw_skeleton(
    image: npt.NDArray[np.uint8],
    landmarks: npt.NDArray[np.floating],
    *,
    min_visibility: float = VISIBILITY_THRESHOLD,
    line_color: tuple[int, int, int] = (245, 245, 245),
    left_color: tuple[int, int, int] = (0, 138, 255),
    right_color: tuple[int, int, int] = (255, 160, 0),
    thickness: int | None = None,
    radius: int | None = None,
    connections: Iterable[tuple[int, int]] = POSE_CONNECTIONS,
) -> npt.NDArray[np.uint8]:
    """Draw the skeleton's edges and joints onto ``image``.

    Args:
        image: (H, W, 3) uint8 BGR, drawn in place.
        landmarks: (33, >=2) normalised x, y (image widths and heights); a 4th column, if present,
            is visibility, and landmarks below ``min_visibility`` are skipped.
        line_color: BGR colour of the edges.
        left_color / right_color: BGR colours of the person's left and right joints.
        thickness, radius: line width and joint radius in pixels; scaled to the image when None.

    Returns:
        ``image``.
    """
    height, width = image.shape[:2]
    scale = max(1, round(min(width, height) / 240))
    thickness = thickness or scale
    radius = radius or scale + 1
    points = np.rint(landmarks[:, :2] * (width, height)).astype(np.int32)
    visible = (
        landmarks[:, 3] >= min_visibility
        if landmarks.shape[1] >= 4
        else np.ones(len(landmarks), bool)
    )
    visible &= np.isfinite(landmarks[:, :2]).all(axis=1)
    for a, b in connections:
        if visible[a] and visible[b]:
            cv2.line(image, tuple(map(int, points[a])), tuple(map(int, points[b])), line_color, thickness, cv2.LINE_AA)
    for index in np.flatnonzero(visible):
        color = left_color if PoseLandmark(index) in _LEFT else right_color
        cv2.circle(image, tuple(map(int, points[index])), radius, color, -1, cv2.LINE_AA)
    return image
