"""Which exercise is being done: principled rules over the pose sequence of one repetition.

``auto`` runs one ``ExerciseTracker`` per candidate exercise in parallel; each reports the cycles
its own signal makes. A knee angle cycles in squats and lunges alike, an elbow angle in push-ups,
curls and presses, so a candidate's rep is accepted only if the body, over that rep's time span,
moved the way that exercise moves. ``classify`` answers that from a few physical features; no
model is fit to clips, and every threshold is a named constant with its physical meaning:

1. Body orientation first. Chest facing up at some point (lying on the back): the ``supine``
   family (``situp``). Chest facing the floor throughout (plank): ``prone`` (``pushup``).
2. Upright (torso at least ``UPRIGHT_TORSO`` above the horizontal): which part of the body does
   the work. Each family's range of motion is divided by that of a typical rep (``TYPICAL_ROM``).
   The legs win when they bend at least ``MIN_SHARE`` of a squat and the arms do not move more
   than ``LEG_PRIORITY`` times as much (a squatting person's arms may hold a bar, reach forward for balance or
   press a landmine; their legs are what works). Otherwise arms swinging at the shoulder with
   the feet jumping apart, or with straight elbows (``arms``: the elbow angle stays within
   ``STRAIGHT_ARM_ROM``), or bending elbows (``elbows``).
3. Within a family, the shape of the movement: ``side_lunge`` when at the bottom one knee is
   bent far more than the other, ``lunge`` when the feet are split front-to-back, else
   ``squat``; ``shoulder_press`` when the hands rise above the shoulders by ``PRESS_WRIST`` arm
   lengths or the upper arms are held raised (``PRESS_UPPER_ARM``), else ``bicep_curl``; arms
   swinging while the feet jump apart are a ``jumping_jack`` (bent elbows included), straight
   arms rising forward a ``front_raise``, straight arms rising sideways with the feet seen still
   a lateral raise (not supported). When the deciding body
   part is not seen, the verdict is the family's default member, marked uncertain (a squat
   unless split feet are seen), and the counter keeps the exercise of that family it follows.

Features use only body parts whose every landmark the model sees (visibility at least the
counter's floor): telling exercises apart needs firmer evidence than counting a known one, and a
leg out of view then reads as "not seen", not as the model's guess (a curl filmed from the thighs
up would otherwise show the guessed knees swinging).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from edge.landmarks import PoseLandmark
from edge.reps import geometry
from edge.reps.exercises import EXERCISES, UPRIGHT
from edge.reps.signals import Measures

_L = PoseLandmark

#: Per-frame features, in this order (degrees unless noted).
FEATURES: tuple[str, ...] = (
    "knee",  # knee angle of the more bent visible leg
    "knee_gap",  # difference between the two knee angles, both legs seen
    "elbow",  # elbow angle, visible arms averaged
    "shoulder",  # shoulder angle (hip-shoulder-elbow), visible arms averaged
    "torso",  # torso elevation above the horizontal
    "chest",  # elevation of the direction the chest faces
    "wrist",  # highest visible wrist above its shoulder, arm lengths
    "forward",  # upper arms' forward share (0 sideways .. 1 forward), visible arms averaged
    "feet_side",  # ankles' sideways distance, leg lengths
    "feet_forward",  # ankles' front-to-back distance, leg lengths
)
_IDX = {name: i for i, name in enumerate(FEATURES)}

#: Range of motion of a typical repetition of each movement family, degrees.
TYPICAL_ROM = {"legs": 90.0, "elbows": 80.0, "arms": 90.0}
#: A family whose range is below this share of its typical range did not move (legs: 45 degrees).
MIN_SHARE = 0.5
#: The legs' share counts this many times the arms' when both move (a squat with busy arms).
LEG_PRIORITY = 2.0
#: Upright: torso at least this far above the horizontal, degrees (a deep squat leans to ~45, an
#: incline bench reclines to ~35); the counter's ``UPRIGHT`` posture.
UPRIGHT_TORSO = UPRIGHT.torso[0]
#: Supine: at some point (for two frames) the chest faces at least this far up, degrees...
SUPINE_CHEST = 45.0
#: ...and the torso lies at most this far above the horizontal (for two frames), degrees: the
#: sit-up's start position (an incline bench reclines the chest as far, the torso stays at 30-45).
LYING_TORSO = EXERCISES["situp"].start_limit
#: Prone: even at its highest (90th percentile) the chest faces at least this far down, degrees.
PRONE_CHEST = -25.0
#: Split stance: feet this far apart front-to-back at the bottom of a rep, in leg lengths.
SPLIT_STANCE = 0.45
#: Side lunge: at the bottom one knee is bent this much more than the other, degrees.
SIDE_LUNGE_GAP = 45.0
#: Press: hands at least this high above the shoulders (90th percentile), in arm lengths.
PRESS_WRIST = 0.5
#: Press: or the upper arms raised at least this far from the torso (median shoulder angle),
#: degrees. Curls keep them down by the body (medians 21-32 degrees over the curl clips, normal and
#: mirrored pipeline poses), presses hold them at or above the horizontal (medians 96-139).
PRESS_UPPER_ARM = 60.0
#: Arms kept straight: the elbow angle moves by at most this, degrees (a press moves it 40+).
STRAIGHT_ARM_ROM = 30.0
#: Raised forward rather than sideways: forward share of the upper arm at least this.
FORWARD_RAISE = 0.5
#: A jumping jack's feet jump apart by at least this, leg lengths.
JUMP_APART = 0.4

#: The family each candidate exercise belongs to.
FAMILY = {
    "situp": "supine",
    "pushup": "prone",
    "squat": "legs",
    "lunge": "legs",
    "side_lunge": "legs",
    "bicep_curl": "elbows",
    "shoulder_press": "elbows",
    "jumping_jack": "arms",
    "front_raise": "arms",
}

_LEG = {
    "left": (_L.LEFT_HIP, _L.LEFT_KNEE, _L.LEFT_ANKLE),
    "right": (_L.RIGHT_HIP, _L.RIGHT_KNEE, _L.RIGHT_ANKLE),
}
_FEET = (_L.LEFT_ANKLE, _L.RIGHT_ANKLE, _L.LEFT_KNEE, _L.RIGHT_KNEE)
_ARM = {
    "left": (_L.LEFT_SHOULDER, _L.LEFT_ELBOW, _L.LEFT_WRIST, _L.LEFT_HIP),
    "right": (_L.RIGHT_SHOULDER, _L.RIGHT_ELBOW, _L.RIGHT_WRIST, _L.RIGHT_HIP),
}


def frame_features(m: Measures) -> np.ndarray:
    """The features of one frame: (len(FEATURES),) float64, NaN where the body part is not seen.

    A body part counts as seen only if every one of its landmarks reaches the visibility floor.
    """
    out = np.full(len(FEATURES), np.nan)
    if not m.valid:
        return out
    floor = m.visibility_floor
    knees = [m.value("joint_angle", lms) for lms in _LEG.values() if np.min(m.visibilities(lms)) >= floor]
    if knees:
        out[_IDX["knee"]] = min(knees)
    if len(knees) == 2:
        out[_IDX["knee_gap"]] = abs(knees[0] - knees[1])
    world = m.world
    assert world is not None
    elbows, shoulders, wrists, forwards = [], [], [], []
    for shoulder, elbow, wrist, hip in _ARM.values():
        if np.min(m.visibilities((shoulder, elbow, wrist))) < floor:
            continue
        elbows.append(m.value("joint_angle", (shoulder, elbow, wrist)))
        shoulders.append(m.value("joint_angle", (hip, shoulder, elbow)))
        wrists.append(float(geometry.wrist_height(world, shoulder, elbow, wrist)))
        forwards.append(float(geometry.arm_forwardness(world, shoulder, elbow, m.axes)))
    if elbows:
        out[_IDX["elbow"]] = sum(elbows) / len(elbows)
        out[_IDX["shoulder"]] = sum(shoulders) / len(shoulders)
        out[_IDX["wrist"]] = max(wrists)
        out[_IDX["forward"]] = sum(forwards) / len(forwards)
    out[_IDX["torso"]] = m.torso
    out[_IDX["chest"]] = m.chest
    if np.min(m.visibilities(_FEET)) >= floor:
        side, front = geometry.feet_spread(world, m.axes)
        out[_IDX["feet_side"]], out[_IDX["feet_forward"]] = float(side), float(front)
    return out


@dataclass(frozen=True)
class Summary:
    """What a stretch of frames (one repetition) looked like; degrees unless noted.

    Attributes:
        shares: range of motion of the legs (knee angle), elbows (elbow angle) and arms (shoulder
            angle) over a typical rep's (``TYPICAL_ROM``).
        torso: median torso elevation.
        torso_low: lowest torso elevation held for two frames in a row.
        chest_high: 90th percentile of the chest's elevation (highest, most of the time).
        chest_top: highest chest elevation held for two frames in a row.
        wrist_top: 90th percentile of the highest wrist's height above its shoulder, arm lengths.
        shoulder_mid: median shoulder angle (hip-shoulder-elbow), visible arms averaged.
        forward_raised: median forward share of the upper arms while raised (shoulder angle > 45).
        feet_side_rom: range of the feet's sideways distance, leg lengths (NaN if unseen).
        feet_forward_bottom: median front-to-back distance of the feet at the bottom of the
            legs' movement (knee angle in its deepest third), leg lengths; NaN if unseen there.
        knee_gap_bottom: median difference between the knee angles there, degrees.
    """

    shares: dict[str, float]
    torso: float
    torso_low: float
    chest_high: float
    chest_top: float
    wrist_top: float
    shoulder_mid: float
    forward_raised: float
    feet_side_rom: float
    feet_forward_bottom: float
    knee_gap_bottom: float


def _rom(values: np.ndarray) -> float:
    """Range (5th to 95th percentile) of the finite values, NaN with fewer than two."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return math.nan
    lo, hi = np.percentile(values, [5, 95])
    return float(hi - lo)


