"""MediaPipe's pose vocabulary: the 33 BlazePose landmarks by name, and the skeleton's edges.

Indices are 0-based and identical to ``mediapipe.solutions.pose.PoseLandmark`` and
``POSE_CONNECTIONS``, so code and payloads written against MediaPipe read the same here.
Refer to landmarks by name (``PoseLandmark.LEFT_KNEE``), never by number.
"""

from __future__ import annotations

import enum


class PoseLandmark(enum.IntEnum):
    """The 33 pose landmarks of BlazePose GHUM, in model output order."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


NUM_LANDMARKS = len(PoseLandmark)

_L = PoseLandmark

#: The skeleton's edges, as MediaPipe draws them (``mediapipe/python/solutions/pose_connections.py``).
POSE_CONNECTIONS: frozenset[tuple[PoseLandmark, PoseLandmark]] = frozenset(
    {
        (_L.NOSE, _L.RIGHT_EYE_INNER),
        (_L.RIGHT_EYE_INNER, _L.RIGHT_EYE),
        (_L.RIGHT_EYE, _L.RIGHT_EYE_OUTER),
        (_L.RIGHT_EYE_OUTER, _L.RIGHT_EAR),
        (_L.NOSE, _L.LEFT_EYE_INNER),
        (_L.LEFT_EYE_INNER, _L.LEFT_EYE),
        (_L.LEFT_EYE, _L.LEFT_EYE_OUTER),
        (_L.LEFT_EYE_OUTER, _L.LEFT_EAR),
        (_L.MOUTH_RIGHT, _L.MOUTH_LEFT),
        (_L.RIGHT_SHOULDER, _L.LEFT_SHOULDER),
        (_L.RIGHT_SHOULDER, _L.RIGHT_ELBOW),
        (_L.RIGHT_ELBOW, _L.RIGHT_WRIST),
        (_L.RIGHT_WRIST, _L.RIGHT_PINKY),
        (_L.RIGHT_WRIST, _L.RIGHT_INDEX),
        (_L.RIGHT_WRIST, _L.RIGHT_THUMB),
        (_L.RIGHT_PINKY, _L.RIGHT_INDEX),
        (_L.LEFT_SHOULDER, _L.LEFT_ELBOW),
        (_L.LEFT_ELBOW, _L.LEFT_WRIST),
        (_L.LEFT_WRIST, _L.LEFT_PINKY),
        (_L.LEFT_WRIST, _L.LEFT_INDEX),
        (_L.LEFT_WRIST, _L.LEFT_THUMB),
        (_L.LEFT_PINKY, _L.LEFT_INDEX),
        (_L.RIGHT_SHOULDER, _L.RIGHT_HIP),
        (_L.LEFT_SHOULDER, _L.LEFT_HIP),
        (_L.RIGHT_HIP, _L.LEFT_HIP),
        (_L.RIGHT_HIP, _L.RIGHT_KNEE),
        (_L.LEFT_HIP, _L.LEFT_KNEE),
        (_L.RIGHT_KNEE, _L.RIGHT_ANKLE),
        (_L.LEFT_KNEE, _L.LEFT_ANKLE),
        (_L.RIGHT_ANKLE, _L.RIGHT_HEEL),
        (_L.LEFT_ANKLE, _L.LEFT_HEEL),
        (_L.RIGHT_HEEL, _L.RIGHT_FOOT_INDEX),
        (_L.LEFT_HEEL, _L.LEFT_FOOT_INDEX),
        (_L.RIGHT_ANKLE, _L.RIGHT_FOOT_INDEX),
        (_L.LEFT_ANKLE, _L.LEFT_FOOT_INDEX),
    }
)

#: Each left landmark paired with its right twin; used to mirror a pose (left/right swap).
LEFT_RIGHT_PAIRS: tuple[tuple[PoseLandmark, PoseLandmark], ...] = tuple(
    (left, PoseLandmark[left.name.replace("LEFT", "RIGHT")])
    for left in PoseLandmark
    if left.name.startswith("LEFT")
) + ((_L.MOUTH_LEFT, _L.MOUTH_RIGHT),)


def mirrored_indices() -> list[int]:
    """Return the permutation that swaps every left landmark with its right twin.

    ``landmarks[mirrored_indices()]`` relabels a pose seen in a horizontally mirrored image.
    """
    order = list(range(NUM_LANDMARKS))
    for left, right in LEFT_RIGHT_PAIRS:
        order[left], order[right] = int(right), int(left)
    return order
