"""Reading exercise signals from one pose: per side, visibility-gated, computed once per frame.

The counter follows one number per side per frame (``edge.reps.exercises.Signal``), measured on
the world landmarks. A side is *usable* only when the model sees the signal's landmarks on that
side: their mean visibility must reach ``visibility_floor`` (0.5, where MediaPipe itself stops
drawing a landmark). A side the model cannot see is never counted on: its world coordinates are
then guessed (the far leg in a side view copies the near one) and can move without the body
moving.

The mean rather than the minimum: one end of the limb slightly out of view (the ankles leaving
the bottom of the frame while a person lunges towards the camera, ``lunge/quva_020``) is
constrained by the rest of the limb, and the joint still reads right; a limb that is mostly out
of view or hidden (mean below the floor) is not used.

Elbow angles are read with the stream's usual arm segment lengths when the caller keeps them
(``edge.reps.limbs``): the model sometimes shortens an arm instead of bending it.

``Measures`` computes each quantity at most once per pose, because ``auto`` asks the same
questions (the knee angle, the torso's orientation) for nine exercises at every frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.landmarks import PoseLandmark
from edge.pose import VISIBILITY, Pose
from edge.reps import geometry
from edge.reps.exercises import EXERCISES, Posture, Signal
from edge.reps.limbs import CHAINS, LimbLengths


def right_twin(landmark: PoseLandmark) -> PoseLandmark:
    """The right side's landmark for a left one (``LEFT_KNEE`` -> ``RIGHT_KNEE``)."""
    return PoseLandmark[landmark.name.replace("LEFT_", "RIGHT_", 1)]


def side_landmarks(landmarks: tuple[PoseLandmark, ...], side: str) -> tuple[PoseLandmark, ...]:
    """The landmarks of ``side`` ("left" or "right") for landmarks given on the left side."""
    return landmarks if side == "left" else tuple(right_twin(lm) for lm in landmarks)


def measure(world: np.ndarray, kind: str, landmarks: tuple[PoseLandmark, ...]) -> float:
    """A joint angle (3 landmarks) or a segment's elevation (2 landmarks) in degrees, on (33, 3)."""
    if kind == "joint_angle":
        return float(geometry.joint_angle(world, *landmarks))
    return float(geometry.segment_elevation(world, *landmarks))


@dataclass(frozen=True)
class SideReading:
    """One side's value of a signal in one frame.

    Attributes:
        value: degrees, NaN when the side is not usable.
        visibility: the mean visibility of the signal's landmarks on this side, in [0, 1].
    """

    value: float
    visibility: float

    @property
    def usable(self) -> bool:
        return not math.isnan(self.value)


def combine(left: SideReading, right: SideReading) -> tuple[float, str]:
    """One value for a movement both sides make together: the usable sides, weighted by visibility.

    Returns:
        (value in degrees or NaN, which side it comes from: "both", "left", "right" or "none").
    """
    if left.usable and right.usable:
        w = left.visibility + right.visibility
        return (left.value * left.visibility + right.value * right.visibility) / w, "both"
    if left.usable:
        return left.value, "left"
    if right.usable:
        return right.value, "right"
    return math.nan, "none"


_NO_READING = SideReading(math.nan, 0.0)


def _batch() -> tuple[tuple[tuple[PoseLandmark, ...], ...], tuple[tuple[PoseLandmark, ...], ...]]:
    """Every joint angle and segment elevation the exercises measure, both sides."""
    angles: set[tuple[PoseLandmark, ...]] = set()
    elevations: set[tuple[PoseLandmark, ...]] = set()
    for spec in EXERCISES.values():
        for side in ("left", "right"):
            lms = side_landmarks(spec.signal.landmarks, side)
            (angles if spec.signal.kind == "joint_angle" else elevations).add(lms)
            if spec.depth is not None:
                elevations.add(side_landmarks(spec.depth[:2], side))
    return tuple(sorted(angles)), tuple(sorted(elevations))


#: Computed together in one vectorised pass per pose, the first time any of them is asked for.
_ANGLES, _ELEVATIONS = _batch()