def _extremes(values: np.ndarray) -> tuple[float, float]:
    """Lowest and highest value held for at least two frames in a row (single-frame spikes aside)."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return math.nan, math.nan
    held = np.sort(np.stack((values[:-1], values[1:])), axis=0)  # pairs of consecutive frames
    return float(held[1].min()), float(held[0].max())


def _pct(values: np.ndarray, q: float) -> float:
    values = values[np.isfinite(values)]
    return float(np.percentile(values, q)) if values.size else math.nan


def summarize(rows: np.ndarray) -> Summary:
    """Summarise (N, len(FEATURES)) per-frame features of one repetition."""
    col = {name: rows[:, i] for name, i in _IDX.items()}
    shares = {  # a body part not seen did not (visibly) move
        "legs": np.nan_to_num(_rom(col["knee"])) / TYPICAL_ROM["legs"],
        "elbows": np.nan_to_num(_rom(col["elbow"])) / TYPICAL_ROM["elbows"],
        "arms": np.nan_to_num(_rom(col["shoulder"])) / TYPICAL_ROM["arms"],
    }
    raised = col["forward"][np.nan_to_num(col["shoulder"]) > 45.0]
    knee = col["knee"]
    bottom = np.zeros(len(knee), bool)
    if np.isfinite(knee).sum() >= 2:
        lo, hi = np.nanmin(knee), np.nanmax(knee)
        bottom = np.nan_to_num(knee, nan=np.inf) <= lo + (hi - lo) / 3.0
    return Summary(
        shares=shares,
        torso=_pct(col["torso"], 50),
        torso_low=_extremes(col["torso"])[0],
        chest_high=_pct(col["chest"], 90),
        chest_top=_extremes(col["chest"])[1],
        wrist_top=_pct(col["wrist"], 90),
        shoulder_mid=_pct(col["shoulder"], 50),
        forward_raised=_pct(raised, 50),
        feet_side_rom=_rom(col["feet_side"]),
        feet_forward_bottom=_pct(col["feet_forward"][bottom], 50),
        knee_gap_bottom=_pct(col["knee_gap"][bottom], 50),
    )


@dataclass(frozen=True)
class Verdict:
    """``classify``'s answer.

    Attributes:
        family: the movement family (``FAMILY``'s values), None for no supported movement.
        exercise: the exercise it looks like, None with no family.
        certain: False when the body part that tells the family's members apart was not seen
            and ``exercise`` is the family's default (``squat`` when the feet are out of view).
    """

    family: str | None
    exercise: str | None
    certain: bool = True


_NONE = Verdict(None, None)


def classify(s: Summary) -> Verdict:
    """Which exercise a repetition's summary looks like; see the module docstring for the rules."""
    if s.chest_top >= SUPINE_CHEST and s.torso_low <= LYING_TORSO:
        return Verdict("supine", "situp")
    if s.chest_high <= PRONE_CHEST:
        return Verdict("prone", "pushup")
    if not s.torso >= UPRIGHT_TORSO:
        return _NONE
    legs, elbows, arms = s.shares["legs"], s.shares["elbows"], s.shares["arms"]
    if legs >= MIN_SHARE and LEG_PRIORITY * legs >= max(elbows, arms):
        if s.knee_gap_bottom >= SIDE_LUNGE_GAP:
            return Verdict("legs", "side_lunge")
        if math.isnan(s.feet_forward_bottom):
            return Verdict("legs", "squat", certain=False)
        return Verdict("legs", "lunge" if s.feet_forward_bottom >= SPLIT_STANCE else "squat")
    arms_swing = arms >= MIN_SHARE
    if arms_swing and s.feet_side_rom >= JUMP_APART:
        return Verdict("arms", "jumping_jack")
    if arms_swing and elbows * TYPICAL_ROM["elbows"] <= STRAIGHT_ARM_ROM:
        feet_seen = not math.isnan(s.feet_side_rom)
        if not s.forward_raised < FORWARD_RAISE:  # forward, or not seen
            return Verdict("arms", "front_raise", certain=not math.isnan(s.forward_raised))
        # Straight arms raised sideways: a jumping jack if the feet are out of view; with the
        # feet seen standing still, a lateral raise (not supported).
        return _NONE if feet_seen else Verdict("arms", "jumping_jack", certain=False)
    if elbows < MIN_SHARE:
        return _NONE
    pressing = s.wrist_top >= PRESS_WRIST or s.shoulder_mid >= PRESS_UPPER_ARM
    return Verdict("elbows", "shoulder_press" if pressing else "bicep_curl")


class FeatureHistory:
    """The recent per-frame features, to summarise any repetition's time span.

    Args:
        horizon_s: how many seconds to keep (at least the longest repetition).
    """

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self._times: deque[float] = deque()
        self._rows: deque[np.ndarray] = deque()

    def add(self, measures: Measures, t: float) -> None:
        """Record one frame."""
        row = frame_features(measures)
        self._times.append(t)
        self._rows.append(row)
        while self._times and t - self._times[0] > self.horizon_s:
            self._times.popleft()
            self._rows.popleft()

    def clear(self) -> None:
        self._times.clear()
        self._rows.clear()

    def summary(self, start: float, end: float) -> Summary | None:
        """Summary of the frames in [start, end] seconds, or None without frames there."""
        rows = [
            row for t, row in zip(self._times, self._rows, strict=True) if start - 1e-6 <= t <= end + 1e-6
        ]
        if not rows:
            return None
        return summarize(np.asarray(rows))
