"""Elbow bend read from where the arm ends, with the arm's usual segment lengths.

BlazePose's world landmarks do not keep a limb's segments at a constant length: across the
labelled clips the model's arm (shoulder-elbow-wrist) measures 0.56 to 1.37 torso lengths, and
within one clip a bending arm shortens to 0.70-0.80 of its median length (5th percentile over the
push-up clips), while arms that stay straight (jumping jacks, front raises, jumping rope) keep
within 0.93-1.05 of it. Where the model is unsure of the elbow it may *shorten* the arm rather
than bend it: on ``pushup/joelo_pushup`` (side view, incline push-ups against a bar) the video
flipped left-right before pose estimation gives a world elbow angle that barely bends (5th-95th
percentile 128-155 degrees, against 98-151 on the original video; correlation between the two
videos 0.58) while the arm shrinks from 0.47 m to 0.27 m at the bottom of each push-up, and its
image landmarks put the elbow on the line from shoulder to wrist (image-plane angle 136-177, so
the 2-D angle is no way out). The distance from the shoulder to the wrist, the two ends of the
chain that the image pins down best (the hand on the bar, the shoulder on the torso), agrees
between the two videos (correlation 0.85).

So the elbow angle is computed by the law of cosines from the distance between the arm's ends and
the *usual* lengths of its two segments: each segment's median length over the last ``WINDOW_S``
seconds in which it was seen (visibility at least the floor), of which only shortening beyond
the model's noise counts: a segment is taken at its current length or at ``SHORTENING_TOLERANCE``
of its usual length, whichever is longer. An arm the model draws at about its usual size reads
exactly the world joint angle; a shortened one reads the bend its ends imply for segments at 85 %
of their length. The correction is partial and continuous (no jump where a segment crosses the
tolerance): a 90-degree bend drawn straight reads 113 degrees, a 70-degree one 85, and a mild
bend (120 degrees) drawn straight is not recovered. Taking the full usual length below the
tolerance (a continuous ramp from 85 % to 70 %) was measured too: it counted one push-up too
many on ``calimiro_test1_home``.

Elbow signal of the 20 labelled push-up, curl and press clips, pipeline poses of the original
against the flipped video (5th-95th percentile, correlation): ``joelo_pushup`` 98-151 /
128-155 deg, r 0.58 before; 83-151 / 100-155 deg, r 0.71 after; the other clips' correlations
change by -0.02 to +0.06 (median 0.96 both). The flipped joelo video then counts 12 push-ups
instead of 2 (``scripts/rep_accuracy.py``).

The median keeps the reference from following the shortening (a set spends about half its time
with the arms straight) and from single-frame outliers; a window of ``WINDOW_S`` seconds covers a
few repetitions and follows a person walking closer or a new person. Knees were measured the same
way and are left out: no knee count improved, and on ``lunge/quva_020`` (feet leaving the frame)
one more rep was lost.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edge.landmarks import PoseLandmark

_L = PoseLandmark

#: The chains whose bend is read from their ends (``(shoulder, elbow, wrist)``, both sides).
CHAINS: tuple[tuple[PoseLandmark, PoseLandmark, PoseLandmark], ...] = (
    (_L.LEFT_SHOULDER, _L.LEFT_ELBOW, _L.LEFT_WRIST),
    (_L.RIGHT_SHOULDER, _L.RIGHT_ELBOW, _L.RIGHT_WRIST),
)
#: Seconds of history the usual segment lengths are taken from.
WINDOW_S = 10.0
#: The usual lengths are recomputed at most this often, seconds (they change slowly).
REFRESH_S = 0.5
#: A segment counts as shortened only below this share of its usual length. Arms that stay
#: straight (jumping jacks, front raises, jumping rope, lunges) keep 0.93-0.96 of their median
#: length on four of six clips (5th percentile; 0.85 on the other two); bending arms in push-ups
#: shorten to 0.70-0.90 (median 0.78). Measured: 0.9 reads a walk-up to the camera with reaching
#: arms as a bend on ``calimiro_test1_home``, 0.8 gives ``joelo_pushup`` one push-up too many.
SHORTENING_TOLERANCE = 0.85
#: Samples kept per segment (``WINDOW_S`` at 64 fps; older samples age out by time).
_CAPACITY = 640

_IDX = np.asarray(CHAINS, dtype=np.intp)  # (chains, 3)


class LimbLengths:
    """The usual length of each chain segment over a pose stream; see the module docstring.

    Args:
        window_s: seconds of history.
        visibility_floor: a segment's length is recorded only when both its landmarks reach it.
    """

    def __init__(self, window_s: float = WINDOW_S, visibility_floor: float = 0.5) -> None:
        self.window_s = window_s
        self.visibility_floor = visibility_floor
        self._times = np.full(_CAPACITY, -np.inf)
        self._lengths = np.full((_CAPACITY, len(CHAINS), 2), np.nan)
        self._next = 0
        self._usual: npt.NDArray[np.float64] = np.full((len(CHAINS), 2), np.nan)
        self._refreshed = -math.inf

    def clear(self) -> None:
        """Forget the history (a new stream)."""
        self._times[:] = -np.inf
        self._lengths[:] = np.nan
        self._usual[:] = np.nan
        self._refreshed = -math.inf

    def observe(
        self, world: npt.NDArray[np.floating] | None, visibility: npt.NDArray[np.floating] | None, t: float
    ) -> None:
        """Record one frame's segment lengths and update the usual lengths.

        Args:
            world: (33, 3) world landmarks in metres, or None without a pose.
            visibility: (33,) landmark visibilities.
            t: timestamp, seconds.
        """
        if world is None or visibility is None:
            return
        seen = visibility[_IDX] >= self.visibility_floor  # (chains, 3)
        pts = np.asarray(world, np.float64)[_IDX]  # (chains, 3, 3)
        seg = np.sqrt(np.sum((pts[:, 1:] - pts[:, :-1]) ** 2, axis=-1))  # (chains, 2)
        seg[~(seen[:, 1:] & seen[:, :-1])] = np.nan
        slot = self._next % _CAPACITY
        self._next += 1
        self._times[slot] = t
        self._lengths[slot] = seg
        unknown = np.isnan(self._usual) & np.isfinite(seg)
        if t - self._refreshed >= REFRESH_S or t < self._refreshed or bool(unknown.any()):
            self._usual = _nanmedian(self._lengths[self._times >= t - self.window_s])
            self._refreshed = t

    @property
    def usual(self) -> npt.NDArray[np.float64]:
        """(len(CHAINS), 2) usual segment lengths in metres (NaN before a segment was seen)."""
        return self._usual

    def bend_angles(self, world: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """The bend of every chain in ``CHAINS`` for one pose: (len(CHAINS),) degrees in [0, 180].

        The angle at the joint of a triangle whose third side is the current distance between the
        chain's ends and whose other two are the segments' usual lengths (or their current ones
        where those are longer); the plain world joint angle where no usual length is known yet.
        """
        pts = np.asarray(world, np.float64)[_IDX]
        a = np.sqrt(np.sum((pts[:, 1] - pts[:, 0]) ** 2, axis=-1))
        b = np.sqrt(np.sum((pts[:, 2] - pts[:, 1]) ** 2, axis=-1))
        d = np.sqrt(np.sum((pts[:, 2] - pts[:, 0]) ** 2, axis=-1))
        usual = SHORTENING_TOLERANCE * self._usual
        a0 = np.fmax(a, usual[:, 0])  # fmax: NaN usual -> the current length
        b0 = np.fmax(b, usual[:, 1])
        cos = (a0 * a0 + b0 * b0 - d * d) / np.maximum(2.0 * a0 * b0, 1e-12)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _nanmedian(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Column medians ignoring NaN, (rows, ...) -> (...); NaN for a column without values.

    (``np.nanmedian`` costs about five times as much and warns on empty columns.)
    """
    ordered = np.sort(values, axis=0)  # NaN sorts last
    counts = np.sum(np.isfinite(values), axis=0)
    low = np.take_along_axis(ordered, np.maximum((counts - 1) // 2, 0)[None], axis=0)[0]
    high = np.take_along_axis(ordered, np.maximum(counts // 2, 0)[None], axis=0)[0] if len(values) else low
    return np.where(counts > 0, 0.5 * (low + high), math.nan)
