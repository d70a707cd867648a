"""``RepCounter``: its contract (errors, snapshot, events) and behaviour on synthetic pose streams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edge.errors import ConfigError
from edge.reps import RepCounter, RepEvent, exercise_names, recognizer

from .synthetic import _rot_x, cycle, make_pose, stream, world_pose

SQUATS = lambda t: world_pose(knee=cycle(70.0, 175.0, 2.0, t))  # noqa: E731
CURLS = lambda t: world_pose(elbow=cycle(45.0, 170.0, 2.0, t))  # noqa: E731


def feed(counter: RepCounter, frames) -> list[RepEvent]:  # type: ignore[no-untyped-def]
    events = []
    for pose, t in frames:
        event = counter.update(pose, t)
        if event is not None:
            events.append(event)
    return events


# -- contract ----------------------------------------------------------------------------------


def test_fail__unknown_exercise_is_one_line_listing_valid_names() -> None:
    """Prevents a traceback or an unhelpful message for a typo in the config."""
    with pytest.raises(ConfigError) as info:
        RepCounter("sqaut")
    message = str(info.value)
    assert "\n" not in message and "'sqaut'" in message
    assert all(name in message for name in exercise_names())


def test_fail__set_exercise_to_unknown_keeps_the_state() -> None:
    """Prevents a bad MQTT command from wiping the count."""
    counter = RepCounter("squat")
    feed(counter, stream(SQUATS, 4.2))
    with pytest.raises(ConfigError):
        counter.set_exercise("yoga")
    assert counter.exercise == "squat" and counter.count == 2


@pytest.mark.parametrize(
    ("tuning", "problem"), [({"visiblity_floor": 0.5}, "unknown"), ({"max_gap_s": "x"}, "number")]
)
def test_fail__bad_tuning_is_a_config_error(tuning: dict[str, object], problem: str) -> None:
    """Prevents a misspelt tuning key from being silently ignored."""
    with pytest.raises(ConfigError, match=problem):
        RepCounter("squat", **tuning)


def test_ok__snapshot_is_exactly_the_reps_object() -> None:
    """Prevents extra or missing keys in the per-frame ``reps`` object of the output contract."""
    assert RepCounter("squat").snapshot() == {"exercise": "squat", "count": 0, "phase": "idle"}
    assert RepCounter().snapshot() == {"exercise": None, "count": 0, "phase": "idle"}


def test_ok__event_json_has_the_contract_keys_and_rounding() -> None:
    """Prevents the MQTT ``rep`` payload from drifting from the contract."""
    event = RepEvent(
        3, "squat", "both", 1.23456, 3.0, 1.76544, 0.9, 0.86544, 61.26, 159.91, "knee_angle", ("x",)
    )
    data = event.to_json()
    assert list(data) == [
        "index", "exercise", "side", "start", "end", "duration", "concentric", "eccentric",
        "rom_min", "rom_max", "angle_name", "flags", "partial",
    ]  # fmt: skip
    assert data["start"] == 1.235 and data["eccentric"] == 0.865 and data["flags"] == ["x"]
    assert data["partial"] is False


def test_ok__reset_keeps_the_exercise_and_set_exercise_restarts() -> None:
    """Prevents ``reset`` from forgetting the exercise, or ``set_exercise`` from keeping the count."""
    counter = RepCounter("squat")
    feed(counter, stream(SQUATS, 4.2))
    counter.reset()
    assert counter.snapshot() == {"exercise": "squat", "count": 0, "phase": "idle"}
    feed(counter, stream(SQUATS, 4.2))
    counter.set_exercise("pushup")
    assert counter.snapshot() == {"exercise": "pushup", "count": 0, "phase": "idle"}


# -- counting on synthetic streams ------------------------------------------------------------------


def test_ok__squats_are_counted_with_sensible_events() -> None:
    """Prevents wrong indices, timings or ranges of motion in the per-rep events."""
    counter = RepCounter("squat")
    events = feed(counter, stream(SQUATS, 6.4))
    assert counter.count == 3 and [e.index for e in events] == [1, 2, 3]
    for e in events:
        assert not e.partial and e.exercise == "squat" and e.side == "both" and e.angle_name == "knee_angle"
        assert 1.0 < e.duration < 2.0
        assert e.concentric + e.eccentric == pytest.approx(e.duration)
        assert e.eccentric > 0.5  # going down: from the start to the bottom
        assert e.rom_min < 80 and e.rom_max > 165
    assert counter.phase == "up"


def test_ok__mirrored_stream_counts_the_same() -> None:
    """Prevents a camera-side bias: a mirrored video gives the same count and timings."""
    frames = stream(lambda t: world_pose(knees=(cycle(70, 175, 2, t), cycle(90, 175, 2, t))), 6.4)
    normal = feed(RepCounter("squat"), frames)
    flipped = feed(RepCounter("squat"), [(p.mirrored(), t) for p, t in frames])
    assert [(e.start, e.end) for e in normal] == [(e.start, e.end) for e in flipped]


def test_ok__invisible_side_is_not_used_and_the_other_is() -> None:
    """Prevents counting on the guessed, hidden side (side views) or not counting at all."""
    counter = RepCounter("squat")
    events = feed(counter, stream(SQUATS, 4.2, hidden=("LEFT_",)))
    assert counter.count == 2 and {e.side for e in events} == {"right"}


def test_ok__nothing_visible_counts_nothing() -> None:
    """Prevents counting on landmarks the model says it cannot see."""
    counter = RepCounter("squat")
    feed(counter, stream(SQUATS, 4.2, visibility=0.2))
    assert counter.snapshot() == {"exercise": "squat", "count": 0, "phase": "idle"}


def test_ok__brief_loss_of_the_pose_is_tolerated() -> None:
    """Prevents losing a rep when the detector drops a few frames at the bottom."""
    frames = [(None if 0.8 < t < 1.3 else p, t) for p, t in stream(SQUATS, 2.2)]
    counter = RepCounter("squat")
    feed(counter, frames)
    assert counter.count == 1


def test_ok__squat_motion_while_lying_is_not_a_squat() -> None:
    """Prevents leg movements on the floor from counting as squats (posture gate)."""
    counter = RepCounter("squat")
    feed(counter, stream(lambda t: world_pose(knee=cycle(70, 175, 2, t), body="supine"), 4.2))
    assert counter.count == 0


def test_ok__partial_rep_is_reported_not_counted() -> None:
    """Prevents quarter squats from counting, and from going unreported."""
    counter = RepCounter("squat")
    events = feed(counter, stream(lambda t: world_pose(knee=cycle(125.0, 175.0, 2.0, t)), 2.2))
    assert counter.count == 0
    assert len(events) == 1 and events[0].partial and "partial_range" in events[0].flags
    assert events[0].index == 0


def test_ok__shallow_squat_is_flagged_above_parallel() -> None:
    """Prevents the depth flag from missing a squat whose thighs stay well above parallel."""
    shallow = feed(RepCounter("squat"), stream(lambda t: world_pose(knee=cycle(100.0, 175.0, 2.0, t)), 2.2))
    deep = feed(RepCounter("squat"), stream(lambda t: world_pose(knee=cycle(40.0, 175.0, 2.0, t)), 2.2))
    assert [e.flags for e in shallow] == [("above_parallel",)]
    assert [e.flags for e in deep] == [()]


def test_ok__uneven_arms_are_flagged_asymmetric() -> None:
    """Prevents one arm doing half the work from going unnoticed in a two-arm exercise."""
    frames = stream(lambda t: world_pose(elbows=(cycle(45, 170, 2, t), cycle(110, 170, 2, t))), 2.2)
    events = feed(RepCounter("bicep_curl"), frames)
    assert len(events) == 1 and "asymmetric" in events[0].flags


def test_ok__single_arm_and_alternating_curls() -> None:
    """Prevents the one-arm exercises counting the other arm, and alternating curls counting half."""

    def alternating(t: float):  # type: ignore[no-untyped-def]
        # the left arm curls at 0-4 s and 4-8 s, the right one at 2-6 s
        return world_pose(elbows=(cycle(45, 170, 4, t), 170.0 if t < 2 else cycle(45, 170, 4, t - 2)))

    frames = stream(alternating, 8.2)
    counts = {name: feed_count(name, frames) for name in ("bicep_curl_left", "bicep_curl_right")}
    assert counts == {"bicep_curl_left": 2, "bicep_curl_right": 1}
    assert feed_count("bicep_curl_alternating", frames) == 3
    assert feed_count("bicep_curl", stream(CURLS, 4.2)) == 2


def feed_count(name: str, frames) -> int:  # type: ignore[no-untyped-def]
    counter = RepCounter(name)
    feed(counter, frames)
    return counter.count


def test_ok__timestamps_not_frame_counts() -> None:
    """Prevents a 5 fps clip and a 60 fps clip of the same squats from counting differently."""
    assert feed_count("squat", stream(SQUATS, 6.4, fps=5.0)) == feed_count(
        "squat", stream(SQUATS, 6.4, fps=60.0)
    )


# -- auto ------------------------------------------------------------------------------------


def _auto(frames) -> RepCounter:  # type: ignore[no-untyped-def]
    counter = RepCounter("auto")
    feed(counter, frames)
    return counter


def _press(t: float):  # type: ignore[no-untyped-def]
    return world_pose(elbow=cycle(70, 175, 2, t, False), shoulder=cycle(80, 170, 2, t, False))


def _jumping_jack(t: float):  # type: ignore[no-untyped-def]
    return world_pose(shoulder=cycle(10, 160, 1.5, t, False), stance=cycle(0.25, 0.9, 1.5, t, False))


@pytest.mark.parametrize(
    ("name", "make", "period"),
    [
        ("squat", SQUATS, 2.0),
        ("lunge", lambda t: world_pose(knee=cycle(80, 175, 2, t), split=cycle(0.0, 0.8, 2, t, False)), 2.0),
        ("bicep_curl", CURLS, 2.0),
        ("pushup", lambda t: world_pose(elbow=cycle(80, 170, 2, t), shoulder=80, body="plank"), 2.0),
        ("shoulder_press", _press, 2.0),
        ("jumping_jack", _jumping_jack, 1.5),
        ("front_raise", lambda t: world_pose(shoulder=cycle(10, 95, 2, t, False), arm_plane="front"), 2.0),
    ],
)  # fmt: skip
def test_ok__auto_recognises_synthetic_exercises(name: str, make, period: float) -> None:  # type: ignore[no-untyped-def]
    """Prevents ``auto`` from settling on the wrong exercise for clean movements, or miscounting."""
    counter = _auto(stream(make, 3 * period + 0.2))
    assert counter.exercise == name
    assert counter.count == 3


def test_ok__auto_is_idle_until_recognised() -> None:
    """Prevents ``auto`` from naming an exercise before any repetition was seen."""
    counter = _auto(stream(lambda t: world_pose(), 3.0))
    assert counter.snapshot() == {"exercise": None, "count": 0, "phase": "idle"}


def test_ok__auto_switches_exercise_and_counts_the_new_set_in_full() -> None:
    """Prevents losing the first reps of a new exercise to the time it takes to recognise it."""

    def workout(t: float):  # type: ignore[no-untyped-def]
        return SQUATS(t) if t < 6.0 else (world_pose() if t < 8.0 else CURLS(t - 8.0))

    counter = RepCounter("auto")
    events = feed(counter, stream(workout, 14.2) + [(None, 14.3 + i / 30) for i in range(5)])
    assert counter.exercise == "bicep_curl" and counter.count == 3
    assert [(e.exercise, e.index) for e in events] == [
        ("squat", 1), ("squat", 2), ("squat", 3), ("bicep_curl", 1), ("bicep_curl", 2), ("bicep_curl", 3),
    ]  # fmt: skip


def test_ok__situps_and_crunches_count_torso_lifts() -> None:
    """Prevents the lying exercises (torso elevation, supine posture) from never counting."""
    frames = stream(_sit_up, 6.2)
    assert feed_count("situp", frames) == 3
    assert feed_count("crunch", frames) == 3
    assert feed_count("squat", frames) == 0


def test_ok__side_lunges_count_each_side() -> None:
    """Prevents side lunges (one knee at a time) from counting only one side."""

    def side_lunges(t: float):  # type: ignore[no-untyped-def]
        left = cycle(80, 175, 4, t)
        right = 175.0 if t < 2 else cycle(80, 175, 4, t - 2)
        return world_pose(knees=(left, right), stance=0.9)

    frames = stream(side_lunges, 8.2)
    assert feed_count("side_lunge", frames) == 3
    counter = _auto(frames)
    assert (counter.exercise, counter.count) == ("side_lunge", 3)


def _sit_up(t: float):  # type: ignore[no-untyped-def]
    """Lying on the back; the torso rises by tilting the whole figure up (knees stay bent)."""
    lift = cycle(0.0, 70.0, 2.0, t, start_high=False)
    w = world_pose(knee=90.0)
    w = w @ _rot_x(-90.0).T  # supine
    hips = w[[23, 24]].mean(axis=0)
    upper = np.zeros(33, bool)
    upper[:23] = True
    w[upper] = (w[upper] - hips) @ _rot_x(lift).T + hips
    return w.astype(np.float32)


def _rot_y(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])


@pytest.mark.parametrize("yaw", [0.0, 60.0, 90.0, 180.0, 270.0])
@pytest.mark.parametrize(
    ("name", "make"), [("squat", SQUATS), ("bicep_curl", CURLS), ("jumping_jack", _jumping_jack)]
)
def test_ok__any_camera_side_counts_and_recognises_alike(yaw: float, name: str, make) -> None:  # type: ignore[no-untyped-def]
    """Prevents a view dependence: the same movement seen from the front, side or back counts the
    same (world landmarks turn with the body around the vertical axis)."""
    frames = stream(lambda t: (make(t) @ _rot_y(yaw).T).astype(np.float32), 6.2)
    assert feed_count(name, frames) == (4 if name == "jumping_jack" else 3)
    counter = _auto(frames)
    assert (counter.exercise, counter.count) == (name, 4 if name == "jumping_jack" else 3)


def test_ok__person_entering_and_leaving() -> None:
    """Prevents counting while nobody is there, and keeps the set of someone who walks in and out."""
    empty = [(None, i / 30) for i in range(60)]
    squats = [(p, t + 2.0) for p, t in stream(SQUATS, 4.2)]
    gone = [(None, 6.3 + i / 30) for i in range(60)]
    counter = RepCounter("squat")
    feed(counter, empty)
    assert counter.phase == "idle"
    feed(counter, squats + gone)
    assert counter.snapshot() == {"exercise": "squat", "count": 2, "phase": "idle"}


@pytest.mark.parametrize("exercise", ["squat", "auto"])
def test_ok__time_going_backwards_keeps_the_count(exercise: str) -> None:
    """Prevents a looped file source (timestamps start over) from corrupting or losing the count."""
    counter = RepCounter(exercise)
    feed(counter, stream(SQUATS, 4.2) + [(p, t + 0.001) for p, t in stream(SQUATS, 4.2)])
    assert counter.count == 4


# -- push-ups on planted hands, presses with raised arms, twin cycles ---------------------------

PUSHUPS = lambda t: world_pose(elbow=cycle(80, 170, 2, t), shoulder=80, body="plank")  # noqa: E731


def _travelling(frames, pixels: float):  # type: ignore[no-untyped-def]
    """The whole figure shifted sideways in the image, back and forth by ``pixels`` per rep."""
    out = []
    for pose, t in frames:
        landmarks = pose.landmarks.copy()
        landmarks[:, 0] += pixels / pose.image_size[0] * (1 - np.cos(np.pi * t)) / 2
        out.append((dataclasses.replace(pose, landmarks=landmarks), t))
    return out


@pytest.mark.parametrize(("pixels", "count"), [(0.0, 3), (40.0, 3), (250.0, 0)])
def test_ok__pushups_need_hands_that_stay_put(pixels: float, count: int) -> None:
    """Prevents counting bent-elbow movements of someone walking up to the camera at the end of a
    set (``calimiro_test1_home``): the hands travel further than an arm's length (about 110 pixels
    here) in the image. Hands that stay within it (a camera shaking by 40 pixels) still count."""
    frames = _travelling(stream(PUSHUPS, 6.2), pixels)
    assert feed_count("pushup", frames) == count
    counter = _auto(frames)
    assert (counter.exercise, counter.count) == (("pushup", 3) if count else (None, 0))


def test_ok__press_from_the_shoulders_is_not_a_curl() -> None:
    """Prevents ``auto`` from naming a press a curl when the set opens with the hands at the
    shoulders (the top of a curl): the press holds the upper arms raised, a curl keeps them down."""
    base = recognizer.Summary(
        shares={"legs": 0.0, "elbows": 1.2, "arms": 0.3}, torso=85.0, torso_low=80.0, chest_high=0.0,
        chest_top=5.0, wrist_top=0.2, shoulder_mid=20.0, forward_raised=0.3, feet_side_rom=0.0,
        feet_forward_bottom=0.1, knee_gap_bottom=5.0,
    )  # fmt: skip
    assert recognizer.classify(base).exercise == "bicep_curl"
    raised = dataclasses.replace(base, shoulder_mid=95.0)
    assert recognizer.classify(raised).exercise == "shoulder_press"
    assert recognizer.classify(dataclasses.replace(base, wrist_top=0.8)).exercise == "shoulder_press"


@pytest.mark.parametrize(
    ("accepted", "candidate", "same"),
    [
        ((5.97, 8.30), (6.87, 8.03), True),  # inside a longer accepted cycle (mirrored nowva_lunge)
        ((6.87, 8.03), (5.97, 8.30), True),  # enclosing a shorter accepted one
        ((2.0, 4.0), (3.5, 5.5), False),  # the next rep, overlapping by a quarter
    ],
)
def test_ok__twin_cycles_are_the_same_movement(accepted, candidate, same: bool) -> None:  # type: ignore[no-untyped-def]
    """Prevents ``auto`` from counting one lunge twice, once as the lunge and once as the front
    knee's side-lunge cycle lying inside it."""
    counter = RepCounter("auto")
    counter._accepted.append(accepted)
    start, end = candidate
    event = RepEvent(1, "side_lunge", "right", start, end, end - start, 0.5, 0.5, 90.0, 160.0, "knee_angle")
    assert counter._overlaps_accepted(event) is same


def test_ok__flicker_between_tracking_losses_starts_no_rep() -> None:
    """Prevents counting what a pose seen for four frames between two losses showed (the fade-in
    of ``situp/joelo_situp``: the model read a lying person as sitting up for 0.12 s); the same
    frames without the losses are a (fast) rep."""
    frames = [(make_pose(world_pose(knee=175.0), i / 30), i / 30) for i in range(30)]
    frames += [(None, 1.0 + i / 30) for i in range(3)]
    frames += [(make_pose(world_pose(knee=70.0), 1.1 + i / 30), 1.1 + i / 30) for i in range(4)]
    frames += [(None, 1.25)]
    for i in range(45):  # slowly back up from 130, as the real pose takes over
        t = 1.3 + i / 30
        frames.append((make_pose(world_pose(knee=min(175.0, 130.0 + 60.0 * i / 30)), t), t))
    assert feed_count("squat", frames) == 0
    assert feed_count("squat", frames[:30] + frames[33:37] + frames[38:]) == 1  # no losses: a fast rep
