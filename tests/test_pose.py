"""The Pose value type validates its arrays and converts between frames and JSON."""

from __future__ import annotations

import numpy as np
import pytest

from edge.landmarks import PoseLandmark
from edge.pose import Pose


def make_pose(**overrides: object) -> Pose:
    rng = np.random.default_rng(0)
    fields: dict[str, object] = {
        "landmarks": rng.uniform(0, 1, (33, 5)).astype(np.float32),
        "world": rng.normal(0, 0.3, (33, 3)).astype(np.float32),
        "score": 0.9,
        "image_size": (640, 480),
    }
    fields.update(overrides)
    return Pose(**fields)  # type: ignore[arg-type]


def test_fail__landmarks_with_wrong_shape_name_the_shape() -> None:
    with pytest.raises(ValueError, match=r"landmarks must have shape \(33, 5\), but got \(33, 4\)"):
        make_pose(landmarks=np.zeros((33, 4), np.float32))


def test_fail__non_positive_image_size() -> None:
    with pytest.raises(ValueError, match="image_size"):
        make_pose(image_size=(0, 480))


def test_ok__pixels_scale_by_image_size() -> None:
    pose = make_pose()
    assert np.allclose(pose.pixels(), pose.xy * [640, 480])


def test_ok__json_round_trip_keeps_five_digits() -> None:
    pose = make_pose()
    again = Pose.from_json(pose.to_json(), pose.image_size)
    assert np.allclose(again.landmarks, pose.landmarks, atol=1e-5)
    assert np.allclose(again.world, pose.world, atol=1e-5)


def test_ok__mirroring_twice_is_identity_and_swaps_sides_once() -> None:
    pose = make_pose(mask=np.arange(12, dtype=np.float32).reshape(3, 4))
    once = pose.mirrored()
    assert np.allclose(once.point(PoseLandmark.RIGHT_KNEE)[0], 1 - pose.point(PoseLandmark.LEFT_KNEE)[0])
    assert np.allclose(once.mask, pose.mask[:, ::-1])
    twice = once.mirrored()
    assert np.allclose(twice.landmarks, pose.landmarks)
    assert np.allclose(twice.world, pose.world)


def test_ok__mask_at_resizes_to_requested_size() -> None:
    pose = make_pose(mask=np.ones((90, 160), np.float32))
    assert pose.mask_at(320, 180).shape == (180, 320)
    assert make_pose().mask_at(10, 10) is None
