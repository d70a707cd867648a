"""The hysteresis state machine on one signal, driven by per-frame tables of (t, angle).

Each case is a piecewise-linear knee-angle track for ``squat`` (start >= 140, turn <= 110,
min_rom 40) sampled at 30 fps unless stated, with the expected count and partial reps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.reps.counter import IDLE, SignalCounter, Tuning
from edge.reps.exercises import EXERCISES

SQUAT = EXERCISES["squat"]
PRESS = EXERCISES["shoulder_press"]


def track(*points: tuple[float, float | None], fps: float = 30.0) -> list[tuple[float, float | None]]:
    """Linear interpolation between (t, value) knots; a None knot starts a gap up to the next."""
    rows: list[tuple[float, float | None]] = []
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        n = max(1, int(round((t1 - t0) * fps)))
        for i in range(n):
            t = t0 + (t1 - t0) * i / n
            if v0 is None or v1 is None:
                rows.append((t, None))
            else:
                rows.append((t, v0 + (v1 - v0) * i / n))
    rows.append(points[-1])
    return rows


def run(rows, spec=SQUAT, **tuning):  # type: ignore[no-untyped-def]
    counter = SignalCounter(spec, Tuning(**tuning))
    cycles = [c for t, v in rows if (c := counter.update(v, t)) is not None]
    return counter, cycles


def noisy(rows, amplitude: float, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return [(t, None if v is None else v + rng.uniform(-amplitude, amplitude)) for t, v in rows]


@pytest.mark.parametrize(
    ("case", "rows", "count", "partials"),
    [
        ("one clean rep", track((0, 170), (1, 80), (2, 170), (3, 170)), 1, 0),
        # lingers at the bottom for 3 s, counted once
        ("lingers at the bottom", track((0, 170), (1, 80), (4, 85), (5, 170)), 1, 0),
        # bounces 20 degrees at the bottom (less than three quarters of the range): counted once
        ("bounces at the bottom", track((0, 170), (1, 80), (1.3, 100), (1.6, 80), (2.5, 170)), 1, 0),
        # comes most of the way up but not to standing (start_limit 140), goes down again, then
        # stands: one rep
        ("incomplete return", track((0, 170), (1, 80), (1.6, 130), (2.2, 80), (3, 170)), 1, 0),
        # stands tall once, then every rep comes back to 145 only (standing, start_limit 140, but
        # further than a quarter of the range from 175): each turn back down ends a rep
        (
            "rest position moves",
            track((0, 175), (0.3, 175), (1, 80), (2, 145), (3, 80), (4, 145), (5, 80), (6, 145), (6.5, 145)),
            3,
            0,
        ),
        # a rep still in progress when the input ends is not counted
        ("ends on the way up", track((0, 170), (1, 80), (1.7, 130)), 0, 0),
        ("ends at the bottom", track((0, 170), (1, 80), (2, 80)), 0, 0),
        # a quarter squat: reported as partial, not counted
        ("quarter squat", track((0, 170), (1, 130), (2, 170)), 0, 1),
        # tiny dips never make a cycle
        ("knee wobble", track((0, 170), (0.5, 160), (1, 170), (1.5, 162), (2, 170)), 0, 0),
        # two sets of three with a 10 s rest standing
        (
            "pause between sets",
            track(
                (0, 170), (1, 80), (2, 170), (3, 80), (4, 170), (5, 80), (6, 170),
                (16, 168), (17, 80), (18, 170), (19, 80), (20, 170), (21, 80), (22, 170),
            ),
            6,
            0,
        ),
        # 0.8 s per rep (fast air squats) with no rest between them
        (
            "fast reps",
            track((0, 170), (0.4, 80), (0.8, 170), (1.2, 80), (1.6, 170), (2, 80), (2.4, 170)),
            3,
            0,
        ),
        ("slow rep", track((0, 170), (5, 80), (10, 170)), 1, 0),
        # a one-frame glitch through the bottom is faster than any repetition
        ("glitch", track((0, 170), (0.1, 170), (0.15, 80), (0.2, 170), (1, 170)), 0, 0),
        # the stream opens at the bottom and stays there a moment: the way up counts
        ("opens at the bottom", track((0, 80), (0.8, 82), (1.8, 170), (2.5, 170)), 1, 0),
        # the stream opens with the body already on its way up: the bottom was not seen
        ("opens rising", track((0, 100), (0.7, 170), (1.5, 170)), 0, 0),
        # four frames read standing at the bottom (a model glitch, 0.1 s): the body did not rest
        # there, so it did not turn back from a start position; one rep
        (
            "glitch to standing at the bottom",
            track((0, 170), (1, 80), (1.3, 80), (1.3, 175), (1.4, 175), (1.4, 80), (2, 80), (3, 170)),
            1,
            0,
        ),
        # opens at the bottom; the body leaves the view on the way up at 135 (within a quarter of
        # its range from the start limit): the way up counts
        ("opens low, leaves rising", track((0, 60), (1, 60), (2, 135), (2.1, None), (4, None)), 1, 0),
        # opens half way down: waits for a start position first
        ("opens half way", track((0, 125), (0.5, 120), (1, 170), (2, 80), (3, 170)), 1, 0),
    ],
)  # fmt: skip
def test_ok__table(case: str, rows, count: int, partials: int) -> None:  # type: ignore[no-untyped-def]
    """Prevents double counts, missed reps and counts of unfinished reps on typical tracks."""
    counter, cycles = run(rows)
    assert counter.count == count, case
    assert sum(not c.complete for c in cycles) == partials, case
    assert sum(c.complete for c in cycles) == count, case


def test_ok__noise_does_not_double_count() -> None:
    """Prevents jitter of +-8 degrees (model noise) from making extra reps, at any seed."""
    rows = track((0, 170), (1, 80), (2, 170), (3, 80), (4, 170), (5, 170))
    for seed in range(20):
        counter, _ = run(noisy(rows, 8.0, seed))
        assert counter.count == 2, seed


def test_ok__moved_rest_position_with_noise_counts_each_rep_once() -> None:
    """Prevents the turn-back rule (a rep ends where the body heads down again short of its first
    rest position) from splitting or merging reps on model jitter of +-8 degrees."""
    rows = track((0, 175), (0.3, 175), (1, 80), (2, 150), (3, 80), (4, 150), (5, 80), (6, 150), (6.5, 150))
    for seed in range(20):
        counter, _ = run(noisy(rows, 8.0, seed))
        assert counter.count == 3, seed


def test_ok__stream_opening_on_the_way_down_is_no_rep_from_the_turn() -> None:
    """Prevents counting the first frames of a new track as a rep from the turning point when they
    only pass through it (``pushup/calimiro_push-up_43``: the model reads 122, 116, 84, 91, 113,
    137 degrees while the arms are straight, then the one real push-up follows). The body must be
    seen near the turning point for ``turn_dwell_s``, counted from when it got there."""
    rows = track(
        (0, 124), (0.3, 112), (0.4, 84), (0.47, 113), (0.53, 137), (0.9, 150),
        (1.5, 85), (2.5, 150), (3, 150), fps=15.0,
    )  # fmt: skip
    counter, cycles = run(rows, EXERCISES["pushup"])
    assert counter.count == 1
    assert [c.start > 0.9 for c in cycles] == [True]


def test_ok__brief_tracking_loss_is_bridged() -> None:
    """Prevents losing a rep when the pose drops out for half a second at the bottom."""
    rows = track((0, 170), (1, 80), (1.2, None), (1.7, 85), (2.5, 170), (3, 170))
    counter, _ = run(rows)
    assert counter.count == 1


def test_ok__long_tracking_loss_drops_the_rep_in_progress() -> None:
    """Prevents counting a rep whose middle was not seen (person left), while the next one counts."""
    rows = track((0, 170), (1, 80), (1.2, None), (3.5, 170), (4, 170), (5, 80), (6, 170))
    counter, _ = run(rows)
    assert counter.count == 1


def test_ok__rep_longer_than_max_rep_s_is_dropped() -> None:
    """Prevents sitting down for a minute and standing up from counting as a squat."""
    rows = track((0, 170), (1, 80), (30, 80), (31, 170), (32, 170))
    counter, _ = run(rows)
    assert counter.count == 0


@pytest.mark.parametrize("fps", [5.0, 15.0, 30.0, 60.0])
def test_ok__frame_rate_does_not_change_the_count(fps: float) -> None:
    """Prevents durations measured in frames: 5 to 60 fps clips must count alike."""
    rows = track((0, 170), (1, 80), (2, 170), (3, 80), (4, 170), (5, 80), (5.5, 120), fps=fps)
    counter, cycles = run(rows)
    assert counter.count == 2
    assert all(0.9 < c.end - c.start < 2.0 for c in cycles)


def test_ok__phases_follow_the_rep() -> None:
    """Prevents a display that says "down" while standing, or never leaves "idle"."""
    counter = SignalCounter(SQUAT)
    assert counter.phase == IDLE
    phases = []
    for t, v in track((0, 170), (1, 80), (2, 170)):
        counter.update(v, t)
        phases.append(counter.phase)
    assert phases[0] == "up" and "down" in phases and phases[-1] == "up"
    assert phases.index("down") > phases.index("up")


def test_ok__maximum_turn_counts_like_minimum_turn() -> None:
    """Prevents the sign handling of exercises whose turning point is a maximum (press) from breaking."""
    rows = track((0, 70), (1, 160), (2, 70), (3, 160), (4, 70), (4.5, 70))
    counter, cycles = run(rows, PRESS)
    assert counter.count == 2
    assert cycles[0].start_value < 80 and cycles[0].turn_value > 150


def test_ok__none_and_nan_are_both_missing() -> None:
    """Prevents a NaN angle (landmark not visible) from poisoning the smoothing state."""
    counter = SignalCounter(SQUAT)
    for t, v in track((0, 170), (1, 80), (2, 170)):
        counter.update(math.nan if 0.5 < t < 0.6 else v, t)
    assert counter.count == 1
    assert not math.isnan(counter.value)
