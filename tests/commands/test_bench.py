"""``edge-pose bench`` reports every stage, the invoke limit and memory, and runs without MediaPipe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_ok__bench_on_the_demo_clip_writes_every_figure(tmp_path: Path, demo_clip: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge",
            "bench",
            str(demo_clip),
            "--frames",
            "20",
            "--rounds",
            "2",
            "--decode",
            "interleaved",
            "--reference",
            "none",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(out.read_text())
    assert row["frames"] == 20 and row["size"] == [1280, 720]
    assert set(row["stage_ms"]) == {
        "decode (wait)",
        "detect",
        "crop",
        "landmark_invoke",
        "landmark_decode",
        "mask",
        "smoothing",
        "other",
        "silhouette",
    }
    assert row["stage_ms"]["other"] > 0, "the estimator's work between its stages is part of the cost"
    assert row["invoke_ms"] > 0 and row["tracked_frame_ms"] > 0 and row["tracked_over_invoke"] > 0
    assert row["invoke_samples"] == 10, "20 frames: one block of invokes, at the end of the pass"
    assert row["invoke_best_batch_ms"] > 0 and row["tracked_over_best_batch"] > 0
    assert row["tracked_frames"] == 19, "every frame after the first (which runs the detector) is tracked"
    assert row["tracked_frame_mean_ms"] > 0
    assert 0 < row["peak_rss_mb"] < 1000 and row["fps"] > 0
    assert row["fps_with_silhouette"] > 0, "silhouettes are timed in a pass of their own"
    assert row["decoding"] == "between poses" and "decoded between poses" in done.stdout
    assert "tracked frame" in done.stdout and "MediaPipe      not run" in done.stdout
    assert len(row["rounds"]) == 2 and row["tracked_over_invoke_median"] > 0
    assert row["tracked_over_best_batch_median"] > 0
    assert "rounds: tracked frame / raw invoke" in done.stdout
    assert "rounds: tracked frame / best invoke batch" in done.stdout


def test_ok__sampling_the_invoke_between_frames_leaves_every_pose_as_it_was(demo_clip: Path) -> None:
    import numpy as np

    from edge.blazepose import EstimatorOptions, PoseEstimator
    from edge.commands.bench import INVOKE_BLOCK_INVOKES, INVOKE_BLOCK_WARMUP, invoke_block
    from edge.sources import VideoFileSource

    source = VideoFileSource(demo_clip)
    frames = [source.read() for _ in range(6)]
    source.close()
    plain, sampled = (PoseEstimator(EstimatorOptions()) for _ in range(2))
    for frame in frames:
        assert frame is not None
        expected, pose = plain.process(frame), sampled.process(frame)
        samples = invoke_block(sampled.landmarker.model)
        assert len(samples) == INVOKE_BLOCK_INVOKES - INVOKE_BLOCK_WARMUP and min(samples) > 0
        assert expected is not None and pose is not None
        assert np.array_equal(pose.landmarks, expected.landmarks)
        assert np.array_equal(pose.world, expected.world)
        assert pose.mask is not None and np.array_equal(pose.mask, expected.mask)
    assert sampled.detections_run == plain.detections_run == 1, "the blocks do not cost the track"


def test_fail__bench_on_a_missing_clip_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "edge", "bench", str(tmp_path / "nope.mp4"), "--reference", "none"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2 and "nope.mp4: no such video" in done.stderr


def _fake_reference(tmp_path: Path, megabytes: int) -> Path:
    """A stand-in for MediaPipe's reference script: holds ``megabytes`` of memory, prints a result line."""
    script = tmp_path / f"reference_{megabytes}.py"
    script.write_text(f"held = bytearray({megabytes} << 20)\nprint('{{\"fps\": 50.0}}')\n")
    return script


def test_ok__each_reference_run_reports_its_own_peak_memory(tmp_path: Path, demo_clip: Path) -> None:
    from edge.commands.bench import run_reference

    ballast = bytearray(300 << 20)  # this process is bigger than either reference run
    python = Path(sys.executable)
    big = run_reference(python, demo_clip, 0, script=_fake_reference(tmp_path, 200))
    small = run_reference(python, demo_clip, 0, script=_fake_reference(tmp_path, 20))
    del ballast
    assert big is not None and small is not None
    assert big["fps"] == small["fps"] == 50.0
    assert 200 < big["peak_rss_mb"] < 300
    assert 20 < small["peak_rss_mb"] < 100, "each run reports its own peak, not ours nor an earlier run's"


def test_ok__mediapipe_runs_the_same_landmark_model_and_segmentation_choice(
    tmp_path: Path, demo_clip: Path
) -> None:
    from edge.commands.bench import run_reference

    script = tmp_path / "reference_args.py"
    script.write_text("import json, sys\nprint(json.dumps({'fps': 50.0, 'argv': sys.argv[1:]}))\n")
    python = Path(sys.executable)
    lite = run_reference(python, demo_clip, 0, script=script)
    heavy = run_reference(python, demo_clip, 0, script=script, model="heavy", segmentation=False)
    assert lite is not None and heavy is not None
    assert lite["argv"][-2:] == ["--complexity", "0"] and "--no-segmentation" not in lite["argv"]
    assert heavy["argv"][-3:] == ["--complexity", "2", "--no-segmentation"], (
        "a heavy or mask-free edge-pose run is compared with the same MediaPipe pipeline, not its default"
    )


def _round(fps: float, mediapipe_fps: float, tracked_over_invoke: float) -> dict:
    return {
        "fps": fps,
        "mediapipe": {"fps": mediapipe_fps},
        "tracked_over_invoke": tracked_over_invoke,
        "tracked_over_best_batch": tracked_over_invoke + 0.1,
    }


def test_ok__tracked_over_invoke_is_the_median_of_every_rounds_own_ratio() -> None:
    from edge.commands.bench import median_round

    # The round with the median speed ratio (2.0x) had a busy spell: its tracked/invoke is an outlier.
    rounds = [_round(100, 50, 0.97), _round(90, 50, 1.31), _round(110, 50, 1.28), _round(80, 50, 1.33)]
    row = median_round(rounds)
    assert row["fps"] / row["mediapipe"]["fps"] == 2.0 and row["tracked_over_invoke"] == 0.97
    assert [r["tracked_over_invoke"] for r in row["rounds"]] == [0.97, 1.31, 1.28, 1.33]
    median = row["tracked_over_invoke_median"]
    assert median == pytest.approx(1.295), "the median over the rounds, not the chosen round's own"
    assert row["tracked_over_best_batch_median"] == pytest.approx(1.395)
