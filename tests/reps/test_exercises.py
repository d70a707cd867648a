"""The exercise table: complete, consistent, and its validation catches broken entries."""

from __future__ import annotations

import dataclasses

import pytest

from edge.landmarks import PoseLandmark as L
from edge.reps import EXERCISES, exercise_names
from edge.reps.exercises import AUTO_CANDIDATES, ELBOW, Signal, validate_spec
from edge.reps.recognizer import FAMILY

REQUIRED = [
    "squat", "pushup", "bicep_curl", "bicep_curl_left", "bicep_curl_right", "bicep_curl_alternating",
    "shoulder_press", "lunge", "side_lunge", "walking_lunge", "situp", "crunch", "jumping_jack",
    "front_raise",
]  # fmt: skip


@pytest.mark.parametrize("name", REQUIRED)
def test_ok__required_exercise_is_defined(name: str) -> None:
    """Prevents a name the issue promises (or the labels use) from missing."""
    assert name in EXERCISES


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_ok__every_entry_is_consistent(name: str) -> None:
    """Prevents an entry whose limits cannot produce a repetition, or with right-side landmarks."""
    assert validate_spec(EXERCISES[name]) == []


def test_ok__names_are_sorted_and_include_auto() -> None:
    """Prevents help texts and errors that miss ``auto`` or list names in a random order."""
    names = exercise_names()
    assert names == sorted(names)
    assert "auto" in names and set(EXERCISES) <= set(names)


def test_ok__aliases_share_the_spec() -> None:
    """Prevents ``crunch`` and ``walking_lunge`` from drifting away from what they alias."""
    assert EXERCISES["crunch"] is EXERCISES["situp"]
    assert EXERCISES["walking_lunge"] is EXERCISES["lunge"]


def test_ok__auto_candidates_are_exercises_with_a_family() -> None:
    """Prevents ``auto`` from following an exercise the recognizer cannot tell apart."""
    assert set(AUTO_CANDIDATES) <= set(EXERCISES)
    assert set(AUTO_CANDIDATES) == set(FAMILY)


def test_fail__registry_is_read_only() -> None:
    """Prevents one caller from changing the exercises under another's feet."""
    with pytest.raises(TypeError):
        EXERCISES["squat"] = EXERCISES["lunge"]  # type: ignore[index]


SQUAT = EXERCISES["squat"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"name": "Squat Deep"}, "lower-case identifier"),
        (
            {"signal": Signal("elbow", "joint_angle", (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST))},
            "LEFT side",
        ),
        ({"signal": Signal("elbow", "joint_angle", (L.LEFT_SHOULDER, L.LEFT_ELBOW))}, "needs 3 landmarks"),
        ({"turn_limit": 190.0}, "outside the signal's range"),
        ({"min_rom": 0.0}, "min_rom"),
        ({"start_limit": 100.0, "min_rom": 120.0}, "no rep can start at start_limit"),
        ({"phases": ("up", "up")}, "phases"),
        ({"phases": ("idle", "down")}, "phases"),
        ({"sides": "left", "asymmetry_limit": 20.0}, "asymmetry needs both sides"),
    ],
)
def test_fail__validation_names_the_problem(change: dict[str, object], problem: str) -> None:
    """Prevents a broken new entry from slipping in unnoticed."""
    spec = dataclasses.replace(SQUAT, **change)  # type: ignore[arg-type]
    problems = validate_spec(spec)
    assert any(problem in p for p in problems), problems


def test_ok__curls_and_press_follow_the_elbow_in_opposite_directions() -> None:
    """Prevents the press and the curl from sharing a turning direction (auto relies on it)."""
    assert EXERCISES["bicep_curl"].signal == ELBOW == EXERCISES["shoulder_press"].signal
    assert EXERCISES["bicep_curl"].turn != EXERCISES["shoulder_press"].turn
