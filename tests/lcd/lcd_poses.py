"""Hand-made poses for LCD tests (a standing person, placed anywhere), by landmark name."""

from __future__ import annotations

import numpy as np

from edge.landmarks import PoseLandmark as L


def standing_pose(cx: float = 0.5, visibility: float = 0.99) -> np.ndarray:
    """(33, 5) landmarks of a person standing at horizontal centre ``cx`` of a frame (normalised)."""
    lm = np.zeros((33, 5), np.float32)
    lm[:, 3:] = visibility
    spots = {
        L.NOSE: (0.0, 0.15),
        L.LEFT_SHOULDER: (0.06, 0.28),
        L.RIGHT_SHOULDER: (-0.06, 0.28),
        L.LEFT_ELBOW: (0.08, 0.42),
        L.RIGHT_ELBOW: (-0.08, 0.42),
        L.LEFT_WRIST: (0.08, 0.55),
        L.RIGHT_WRIST: (-0.08, 0.55),
        L.LEFT_HIP: (0.04, 0.55),
        L.RIGHT_HIP: (-0.04, 0.55),
        L.LEFT_KNEE: (0.045, 0.72),
        L.RIGHT_KNEE: (-0.045, 0.72),
        L.LEFT_ANKLE: (0.05, 0.88),
        L.RIGHT_ANKLE: (-0.05, 0.88),
    }
    for landmark in L:  # face and hand points near their neighbours
        lm[landmark, :2] = (cx, 0.15)
    for hand, wrist in ((range(17, 23, 2), L.LEFT_WRIST), (range(18, 23, 2), L.RIGHT_WRIST)):
        for i in hand:
            spots[L(i)] = (spots[wrist][0], spots[wrist][1] + 0.02)
    for foot, ankle in (
        ((L.LEFT_HEEL, L.LEFT_FOOT_INDEX), L.LEFT_ANKLE),
        ((L.RIGHT_HEEL, L.RIGHT_FOOT_INDEX), L.RIGHT_ANKLE),
    ):
        for f in foot:
            spots[f] = (spots[ankle][0], spots[ankle][1] + 0.03)
    for landmark, (dx, y) in spots.items():
        lm[landmark, :2] = (cx + dx, y)
    return lm
