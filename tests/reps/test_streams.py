"""Pose streams from files (reference .npz, edge-pose process JSON lines) and the accuracy tables."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.errors import InputError
from edge.reps.evaluation import (
    ClipResult,
    CounterCost,
    Label,
    evaluate_pair,
    guess_exercise,
    meets_bar,
    read_table,
    score,
    write_table,
)
from edge.reps.streams import jsonl_stream, load_stream, mirrored, reference_stream

from .synthetic import make_pose, world_pose


def test_ok__jsonl_round_trip_keeps_frames_and_gaps(tmp_path: Path) -> None:
    """Prevents the tool from misreading the pipeline's own output (null poses, timestamps)."""
    pose = make_pose(world_pose(knee=120.0), 0.0)
    lines = [
        {"frame": 0, "t": 0.0, "pose": pose.to_json()},
        {"frame": 1, "t": 0.033, "pose": None, "reps": {"exercise": None, "count": 0, "phase": "idle"}},
        {"frame": 2, "t": 0.067, "pose": pose.to_json(), "image_size": [640, 480]},
    ]
    path = tmp_path / "clip.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    frames = load_stream(path)
    assert [t for _, t in frames] == [0.0, 0.033, 0.067]
    assert frames[1][0] is None
    assert frames[2][0] is not None and frames[2][0].image_size == (640, 480)
    assert np.allclose(frames[0][0].world, pose.world, atol=1e-5)  # type: ignore[union-attr]


