"""``edge-pose process``: the output contract other tools read, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def edge_pose(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, cwd=cwd or REPO, timeout=300
    )


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory, demo_clip: Path) -> Path:
    """The demo clip's first 24 frames, downscaled to 640x360, as an MP4."""
    path = tmp_path_factory.mktemp("clip") / "short.mp4"
    source = cv2.VideoCapture(str(demo_clip))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 360))
    for _ in range(24):
        ok, image = source.read()
        assert ok
        writer.write(cv2.resize(image, (640, 360), interpolation=cv2.INTER_AREA))
    writer.release()
    source.release()
    return path


@pytest.fixture(scope="module")
def processed(short_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("out")
    done = edge_pose(
        "process",
        str(short_clip),
        "--out",
        str(out / "frames.jsonl"),
        "--masks",
        str(out / "masks.npz"),
        "--mask-every",
        "5",
        "--annotate",
        str(out / "annotated.mp4"),
        "--no-progress",
    )
    return {"done": done, "out": out}


def test_ok__one_json_summary_line_on_stdout(processed: dict) -> None:
    done = processed["done"]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert summary["frames"] == 24 and summary["seconds"] > 0 and summary["fps"] > 0


def test_ok__one_record_per_frame_in_mediapipe_convention(processed: dict) -> None:
    records = [json.loads(line) for line in (processed["out"] / "frames.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(24))
    assert records[3]["t"] == pytest.approx(0.1)
    pose = records[10]["pose"]
    assert set(pose) == {"landmarks", "world", "score"}
    landmarks = np.array(pose["landmarks"])
    assert landmarks.shape == (33, 5) and np.array(pose["world"]).shape == (33, 3)
    assert 0.0 < landmarks[:, 0].mean() < 1.0 and 0.0 < landmarks[:, 1].mean() < 1.0  # normalised
    assert 0.0 <= landmarks[:, 3:].min() and landmarks[:, 3:].max() <= 1.0
    assert 0.5 < pose["score"] <= 1.0
    assert records[10]["silhouette"]["area"] > 0.01


def test_ok__masks_every_nth_frame_at_input_resolution(processed: dict) -> None:
    archive = np.load(processed["out"] / "masks.npz")
    assert archive["mask_frames"].tolist() == [0, 5, 10, 15, 20]
    masks = archive["masks"]
    assert masks.shape == (5, 360, 640) and masks.dtype == np.uint8
    assert masks.max() == 255 and 0.01 < (masks[2] >= 128).mean() < 0.5


def test_ok__annotated_video_has_every_frame(processed: dict) -> None:
    video = cv2.VideoCapture(str(processed["out"] / "annotated.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 24
    assert (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (640, 360)


def test_ok__folder_of_images_runs_in_static_mode_with_file_names(tmp_path: Path, short_clip: Path) -> None:
    source = cv2.VideoCapture(str(short_clip))
    for name in ("b.png", "a.jpg"):
        ok, image = source.read()
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "notes.txt").write_text("ignored")
    done = edge_pose("process", str(tmp_path), "--out", str(tmp_path / "o.jsonl"))
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [r["file"] for r in records] == ["a.jpg", "b.png"]
    assert all(r["pose"] is not None for r in records)


@pytest.fixture
def mixed_size_folder(tmp_path: Path, short_clip: Path) -> Path:
    """Three stills: 640x360, 320x240, 640x360."""
    folder = tmp_path / "stills"
    folder.mkdir()
    source = cv2.VideoCapture(str(short_clip))
    for name, size in (("a.png", None), ("b.png", (320, 240)), ("c.png", None)):
        ok, image = source.read()
        assert ok
        cv2.imwrite(str(folder / name), image if size is None else cv2.resize(image, size))
    return folder


def test_ok__annotating_images_of_mixed_sizes_letterboxes_every_one(mixed_size_folder: Path) -> None:
    out = mixed_size_folder.parent / "annotated.mp4"
    done = edge_pose("process", str(mixed_size_folder), "--annotate", str(out))
    assert done.returncode == 0, done.stderr
    video = cv2.VideoCapture(str(out))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 3, "no image may be dropped"
    assert (int(video.get(cv2.CAP_PROP_FRAME_WIDTH)), int(video.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (640, 360)


def test_fail__masks_of_images_of_mixed_sizes_fail_before_any_work(mixed_size_folder: Path) -> None:
    records = mixed_size_folder.parent / "o.jsonl"
    done = edge_pose(
        "process",
        str(mixed_size_folder),
        "--masks",
        str(mixed_size_folder.parent / "m.npz"),
        "--out",
        str(records),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "edge-pose: error: --masks: a mask archive holds masks of one size, but the images differ in size: "
        "a.png is 640x360, b.png is 320x240"
    ]
    assert not records.exists()


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda tmp: tmp / "missing.mp4", "no such file or folder"),
        (lambda tmp: (tmp / "notes.txt").write_text("hello") and tmp / "notes.txt", "not a video"),
        (
            lambda tmp: (tmp / "broken.jpg").write_bytes(b"\xff\xd8junk") and tmp / "broken.jpg",
            "cannot read as an image",
        ),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "folder holds no images"),
    ],
)
def test_fail__bad_input_is_one_line_on_stderr_and_exit_2(tmp_path: Path, make_input, message: str) -> None:
    done = edge_pose("process", str(make_input(tmp_path)), "--out", str(tmp_path / "o.jsonl"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_fail__unwritable_output_is_reported_before_processing(tmp_path: Path, short_clip: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = edge_pose("process", str(short_clip), "--out", str(blocker / "sub" / "o.jsonl"))
    assert done.returncode == 2 and "cannot write the frame records" in done.stderr


def _footage(shared_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in (shared_dir / "footage").rglob("*")
        if p.is_file() and p.suffix.lower() in {".mp4", ".jpg", ".png"}
    )


def test_ok__every_file_in_the_shared_footage_runs_cleanly(shared: Path, tmp_path: Path) -> None:
    """Clips from 202x360 to 3840x2160 at 5 to 60 fps, portrait and landscape, stills: no error on any
    (the first 15 frames of each; whole clips run in the parity and rep-count tests)."""
    files = _footage(shared)
    assert len(files) >= 80
    failures = []
    for index, path in enumerate(files):
        out = tmp_path / f"{index}.jsonl"
        done = edge_pose("process", str(path), "--out", str(out), "--max-frames", "15", "--no-progress")
        expected = 1 if path.suffix.lower() in {".jpg", ".png"} else 15
        if done.returncode != 0 or len(out.read_text().splitlines()) != expected:
            failures.append(f"{path.name}: exit {done.returncode}: {done.stderr.strip()[-200:]}")
    assert not failures, "\n".join(failures)
