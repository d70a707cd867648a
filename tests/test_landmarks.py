"""The landmark vocabulary matches MediaPipe's, index for index."""

from __future__ import annotations

from edge.landmarks import NUM_LANDMARKS, POSE_CONNECTIONS, PoseLandmark, mirrored_indices


def test_ok__33_landmarks_in_mediapipe_order() -> None:
    assert NUM_LANDMARKS == 33
    assert PoseLandmark.NOSE == 0
    assert PoseLandmark.LEFT_SHOULDER == 11
    assert PoseLandmark.LEFT_KNEE == 25
    assert PoseLandmark.RIGHT_FOOT_INDEX == 32


def test_ok__connections_are_mediapipes_35_edges_between_valid_landmarks() -> None:
    assert len(POSE_CONNECTIONS) == 35
    assert all(0 <= a < 33 and 0 <= b < 33 and a != b for a, b in POSE_CONNECTIONS)
    assert (PoseLandmark.LEFT_HIP, PoseLandmark.LEFT_KNEE) in POSE_CONNECTIONS


def test_ok__mirroring_swaps_left_and_right_and_is_an_involution() -> None:
    order = mirrored_indices()
    assert order[PoseLandmark.LEFT_KNEE] == PoseLandmark.RIGHT_KNEE
    assert order[PoseLandmark.MOUTH_LEFT] == PoseLandmark.MOUTH_RIGHT
    assert order[PoseLandmark.NOSE] == PoseLandmark.NOSE
    assert [order[i] for i in order] == list(range(33))
