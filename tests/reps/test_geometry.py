"""Joint angles, body orientation and normalised distances on world landmarks."""

from __future__ import annotations

import numpy as np
import pytest

from edge.landmarks import PoseLandmark as L
from edge.reps import geometry

from .synthetic import make_pose, world_pose


def test_ok__joint_angle_of_known_shapes() -> None:
    """Prevents a wrong vertex or units: a right angle is 90, a straight limb 180, a fold 0."""
    p = np.zeros((33, 3))
    p[L.LEFT_HIP] = (0, -1, 0)
    p[L.LEFT_KNEE] = (0, 0, 0)
    p[L.LEFT_ANKLE] = (1, 0, 0)
    assert geometry.joint_angle(p, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE) == pytest.approx(90.0)
    p[L.LEFT_ANKLE] = (0, 1, 0)
    assert geometry.joint_angle(p, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE) == pytest.approx(180.0)
    p[L.LEFT_ANKLE] = (0, -0.5, 0)
    assert geometry.joint_angle(p, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE) == pytest.approx(0.0, abs=1e-3)


def test_ok__batches_and_nan_rows() -> None:
    """Prevents per-frame loops in tools and exceptions on frames without a pose."""
    batch = np.stack([world_pose(knee=90.0), world_pose(knee=150.0), np.full((33, 3), np.nan)])
    angles = geometry.joint_angle(batch, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE)
    assert angles.shape == (3,)
    assert angles[:2] == pytest.approx([90.0, 150.0], abs=0.5)
    assert np.isnan(angles[2])
    assert np.isnan(geometry.torso_inclination(batch)[2])


@pytest.mark.parametrize(
    ("body", "torso", "chest"),
    [("standing", 90.0, 0.0), ("plank", 0.0, -90.0), ("supine", 0.0, 90.0)],
)
def test_ok__body_orientation(body: str, torso: float, chest: float) -> None:
    """Prevents confusing a plank (push-up) with lying on the back (sit-up) or standing."""
    w = world_pose(body=body)
    assert geometry.torso_inclination(w) == pytest.approx(torso, abs=1.0)
    assert geometry.chest_elevation(w) == pytest.approx(chest, abs=1.0)


def test_ok__leaning_forward_turns_the_chest_down() -> None:
    """Prevents the sign of chest elevation from flipping between leaning forward and back."""
    w = world_pose(lean=40.0)
    assert geometry.torso_inclination(w) == pytest.approx(50.0, abs=1.0)
    assert geometry.chest_elevation(w) == pytest.approx(-40.0, abs=1.0)


def test_ok__arm_measures() -> None:
    """Prevents a press (hands overhead) and a front raise (arms forward) reading like a jumping jack."""
    hanging = world_pose(shoulder=0.0, elbow=180.0)
    overhead = world_pose(shoulder=180.0, elbow=180.0)
    front = world_pose(shoulder=90.0, arm_plane="front")
    side = world_pose(shoulder=90.0, arm_plane="side")
    args = (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST)
    assert geometry.wrist_height(hanging, *args) == pytest.approx(-1.0, abs=0.01)
    assert geometry.wrist_height(overhead, *args) == pytest.approx(1.0, abs=0.01)
    assert geometry.arm_forwardness(front, L.LEFT_SHOULDER, L.LEFT_ELBOW) > 0.95
    assert geometry.arm_forwardness(side, L.LEFT_SHOULDER, L.LEFT_ELBOW) < 0.05


def test_ok__feet_spread_in_leg_lengths() -> None:
    """Prevents a split stance (lunge) and a wide stance (jumping jack) from being mixed up."""
    side, front = geometry.feet_spread(world_pose(split=0.6))
    assert front > 0.5 and side < 0.4
    side, front = geometry.feet_spread(world_pose(stance=0.9))
    assert side > 0.8 and front < 0.05


def test_ok__measures_are_mirror_invariant() -> None:
    """Prevents left-handed results: a mirrored video must measure the same body."""
    w = world_pose(knees=(90.0, 160.0), shoulders=(60.0, 100.0), arm_plane="front", lean=20.0, split=0.3)
    pose = make_pose(w)
    m = pose.mirrored().world
    assert geometry.torso_inclination(m) == pytest.approx(geometry.torso_inclination(w), abs=1e-4)
    assert geometry.chest_elevation(m) == pytest.approx(geometry.chest_elevation(w), abs=1e-4)
    assert geometry.feet_spread(m)[1] == pytest.approx(geometry.feet_spread(w)[1], abs=1e-4)
    # left and right swap
    assert geometry.joint_angle(m, L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE) == pytest.approx(
        geometry.joint_angle(w, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), abs=1e-3
    )
    assert geometry.arm_forwardness(m, L.RIGHT_SHOULDER, L.RIGHT_ELBOW) == pytest.approx(
        geometry.arm_forwardness(w, L.LEFT_SHOULDER, L.LEFT_ELBOW), abs=1e-4
    )
