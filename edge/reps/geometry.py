"""Pure geometry on pose landmarks: joint angles, body orientation, normalised distances.

Every function takes landmark coordinates as an array of shape ``(..., 33, 3)`` float (any leading
batch shape, so a single pose ``(33, 3)`` and a clip ``(N, 33, 3)`` both work) and returns an
array of the leading shape (a float for a single pose). The coordinates are BlazePose's *world*
landmarks (``Pose.world``): metres, origin at the hips' midpoint, x to the image's right, y down,
z away from the camera. World landmarks are what the rep counter measures because the model
predicts them as a 3-D body, so a knee angle is the same whether the camera sees the person from
the front, the side or behind; angles measured in the image plane are foreshortened by the view
(on ``pushup/joelo_pushup`` the image-plane elbow angle jumps by 60 degrees where the 3-D one
moves smoothly).

Functions that refer to "up" use the world y axis, so they assume a roughly level camera (a tilt
of a few degrees shifts inclinations by the same few degrees).

Angles are in degrees. NaN coordinates (no pose) give NaN results, never an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.landmarks import PoseLandmark

FloatArray = npt.NDArray[np.floating[Any]]

#: The body's own (right, up, forward) unit axes, each (..., 3); see ``body_axes``.
Axes = tuple[FloatArray, FloatArray, FloatArray]

_L = PoseLandmark
_EPS = 1e-9


def _at(points: FloatArray, landmark: PoseLandmark) -> FloatArray:
    return np.asarray(points[..., int(landmark), :], np.float64)


def _midpoint(points: FloatArray, a: PoseLandmark, b: PoseLandmark) -> FloatArray:
    return 0.5 * (_at(points, a) + _at(points, b))


def _norm(v: FloatArray) -> FloatArray:
    return np.sqrt(np.sum(v * v, axis=-1))


def _cross(u: FloatArray, v: FloatArray) -> FloatArray:
    """Cross product of (..., 3) vectors (``np.cross`` costs ~20 us per call on one vector)."""
    ux, uy, uz = u[..., 0], u[..., 1], u[..., 2]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    return np.stack((uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx), axis=-1)


def _angle_between(u: FloatArray, v: FloatArray) -> FloatArray:
    cos = np.sum(u * v, axis=-1) / np.maximum(_norm(u) * _norm(v), _EPS)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _elevation(v: FloatArray) -> FloatArray:
    """Angle of the vectors ``v`` (..., 3) above the horizontal plane, degrees in [-90, 90]."""
    return np.degrees(np.arctan2(-v[..., 1], np.hypot(v[..., 0], v[..., 2])))


def joint_angle(points: FloatArray, a: PoseLandmark, b: PoseLandmark, c: PoseLandmark) -> FloatArray:
    """Angle at landmark ``b`` between the segments to ``a`` and to ``c``.

    Args:
        points: (..., 33, 3) world landmarks in metres.
        a, b, c: e.g. ``LEFT_HIP, LEFT_KNEE, LEFT_ANKLE`` for the left knee.

    Returns:
        (...) degrees in [0, 180]: 180 is a straight limb.
    """
    vertex = _at(points, b)
    return _angle_between(_at(points, a) - vertex, _at(points, c) - vertex)


def joint_angles(
    points: FloatArray, triples: Sequence[tuple[PoseLandmark, PoseLandmark, PoseLandmark]]
) -> FloatArray:
    """Many ``joint_angle``s at once (one vectorised pass): (..., len(triples)) degrees."""
    idx = np.asarray(triples, dtype=np.intp).reshape(-1, 3)
    pts = np.asarray(points, np.float64)
    vertex = pts[..., idx[:, 1], :]
    return _angle_between(pts[..., idx[:, 0], :] - vertex, pts[..., idx[:, 2], :] - vertex)


def segment_elevations(points: FloatArray, pairs: Sequence[tuple[PoseLandmark, PoseLandmark]]) -> FloatArray:
    """Many ``segment_elevation``s at once: (..., len(pairs)) degrees."""
    idx = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    pts = np.asarray(points, np.float64)
    return _elevation(pts[..., idx[:, 1], :] - pts[..., idx[:, 0], :])


def segment_elevation(points: FloatArray, start: PoseLandmark, end: PoseLandmark) -> FloatArray:
    """Elevation of the segment ``start -> end`` above the horizontal, degrees in [-90, 90].

    For example ``segment_elevation(world, LEFT_HIP, LEFT_KNEE)`` is about -90 when standing and 0
    when the thigh is parallel to the floor (the squat's depth criterion).
    """
    return _elevation(_at(points, end) - _at(points, start))


def torso_inclination(points: FloatArray) -> FloatArray:
    """Elevation of the torso (hips' midpoint to shoulders' midpoint) above the horizontal.

    Returns:
        (...) degrees: about 90 standing or sitting upright, about 0 lying or in a plank, negative
        when the shoulders are lower than the hips.
    """
    hips = _midpoint(points, _L.LEFT_HIP, _L.RIGHT_HIP)
    shoulders = _midpoint(points, _L.LEFT_SHOULDER, _L.RIGHT_SHOULDER)
    return _elevation(shoulders - hips)


def body_axes(points: FloatArray) -> Axes:
    """The body's own unit axes: (right, up, forward), each (..., 3).

    ``right`` points from the left to the right shoulder and hip, ``up`` from the hips' midpoint
    to the shoulders' midpoint, ``forward`` out of the chest. They do not depend on where the
    camera is, and mirroring a pose (left and right swapped, x negated) mirrors them too.
    """
    right = (_at(points, _L.RIGHT_SHOULDER) - _at(points, _L.LEFT_SHOULDER)) + (
        _at(points, _L.RIGHT_HIP) - _at(points, _L.LEFT_HIP)
    )
    up = _midpoint(points, _L.LEFT_SHOULDER, _L.RIGHT_SHOULDER) - _midpoint(points, _L.LEFT_HIP, _L.RIGHT_HIP)
    forward = _cross(up, right)
    side = _cross(forward, up)  # ``right``, orthogonalised
    return (
        side / (_norm(side)[..., None] + _EPS),
        up / (_norm(up)[..., None] + _EPS),
        forward / (_norm(forward)[..., None] + _EPS),
    )


def chest_elevation(points: FloatArray, axes: Axes | None = None) -> FloatArray:
    """Elevation of the direction the chest faces (the body's forward axis) above the horizontal.

    Args:
        points: (..., 33, 3) world landmarks.
        axes: ``body_axes(points)`` if already computed (this and the next functions accept it
            to save work when several are needed for one pose).

    Returns:
        (...) degrees: about 90 lying on the back, -90 face down (plank, push-up), about 0 upright
        (negative when bending forward).
    """
    _, _, forward = axes if axes is not None else body_axes(points)
    return _elevation(forward)


def arm_length(
    points: FloatArray, shoulder: PoseLandmark, elbow: PoseLandmark, wrist: PoseLandmark
) -> FloatArray:
    """Upper arm plus forearm length in metres, (...)."""
    return _norm(_at(points, elbow) - _at(points, shoulder)) + _norm(_at(points, wrist) - _at(points, elbow))


def wrist_height(
    points: FloatArray, shoulder: PoseLandmark, elbow: PoseLandmark, wrist: PoseLandmark
) -> FloatArray:
    """Height of the wrist above its shoulder, as a fraction of the arm's length.

    Returns:
        (...) about -1 with the arm hanging, 0 at shoulder height, 1 straight overhead.
    """
    rise = _at(points, shoulder)[..., 1] - _at(points, wrist)[..., 1]
    return rise / (arm_length(points, shoulder, elbow, wrist) + _EPS)


def arm_forwardness(
    points: FloatArray, shoulder: PoseLandmark, elbow: PoseLandmark, axes: Axes | None = None
) -> FloatArray:
    """Share of the upper arm's direction that points forward rather than sideways.

    Returns:
        (...) in [0, 1]: 1 for an arm raised straight in front (front raise), 0 for an arm raised
        straight to the side (jumping jack, lateral raise); ``|f| / (|f| + |s|)`` of the upper arm's
        forward and sideways components in the body's own axes.
    """
    right, _, forward = axes if axes is not None else body_axes(points)
    arm = _at(points, elbow) - _at(points, shoulder)
    f = np.abs(np.sum(arm * forward, axis=-1))
    s = np.abs(np.sum(arm * right, axis=-1))
    return f / (f + s + _EPS)


def hip_width(points: FloatArray) -> FloatArray:
    """Distance between the hips in metres, (...)."""
    return _norm(_at(points, _L.RIGHT_HIP) - _at(points, _L.LEFT_HIP))


_LEGS = (
    (_L.LEFT_HIP, _L.LEFT_KNEE, _L.LEFT_ANKLE),
    (_L.RIGHT_HIP, _L.RIGHT_KNEE, _L.RIGHT_ANKLE),
)


def leg_length(points: FloatArray) -> FloatArray:
    """Mean hip-knee-ankle length of the two legs in metres, (...)."""
    lengths = [
        _norm(_at(points, knee) - _at(points, hip)) + _norm(_at(points, ankle) - _at(points, knee))
        for hip, knee, ankle in _LEGS
    ]
    return (lengths[0] + lengths[1]) / 2.0


def feet_spread(points: FloatArray, axes: Axes | None = None) -> tuple[FloatArray, FloatArray]:
    """Distance between the ankles along the body's sideways and forward axes, in leg lengths.

    Returns:
        (sideways, forward), each (...) >= 0: about (0.2, 0) standing, sideways grows in a
        jumping jack or side lunge, forward grows in a (walking) lunge's split stance.
    """
    right, _, forward = axes if axes is not None else body_axes(points)
    gap = _at(points, _L.RIGHT_ANKLE) - _at(points, _L.LEFT_ANKLE)
    legs = leg_length(points) + _EPS
    return np.abs(np.sum(gap * right, axis=-1)) / legs, np.abs(np.sum(gap * forward, axis=-1)) / legs
