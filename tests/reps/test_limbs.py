"""The elbow read from the arm's ends with its usual segment lengths (``edge.reps.limbs``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.landmarks import PoseLandmark as L
from edge.reps import RepCounter
from edge.reps.geometry import joint_angle
from edge.reps.limbs import CHAINS, SHORTENING_TOLERANCE, LimbLengths

from .synthetic import FOREARM, UPPER_ARM, cycle, make_pose, world_pose

VISIBLE = np.ones(33)
LEFT_ELBOW = CHAINS.index((L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST))


def shortened(world: np.ndarray, side: str = "LEFT") -> np.ndarray:
    """The arm drawn straight from the shoulder to where the wrist is (the elbow put on that line,
    the shoulder-wrist distance kept): what the model does when it shortens an arm instead of
    bending it."""
    out = world.copy()
    shoulder, wrist = out[L[f"{side}_SHOULDER"]], out[L[f"{side}_WRIST"]]
    out[L[f"{side}_ELBOW"]] = shoulder + (wrist - shoulder) * UPPER_ARM / (UPPER_ARM + FOREARM)
    return out


def learned(window_s: float = 10.0, seconds: float = 3.0) -> LimbLengths:
    """Lengths learned from ``seconds`` of straight arms at 30 fps."""
    limbs = LimbLengths(window_s=window_s)
    for i in range(int(seconds * 30)):
        limbs.observe(world_pose(elbow=175.0).astype(np.float64), VISIBLE, i / 30)
    return limbs


@pytest.mark.parametrize("elbow", [60.0, 90.0, 135.0, 175.0])
def test_ok__arm_at_its_usual_length_reads_the_world_angle(elbow: float) -> None:
    """Prevents the correction from changing the reading of an arm the model draws normally."""
    world = world_pose(elbow=elbow).astype(np.float64)
    bends = learned().bend_angles(world)
    assert bends[LEFT_ELBOW] == pytest.approx(float(joint_angle(world, *CHAINS[LEFT_ELBOW])), abs=1e-6)
    assert bends[LEFT_ELBOW] == pytest.approx(elbow, abs=1.0)


@pytest.mark.parametrize(("elbow", "reading"), [(70.0, 85.0), (90.0, 113.0)])
def test_ok__arm_shortened_instead_of_bent_reads_a_bend(elbow: float, reading: float) -> None:
    """Prevents losing push-ups where the model straightens and shortens the arm (the flipped
    ``joelo_pushup``): the shoulder-wrist distance of an ``elbow``-degree bend reads as a bend,
    computed with segments at ``SHORTENING_TOLERANCE`` of their usual length (a partial
    correction: 90 degrees read as 113, where the world angle says 180)."""
    bent = world_pose(elbow=elbow).astype(np.float64)
    straight_short = shortened(bent)
    assert float(joint_angle(straight_short, *CHAINS[LEFT_ELBOW])) > 179.0
    assert learned().bend_angles(straight_short)[LEFT_ELBOW] == pytest.approx(reading, abs=1.5)


def test_ok__length_noise_within_the_tolerance_reads_the_world_angle() -> None:
    """Prevents straight arms whose drawn length wobbles by a few percent from reading as bent."""
    world = world_pose(elbow=170.0).astype(np.float64)
    shoulder = world[L.LEFT_SHOULDER]
    for landmark in (L.LEFT_ELBOW, L.LEFT_WRIST):  # the whole arm 8 % shorter, same shape
        world[landmark] = shoulder + (world[landmark] - shoulder) * 0.92
    assert 0.92 > SHORTENING_TOLERANCE
    reading = learned().bend_angles(world)[LEFT_ELBOW]
    assert reading == pytest.approx(float(joint_angle(world, *CHAINS[LEFT_ELBOW])), abs=1e-6)


def test_ok__without_history_or_visibility_the_world_angle_is_used() -> None:
    """Prevents guessed (invisible) arms from teaching lengths, and NaN before anything was seen."""
    limbs = LimbLengths()
    hidden = VISIBLE.copy()
    hidden[[L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST]] = 0.1
    for i in range(30):
        limbs.observe(world_pose(elbow=175.0).astype(np.float64), hidden, i / 30)
    assert math.isnan(limbs.usual[LEFT_ELBOW, 0]) and not math.isnan(limbs.usual[1 - LEFT_ELBOW, 0])
    short = shortened(world_pose(elbow=90.0).astype(np.float64))
    assert limbs.bend_angles(short)[LEFT_ELBOW] > 179.0
    limbs.observe(None, None, 2.0)  # no pose: nothing changes
    assert math.isnan(limbs.usual[LEFT_ELBOW, 0])


def test_ok__usual_lengths_follow_a_new_person_within_the_window() -> None:
    """Prevents a person who steps closer (longer arms in metres) from keeping stale lengths."""
    limbs = learned(window_s=4.0, seconds=3.0)
    first = limbs.usual[LEFT_ELBOW].copy()
    big = world_pose(elbow=175.0).astype(np.float64) * 1.3
    for i in range(int(5.0 * 30)):
        limbs.observe(big, VISIBLE, 3.0 + i / 30)
    assert limbs.usual[LEFT_ELBOW] == pytest.approx(first * 1.3, rel=1e-6)
    limbs.clear()
    assert np.isnan(limbs.usual).all()


def test_ok__pushups_counted_when_the_model_shortens_the_arms() -> None:
    """Prevents the failure on the flipped ``joelo_pushup`` video end to end: push-ups whose arms
    the model draws straight and short at the bottom are counted as on the original video."""

    def frame(t: float) -> np.ndarray:
        elbow = cycle(80.0, 170.0, 2.0, t)
        world = world_pose(elbow=elbow, shoulder=80.0, body="plank").astype(np.float64)
        if elbow < 150.0:
            world = shortened(shortened(world, "LEFT"), "RIGHT")
        return world.astype(np.float32)

    counter = RepCounter("pushup")
    for i in range(int(6.2 * 30)):
        counter.update(make_pose(frame(i / 30), i / 30), i / 30)
    assert counter.count == 3
