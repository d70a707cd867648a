"""The supported exercises, as data: what each one measures and what counts as a repetition.

An exercise follows one *signal*, a joint angle or a segment's elevation in degrees measured on
the world landmarks (see ``edge.reps.geometry``), on the left side, the right side, both (the
visible sides averaged) or each side separately (alternating movements, one rep per side).

A repetition leaves the *start position*, passes its *turning point* and comes back:

* ``start_limit``: the counter starts following a set when the signal is on the start side of
  this value (a squat starts standing, knee angle >= 140). A stream that opens at the turning
  point instead counts its way back only if the body is seen there a moment
  (``Tuning.count_from_turn``), as a human counter would.
* ``turn_limit`` and ``min_rom``: a rep counts only if it passes ``turn_limit`` (the depth that
  makes it a rep: knee angle <= 110) and moves at least ``min_rom`` degrees from where it started.
  One that moved at least three quarters of ``min_rom`` but missed either is reported as partial
  and not counted.
* ``turn`` says whether the turning point is a minimum (squat: the knee closes) or a maximum
  (shoulder press: the elbow opens) of the signal.
* ``planted``: for an exercise done on planted hands or feet, the limb whose end bears the
  weight. A cycle during which that end moved in the image by more than the limb's own image
  length (``PLANTED_TRAVEL``) was not this exercise and is not counted: on the labelled push-up
  clips the hands move 0.02-0.77 arm lengths during a push-up, against 1.0-2.5 when someone
  walks up to the camera at the end of a set with the elbows bent and the chest leaning forward
  (the posture of an incline push-up) or jumps up in a burpee.

The tolerances shared by all exercises (how close to the start counts as back, smoothing, tracking
loss, visibility) live in ``edge.reps.counter.Tuning``. Adding an exercise is adding an entry here
and a test; ``validate_spec`` checks the entry's consistency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from edge.landmarks import PoseLandmark

_L = PoseLandmark

Sides = Literal["both", "left", "right", "each"]
Turn = Literal["min", "max"]
Half = Literal["eccentric", "concentric"]


@dataclass(frozen=True)
class Signal:
    """One scalar measured on one side of the body, in degrees.

    Attributes:
        name: what it is, e.g. ``"knee_angle"``; reported in rep events as ``angle_name``.
        kind: ``"joint_angle"``: the angle at ``landmarks[1]`` between ``landmarks[0]`` and
            ``landmarks[2]`` (0..180, 180 straight); ``"elevation"``: the elevation of the segment
            ``landmarks[0] -> landmarks[1]`` above the horizontal (-90..90).
        landmarks: the LEFT side's landmarks; the right side uses their mirror twins.
    """

    name: str
    kind: Literal["joint_angle", "elevation"]
    landmarks: tuple[PoseLandmark, ...]


@dataclass(frozen=True)
class Posture:
    """The body positions an exercise is done in; frames outside them are not counted on.

    Attributes:
        torso: allowed (low, high) elevation of the torso above the horizontal, degrees
            (``geometry.torso_inclination``: 90 upright, 0 lying).
        chest: allowed (low, high) elevation of the direction the chest faces, degrees
            (``geometry.chest_elevation``: 90 lying on the back, -90 face down, 0 upright).
    """

    torso: tuple[float, float] = (-90.0, 90.0)
    chest: tuple[float, float] = (-90.0, 90.0)


#: A planted hand or foot moves less than this many lengths of its limb during a rep, in the image.
PLANTED_TRAVEL = 1.0

#: Standing, sitting or kneeling upright, a forward lean included (a deep squat leans to ~40 degrees).
UPRIGHT = Posture(torso=(30.0, 90.0))
#: Chest towards the floor, as in a plank (an incline push-up's chest faces ~35 degrees down).
PRONE = Posture(chest=(-90.0, -20.0))
#: Back towards the floor, up to sitting upright; the torso is not below the horizontal (the model
#: reads a torso steeply head-down when it does not make sense of a lying body).
SUPINE = Posture(torso=(-30.0, 90.0), chest=(-20.0, 90.0))


@dataclass(frozen=True)
class ExerciseSpec:
    """Everything the counter needs to know about one exercise.

    Attributes:
        name: the exercise's name, as users type it.
        summary: one line for help texts.
        signal: what is measured.
        sides: ``"both"`` (visible sides averaged, one count per rep of the body), ``"left"``,
            ``"right"``, or ``"each"`` (each side counted on its own, for alternating movements).
        posture: the body positions the exercise is done in (frames outside are not counted on,
            so squatting down into a push-up position does not finish a squat).
        turn: ``"min"`` if the signal decreases from the start to the turning point, else ``"max"``.
        start_limit: degrees; a set starts only on the start side of this value.
        turn_limit: degrees; a complete rep reaches beyond this value.
        min_rom: degrees; a complete rep moves at least this far from its start.
        phases: names of the (start position, turning point) phases, e.g. ``("up", "down")``.
        first_half: whether the way from the start to the turning point is the ``"eccentric"``
            (lowering: squat, push-up) or ``"concentric"`` (lifting: curl, press) half.
        depth: optional (segment start, segment end, elevation limit in degrees): the rep is
            flagged ``above_parallel`` when, at the turning point, that segment's elevation is
            still below the limit (the squat's thigh did not reach parallel to the floor).
        asymmetry_limit: optional degrees; with both sides visible, a rep whose left and right
            ranges of motion differ by more is flagged ``asymmetric``.
        aliases: other names accepted for this exercise.
        planted: optional (root, joint, end) of the LEFT limb whose end stays planted during a
            rep (push-up: shoulder, elbow, wrist); see the module docstring.
    """

    name: str
    summary: str
    signal: Signal
    sides: Sides
    posture: Posture
    turn: Turn
    start_limit: float
    turn_limit: float
    min_rom: float
    phases: tuple[str, str] = ("up", "down")
    first_half: Half = "eccentric"
    depth: tuple[PoseLandmark, PoseLandmark, float] | None = None
    asymmetry_limit: float | None = None
    aliases: tuple[str, ...] = ()
    planted: tuple[PoseLandmark, PoseLandmark, PoseLandmark] | None = None


KNEE = Signal("knee_angle", "joint_angle", (_L.LEFT_HIP, _L.LEFT_KNEE, _L.LEFT_ANKLE))
ELBOW = Signal("elbow_angle", "joint_angle", (_L.LEFT_SHOULDER, _L.LEFT_ELBOW, _L.LEFT_WRIST))
SHOULDER = Signal("shoulder_angle", "joint_angle", (_L.LEFT_HIP, _L.LEFT_SHOULDER, _L.LEFT_ELBOW))
TORSO = Signal("torso_elevation", "elevation", (_L.LEFT_HIP, _L.LEFT_SHOULDER))

#: A thigh at or above -10 degrees of elevation is parallel to the floor (hip at knee height).
_THIGH_PARALLEL = (_L.LEFT_HIP, _L.LEFT_KNEE, -10.0)


def _curl(name: str, sides: Sides, summary: str) -> ExerciseSpec:
    return ExerciseSpec(
        name, summary, ELBOW, sides, UPRIGHT, "min", start_limit=120.0, turn_limit=95.0, min_rom=45.0,
        phases=("down", "up"), first_half="concentric", asymmetry_limit=30.0 if sides == "both" else None,
    )  # fmt: skip


# Limits are degrees of the world-landmark angle. BlazePose's 3-D angles read a fully bent joint
# some 20 degrees more open than it is (a push-up's bottom reads 85-120, a curl's top 55-80), so
# the turning limits sit above the textbook joint angles.
_SPECS: tuple[ExerciseSpec, ...] = (
    ExerciseSpec(
        "squat", "squat: knees bend to about parallel and straighten",
        KNEE, "both", UPRIGHT, "min", start_limit=140.0, turn_limit=110.0, min_rom=40.0,
        depth=_THIGH_PARALLEL,
    ),
    ExerciseSpec(
        "lunge", "forward, reverse or walking lunge: both knees bend in a split stance",
        KNEE, "both", UPRIGHT, "min", start_limit=130.0, turn_limit=105.0, min_rom=35.0,
        aliases=("walking_lunge", "forward_lunge"),
    ),
    ExerciseSpec(
        "side_lunge", "side lunge: one knee bends at a time, counted per side",
        KNEE, "each", UPRIGHT, "min", start_limit=140.0, turn_limit=115.0, min_rom=35.0,
    ),
    ExerciseSpec(
        "pushup", "push-up (also incline and knee push-ups): elbows bend and straighten",
        ELBOW, "both", PRONE, "min", start_limit=130.0, turn_limit=125.0, min_rom=30.0,
        asymmetry_limit=30.0, aliases=("push_up",), planted=(_L.LEFT_SHOULDER, _L.LEFT_ELBOW, _L.LEFT_WRIST),
    ),
    _curl("bicep_curl", "both", "bicep curl with both arms together"),
    _curl("bicep_curl_left", "left", "bicep curl, left arm only"),
    _curl("bicep_curl_right", "right", "bicep curl, right arm only"),
    _curl("bicep_curl_alternating", "each", "alternating bicep curls: each arm's curl counts"),
    ExerciseSpec(
        "shoulder_press", "overhead press: elbows straighten with the hands above the head",
        ELBOW, "both", UPRIGHT, "max", start_limit=110.0, turn_limit=135.0, min_rom=40.0,
        phases=("down", "up"), first_half="concentric", asymmetry_limit=30.0,
    ),
    ExerciseSpec(
        "situp", "sit-up or crunch: the torso lifts off the floor",
        TORSO, "both", SUPINE, "max", start_limit=25.0, turn_limit=5.0, min_rom=6.0,
        phases=("down", "up"), first_half="concentric", aliases=("crunch",),
    ),
    ExerciseSpec(
        "jumping_jack", "jumping jack: arms swing up sideways and back down",
        SHOULDER, "both", UPRIGHT, "max", start_limit=60.0, turn_limit=80.0, min_rom=45.0,
        phases=("closed", "open"), first_half="concentric",
    ),
    ExerciseSpec(
        "front_raise", "front raise: straight arms lift forward to shoulder height",
        SHOULDER, "both", UPRIGHT, "max", start_limit=45.0, turn_limit=70.0, min_rom=40.0,
        phases=("down", "up"), first_half="concentric", asymmetry_limit=30.0,
    ),
)  # fmt: skip


def validate_spec(spec: ExerciseSpec) -> list[str]:
    """Return the problems of one exercise entry (empty when it is consistent)."""
    problems: list[str] = []
    where = f"exercise {spec.name!r}"
    if not spec.name.isidentifier() or spec.name != spec.name.lower():
        problems.append(f"{where}: name must be a lower-case identifier")
    wanted = 3 if spec.signal.kind == "joint_angle" else 2
    if len(spec.signal.landmarks) != wanted:
        problems.append(f"{where}: a {spec.signal.kind} signal needs {wanted} landmarks")
    if any(not lm.name.startswith("LEFT_") for lm in spec.signal.landmarks):
        problems.append(f"{where}: signal landmarks must be the LEFT side's (the right side is mirrored)")
    low, high = (0.0, 180.0) if spec.signal.kind == "joint_angle" else (-90.0, 90.0)
    for label, value in (("start_limit", spec.start_limit), ("turn_limit", spec.turn_limit)):
        if not low <= value <= high:
            problems.append(f"{where}: {label}={value} outside the signal's range {low}..{high}")
    if not 0.0 < spec.min_rom <= high - low:
        problems.append(f"{where}: min_rom must be positive degrees")
    # A rep from the start limit must be able to reach the turning region within the range.
    if spec.turn == "min" and min(spec.start_limit - spec.min_rom, spec.turn_limit) < low:
        problems.append(f"{where}: no rep can start at start_limit, move min_rom down and pass turn_limit")
    if spec.turn == "max" and max(spec.start_limit + spec.min_rom, spec.turn_limit) > high:
        problems.append(f"{where}: no rep can start at start_limit, move min_rom up and pass turn_limit")
    if len(set(spec.phases)) != 2 or "idle" in spec.phases:
        problems.append(f"{where}: phases must be two distinct names other than 'idle'")
    if spec.asymmetry_limit is not None and spec.sides != "both":
        problems.append(f"{where}: asymmetry needs both sides")
    for label, (lo, hi) in (("posture.torso", spec.posture.torso), ("posture.chest", spec.posture.chest)):
        if not -90.0 <= lo < hi <= 90.0:
            problems.append(f"{where}: {label} must be (low, high) within -90..90 degrees")
    if spec.depth is not None and not spec.depth[0].name.startswith("LEFT_"):
        problems.append(f"{where}: depth segment must be given by the LEFT side's landmarks")
    if spec.planted is not None and (
        len(spec.planted) != 3 or any(not lm.name.startswith("LEFT_") for lm in spec.planted)
    ):
        problems.append(f"{where}: planted must be three LEFT landmarks (root, joint, end)")
    return problems


def _registry(specs: tuple[ExerciseSpec, ...]) -> Mapping[str, ExerciseSpec]:
    table: dict[str, ExerciseSpec] = {}
    for spec in specs:
        for name in (spec.name, *spec.aliases):
            if name in table or name == "auto":
                raise ValueError(f"exercise name {name!r} is defined twice")
            table[name] = spec
    return MappingProxyType(table)


#: Every exercise by name, aliases included (``crunch`` is ``situp``). Read-only.
EXERCISES: Mapping[str, ExerciseSpec] = _registry(_SPECS)

#: The exercises ``auto`` chooses from (one per movement; the single-side curls are left out).
AUTO_CANDIDATES: tuple[str, ...] = (
    "squat", "lunge", "side_lunge", "pushup", "bicep_curl",
    "shoulder_press", "situp", "jumping_jack", "front_raise",
)  # fmt: skip


def exercise_names() -> list[str]:
    """All accepted exercise names, sorted, ``"auto"`` included (for help texts and errors)."""
    return sorted([*EXERCISES, "auto"])