class Measures:
    """Everything the rep counter measures on one pose, each computed on first use.

    Args:
        pose: the pose, or None (then every reading is unusable).
        visibility_floor: see the module docstring.
        limbs: the stream's usual segment lengths; with them, elbow and knee angles are read
            from the distance between the limb's ends (``edge.reps.limbs``), else they are the
            plain world joint angles.

    Attributes:
        world: (33, 3) float64 world landmarks in metres, None without a usable pose.
    """

    def __init__(self, pose: Pose | None, visibility_floor: float, limbs: LimbLengths | None = None) -> None:
        self.visibility_floor = visibility_floor
        self.limbs = limbs
        self.world: np.ndarray | None = None
        self._vis: np.ndarray | None = None
        if pose is not None and bool(np.isfinite(pose.world).all()):
            self.world = np.asarray(pose.world, np.float64)
            self._vis = pose.landmarks[:, VISIBILITY].astype(np.float64)
        self._values: dict[tuple[str, tuple[PoseLandmark, ...]], float] = {}
        self._readings: dict[tuple[Signal, str], SideReading] = {}
        self._torso: float | None = None
        self._chest: float | None = None
        self._axes: geometry.Axes | None = None

    @property
    def valid(self) -> bool:
        """False without a pose (or with NaN coordinates)."""
        return self.world is not None

    def value(self, kind: str, landmarks: tuple[PoseLandmark, ...]) -> float:
        """``measure`` on this pose, cached; NaN without a pose."""
        if self.world is None:
            return math.nan
        key = (kind, landmarks)
        if key not in self._values:
            if (
                kind == "joint_angle"
                and landmarks in _ANGLES
                and ("joint_angle", _ANGLES[0]) not in self._values
            ):
                values = geometry.joint_angles(self.world, _ANGLES)  # type: ignore[arg-type]
                self._values.update(zip((("joint_angle", a) for a in _ANGLES), values.tolist(), strict=True))
                if self.limbs is not None:
                    bends = self.limbs.bend_angles(self.world).tolist()
                    self._values.update(zip((("joint_angle", c) for c in CHAINS), bends, strict=True))
            elif (
                kind == "elevation"
                and landmarks in _ELEVATIONS
                and ("elevation", _ELEVATIONS[0]) not in self._values
            ):
                values = geometry.segment_elevations(self.world, _ELEVATIONS)  # type: ignore[arg-type]
                self._values.update(
                    zip((("elevation", e) for e in _ELEVATIONS), values.tolist(), strict=True)
                )
            if key not in self._values:
                if self.limbs is not None and kind == "joint_angle" and landmarks in CHAINS:
                    self._values[key] = float(self.limbs.bend_angles(self.world)[CHAINS.index(landmarks)])
                else:
                    self._values[key] = measure(self.world, kind, landmarks)
        return self._values[key]

    @property
    def visibility(self) -> np.ndarray | None:
        """(33,) float64 landmark visibilities, None without a usable pose."""
        return self._vis

    def visibilities(self, landmarks: tuple[PoseLandmark, ...]) -> np.ndarray:
        """The landmarks' visibilities, (len(landmarks),); zeros without a pose."""
        if self._vis is None:
            return np.zeros(len(landmarks))
        return self._vis[[int(lm) for lm in landmarks]]

    def reading(self, signal: Signal, side: str) -> SideReading:
        """``signal`` on ``side``; NaN unless its landmarks' mean visibility reaches the floor."""
        key = (signal, side)
        if key not in self._readings:
            if self._vis is None:
                self._readings[key] = _NO_READING
            else:
                lms = side_landmarks(signal.landmarks, side)
                vis = float(np.mean(self.visibilities(lms)))
                value = self.value(signal.kind, lms) if vis >= self.visibility_floor else math.nan
                self._readings[key] = SideReading(value, vis)
        return self._readings[key]

    @property
    def torso(self) -> float:
        """Torso elevation above the horizontal, degrees (``geometry.torso_inclination``)."""
        if self._torso is None:
            self._torso = math.nan if self.world is None else float(geometry.torso_inclination(self.world))
        return self._torso

    @property
    def axes(self) -> geometry.Axes:
        """``geometry.body_axes`` of this pose (NaN without a pose)."""
        if self._axes is None:
            world = self.world if self.world is not None else np.full((33, 3), np.nan)
            self._axes = geometry.body_axes(world)
        return self._axes

    @property
    def chest(self) -> float:
        """Elevation of the direction the chest faces, degrees (``geometry.chest_elevation``)."""
        if self._chest is None:
            self._chest = (
                math.nan if self.world is None else float(geometry.chest_elevation(self.world, self.axes))
            )
        return self._chest

    def in_posture(self, posture: Posture) -> bool:
        """Whether the body is in one of the positions ``posture`` allows."""
        torso, chest = self.torso, self.chest
        return posture.torso[0] <= torso <= posture.torso[1] and posture.chest[0] <= chest <= posture.chest[1]