def test_fail__malformed_jsonl_line_names_the_line(tmp_path: Path) -> None:
    """Prevents a traceback, or a silent skip, on a truncated output file."""
    path = tmp_path / "clip.jsonl"
    path.write_text('{"frame": 0, "t": 0.0, "pose": null}\n{"frame": 1, "t": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"clip.jsonl:2:"):
        jsonl_stream(path)


def test_ok__reference_nan_rows_become_none(tmp_path: Path) -> None:
    """Prevents frames without a pose in the reference from turning into NaN poses."""
    world = np.stack([world_pose(), np.full((33, 3), np.nan), world_pose()]).astype(np.float32)
    landmarks = np.ones((3, 33, 5), np.float32)
    landmarks[1] = np.nan
    path = tmp_path / "ref.npz"
    np.savez(path, landmarks=landmarks, world=world, t=np.array([0.0, 0.1, 0.2]), size=np.array([640, 360]))
    frames = reference_stream(path)
    assert [p is None for p, _ in frames] == [False, True, False]
    flipped = mirrored(frames)
    assert flipped[1][0] is None and flipped[0][0] is not None


def test_fail__not_a_reference_file(tmp_path: Path) -> None:
    """Prevents a confusing KeyError when pointed at the wrong .npz."""
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(InputError, match="not a reference"):
        reference_stream(path)


@pytest.mark.parametrize(
    ("count", "exact", "within_one"),
    [(3, False, True), (4, True, True), (5, True, True), (6, False, True), (7, False, False)],
)
def test_ok__label_exactness(count: int, exact: bool, within_one: bool) -> None:
    """Prevents the acceptance arithmetic (reps <= c <= reps_max) from drifting."""
    label = Label("squat/x.mp4", "squat", 4, 5)
    assert (label.exact(count), label.within_one(count)) == (exact, within_one)


@pytest.mark.parametrize(
    ("clip", "exercise"),
    [
        ("lunge/nowva_side_lunge.mp4", "side_lunge"),
        ("other_exercise/kshitij_sample_front_raise.mp4", "front_raise"),
        ("pushup/calimiro_push-up_26.mp4", "pushup"),
        ("other_exercise/tfjs_pose_1_dance.mp4", "-"),
    ],
)
def test_ok__exercise_guessed_from_the_path(clip: str, exercise: str) -> None:
    """Prevents unlabelled clips from being counted as the wrong exercise by the tool."""
    assert guess_exercise(clip) == exercise


def test_ok__table_round_trip_and_scores(tmp_path: Path) -> None:
    """Prevents the expected-counts table from being read back differently from how it was written."""
    rows = [
        ClipResult("squat/a.mp4", "squat", 2, 3, 3, 3, 2, 4, "squat", "squat"),
        ClipResult("pushup/b.mp4", "pushup", 5, 5, 6, 5, 5, 5, "squat", "pushup"),
        ClipResult("other/c.mp4", "-", -1, -1, -1, -1, 0, 0, "-", "-"),
    ]
    path = tmp_path / "expected.tsv"
    write_table(path, rows)
    assert read_table(path) == rows
    s = score(rows)
    assert s.clips == 2
    assert s.exact == {"explicit": 1, "explicit_mirrored": 2, "auto": 2, "auto_mirrored": 1}
    assert s.within_one["auto_mirrored"] == 2
    assert (s.recognised, s.recognised_mirrored) == (1, 2)


def test_ok__accuracy_tool_reads_pipeline_jsonl(tmp_path: Path) -> None:
    """Prevents the measuring tool from breaking on the pipeline's own output format."""
    from .synthetic import cycle, stream

    frames = stream(lambda t: world_pose(knee=cycle(70.0, 175.0, 2.0, t)), 4.2)
    clip_dir = tmp_path / "squat"
    clip_dir.mkdir()
    with (clip_dir / "mine.jsonl").open("w", encoding="utf-8") as handle:
        for i, (pose, t) in enumerate(frames):
            handle.write(json.dumps({"frame": i, "t": t, "pose": pose.to_json() if pose else None}) + "\n")
    script = Path(__file__).resolve().parents[2] / "scripts" / "rep_accuracy.py"
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--jsonl",
            str(tmp_path),
            "--events",
            "squat/mine.mp4",
            "--exercise",
            "squat",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'index': 2" in done.stdout
    assert "final: {'exercise': 'squat', 'count': 2, 'phase': 'up'}" in done.stdout


def _write_jsonl(path: Path, frames) -> None:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for i, (pose, t) in enumerate(frames):
            record = {"frame": i, "t": t, "image_size": [640, 480], "pose": pose.to_json() if pose else None}
            handle.write(json.dumps(record) + "\n")


def test_ok__pair_of_streams_scored_with_cost_and_bar() -> None:
    """Prevents the mirrored column from silently reusing the normal stream (the point of scoring
    the flipped video's own poses), and the bar arithmetic from drifting."""
    from .synthetic import cycle, stream

    squats = stream(lambda t: world_pose(knee=cycle(70.0, 175.0, 2.0, t)), 4.2)
    one = stream(lambda t: world_pose(knee=cycle(70.0, 175.0, 2.0, t)), 2.2)
    cost = CounterCost()
    result = evaluate_pair("squat/x.mp4", "squat", squats, one, 2, 2, cost=cost)
    assert (result.count, result.mirrored_count, result.auto_count, result.auto_mirrored_count) == (
        2,
        1,
        2,
        1,
    )
    assert cost.frames == {"explicit": len(squats) + len(one), "auto": len(squats) + len(one)}
    assert 0.0 < cost.ms_per_frame("explicit") < cost.ms_per_frame("auto")
    s = score([result] * 9 + [dataclasses.replace(result, count=1, mirrored_count=2)])
    assert (
        meets_bar(s, "explicit")
        and not meets_bar(s, "explicit_mirrored")
        and not meets_bar(s, "auto_mirrored")
    )


def test_ok__accuracy_tool_scores_normal_and_flipped_stream_folders(tmp_path: Path) -> None:
    """Prevents the README's tool from breaking on the lead's layout: DIR/normal/<clip>.jsonl and
    DIR/mirrored/<clip>.jsonl, one labelled clip here, counted from each folder's own poses."""
    from .synthetic import cycle, stream

    shared = tmp_path / "shared"
    (shared / "footage").mkdir(parents=True)
    labels = "clip\texercise\treps\treps_max\tconfidence\tnote\nsquat/mine.mp4\tsquat\t2\t2\thigh\t-\n"
    (shared / "footage" / "labels.tsv").write_text(labels, encoding="utf-8")
    _write_jsonl(tmp_path / "streams" / "normal" / "squat" / "mine.jsonl", stream(
        lambda t: world_pose(knee=cycle(70.0, 175.0, 2.0, t)), 4.2))  # fmt: skip
    _write_jsonl(tmp_path / "streams" / "mirrored" / "squat" / "mine.jsonl", stream(
        lambda t: world_pose(knee=cycle(70.0, 175.0, 2.0, t)), 2.2))  # fmt: skip
    script = Path(__file__).resolve().parents[2] / "scripts" / "rep_accuracy.py"
    table = tmp_path / "table.tsv"
    command = [sys.executable, str(script), "--shared", str(shared), "--streams", str(tmp_path / "streams")]
    done = subprocess.run([*command, "--write-table", str(table)], capture_output=True, text=True, check=True)
    assert "video flipped before pose estimation" in done.stdout
    assert "explicit_mirrored  exact  0/1" in done.stdout and "BELOW THE BAR" in done.stdout
    assert "ms/frame" in done.stdout
    row = read_table(table)[0]
    assert (row.count, row.mirrored_count) == (2, 1)
