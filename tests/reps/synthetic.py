"""A tiny stick-figure generator: world landmarks for given joint angles, for unit tests.

Metres, hip-centred, x to the image's right, y down, z away from the camera (BlazePose's world
frame). The person faces the camera standing; ``body`` turns the whole figure into a plank (face
down) or lying on the back. Only the landmarks the counter reads are placed carefully; the face
and hands follow the head and wrists.
"""

from __future__ import annotations

import math

import numpy as np

from edge.landmarks import PoseLandmark as L
from edge.pose import Pose

THIGH, SHIN, UPPER_ARM, FOREARM = 0.45, 0.42, 0.30, 0.27


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _rot_x(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def world_pose(
    knee: float = 175.0,
    elbow: float = 170.0,
    shoulder: float = 15.0,
    arm_plane: str = "side",
    lean: float = 0.0,
    knees: tuple[float, float] | None = None,
    elbows: tuple[float, float] | None = None,
    shoulders: tuple[float, float] | None = None,
    stance: float = 0.25,
    split: float = 0.0,
    body: str = "standing",
) -> np.ndarray:
    """World landmarks (33, 3) float32 of a figure with these angles (degrees).

    Args:
        knee, elbow, shoulder: joint angles for both sides (hip-knee-ankle, shoulder-elbow-wrist,
            hip-shoulder-elbow); ``knees``/``elbows``/``shoulders`` give (left, right) instead.
        arm_plane: the upper arm rises ``"side"``ways or ``"front"``.
        lean: forward lean of the torso from vertical, degrees.
        stance: distance between the feet sideways, metres.
        split: distance between the feet front-to-back, metres (the left foot forward).
        body: ``"standing"``, ``"plank"`` (face down) or ``"supine"`` (lying on the back).
    """
    kl, kr = knees or (knee, knee)
    el, er = elbows or (elbow, elbow)
    sl, sr = shoulders or (shoulder, shoulder)
    p = np.zeros((33, 3))
    forward = np.array([0.0, 0.0, -1.0])
    down = np.array([0.0, 1.0, 0.0])
    up_torso = _rot_x(lean) @ np.array([0.0, -1.0, 0.0])  # lean tips the torso towards the camera
    for side, sign, k, e, s, fz in (
        ("LEFT", 1.0, kl, el, sl, -split / 2),
        ("RIGHT", -1.0, kr, er, sr, split / 2),
    ):
        hip = np.array([0.1 * sign, 0.0, 0.0])
        p[L[f"{side}_HIP"]] = hip
        # Knee angle k: the thigh swings forward by 60% of the bend, the shin back by 40%.
        bend = 180.0 - k
        a, b = math.radians(0.6 * bend), math.radians(0.4 * bend)
        foot = np.array([stance / 2 * sign - 0.1 * sign, 0.0, fz])
        knee_pos = hip + THIGH * (math.cos(a) * down + math.sin(a) * forward) + foot * 0.5
        ankle = knee_pos + SHIN * (math.cos(b) * down - math.sin(b) * forward) + foot * 0.5
        p[L[f"{side}_KNEE"]] = knee_pos
        p[L[f"{side}_ANKLE"]] = ankle
        p[L[f"{side}_HEEL"]] = ankle + np.array([0, 0.05, 0.05])
        p[L[f"{side}_FOOT_INDEX"]] = ankle + np.array([0, 0.06, -0.15])
        shoulder_pos = 0.5 * up_torso + np.array([0.18 * sign, 0.0, 0.0])
        p[L[f"{side}_SHOULDER"]] = shoulder_pos
        # Shoulder angle s between the torso's down direction and the upper arm.
        torso_down = -up_torso
        swing = _unit(np.array([sign, 0.0, 0.0])) if arm_plane == "side" else forward
        sa = math.radians(s)
        upper = math.cos(sa) * torso_down + math.sin(sa) * swing
        elbow_pos = shoulder_pos + UPPER_ARM * upper
        # Elbow angle e: the forearm folds forward/up from the upper arm's direction.
        fold_axis = (
            _unit(np.cross(upper, forward)) if abs(np.dot(upper, forward)) < 0.99 else np.array([1.0, 0, 0])
        )
        ea = math.radians(180.0 - e)
        fore = math.cos(ea) * upper + math.sin(ea) * _unit(np.cross(fold_axis, upper))
        wrist = elbow_pos + FOREARM * fore
        p[L[f"{side}_ELBOW"]] = elbow_pos
        p[L[f"{side}_WRIST"]] = wrist
        for part in ("PINKY", "INDEX", "THUMB"):
            p[L[f"{side}_{part}"]] = wrist + 0.05 * fore
        p[L[f"{side}_EAR"]] = 0.62 * up_torso + np.array([0.07 * sign, 0, 0.02])
        for part in ("EYE_INNER", "EYE", "EYE_OUTER"):
            p[L[f"{side}_{part}"]] = 0.65 * up_torso + np.array([0.03 * sign, 0, -0.08])
    p[L.NOSE] = 0.63 * up_torso + np.array([0, 0, -0.1])
    p[L.MOUTH_LEFT] = 0.6 * up_torso + np.array([0.02, 0, -0.09])
    p[L.MOUTH_RIGHT] = 0.6 * up_torso + np.array([-0.02, 0, -0.09])
    if body == "plank":  # head towards the camera, chest facing the floor
        p = p @ _rot_x(90.0).T
    elif body == "supine":  # feet towards the camera, chest facing the ceiling
        p = p @ _rot_x(-90.0).T
    return p.astype(np.float32)


def make_pose(
    world: np.ndarray, t: float = 0.0, visibility: float = 1.0, hidden: tuple[str, ...] = ()
) -> Pose:
    """A ``Pose`` around ``world`` (image coordinates a plain projection); landmarks whose names
    start with one of ``hidden`` (e.g. ``"LEFT_"``) get visibility 0.05."""
    lm = np.zeros((33, 5), np.float32)
    lm[:, 0] = 0.5 + world[:, 0] * 0.4
    lm[:, 1] = 0.5 + world[:, 1] * 0.4
    lm[:, 2] = world[:, 2] * 0.4
    lm[:, 3] = visibility
    for landmark in L:
        if landmark.name.startswith(hidden) and hidden:
            lm[int(landmark), 3] = 0.05
    return Pose(lm, world.astype(np.float32), 0.95, (640, 480), t)


def cycle(low: float, high: float, period: float, t: float, start_high: bool = True) -> float:
    """A smooth repetition signal: ``high`` at t = 0 (or ``low``), one cycle per ``period`` s."""
    phase = math.cos(2 * math.pi * t / period)
    mid, amp = (high + low) / 2, (high - low) / 2
    return mid + amp * phase if start_high else mid - amp * phase


def stream(make, duration: float, fps: float = 30.0, **pose_kw) -> list[tuple[Pose | None, float]]:  # type: ignore[no-untyped-def]
    """[(pose, t)] for ``make(t) -> world`` sampled at ``fps`` for ``duration`` seconds."""
    n = int(round(duration * fps)) + 1
    return [(make_pose(make(i / fps), i / fps, **pose_kw), i / fps) for i in range(n)]
