"""ScriptedPoseEstimator: MediaPipe's recorded poses replayed frame by frame, through the real threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from doubles import RecordingPublisher, ScriptedRepCounter

from edge.camera import CameraSettings, open_camera_source
from edge.daemon import Daemon, DaemonSettings, PoseMaskSilhouettes, ScriptedPoseEstimator
from edge.errors import InputError
from edge.sources import Frame

CLIP = "squat/nowva_squats"


def frame(index: int, size: tuple[int, int] = (64, 36)) -> Frame:
    return Frame(np.zeros((size[1], size[0], 3), np.uint8), index, index / 30)


def test_ok__replays_the_reference_frame_by_frame(shared: Path) -> None:
    """Frame i gets MediaPipe's pose of frame i; NaN rows (no person) give None; indices wrap."""
    data = np.load(shared / "reference" / f"{CLIP}.npz")
    estimator = ScriptedPoseEstimator.from_reference(shared / "reference" / f"{CLIP}.npz")
    n = len(estimator)
    assert n == len(data["landmarks"])
    valid = ~np.isnan(data["landmarks"]).any(axis=(1, 2))
    i = int(np.argmax(valid))
    pose = estimator.process(frame(i))
    assert pose is not None and np.array_equal(pose.landmarks, data["landmarks"][i])
    assert pose.image_size == (64, 36) and pose.timestamp == pytest.approx(i / 30)
    wrapped = estimator.process(frame(i + n))
    assert wrapped is not None and np.array_equal(wrapped.landmarks, pose.landmarks)
    if not valid.all():
        assert estimator.process(frame(int(np.argmin(valid)))) is None


def test_ok__masks_come_from_the_latest_recorded_mask(shared: Path) -> None:
    """Masks exist on every 10th frame; frames in between reuse the last one (as probabilities 0..1)."""
    data = np.load(shared / "reference" / f"{CLIP}.npz")
    estimator = ScriptedPoseEstimator.from_reference(shared / "reference" / f"{CLIP}.npz")
    k = data["mask_frames"][1]
    pose = estimator.process(frame(int(k) + 3))
    assert pose is not None and pose.mask is not None
    assert pose.mask.dtype == np.float32 and 0.0 <= pose.mask.min() and pose.mask.max() <= 1.0
    assert np.allclose(pose.mask * 255, data["masks"][1], atol=1e-3)


def test_fail__bad_shapes_and_missing_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"shape \(N, 33, 5\)"):
        ScriptedPoseEstimator(np.zeros((3, 17, 3), np.float32), np.zeros((3, 33, 3), np.float32))
    with pytest.raises(InputError, match="no such reference file"):
        ScriptedPoseEstimator.from_reference(tmp_path / "missing.npz")


def test_ok__a_real_clip_runs_through_the_daemon_deterministically(shared: Path, runner) -> None:
    """The real decoder, threads, scripted poses and a silhouette stage: every frame, twice the same."""

    class Extractor:
        def __init__(self) -> None:
            self.calls = 0

        def extract(self, mask, landmarks=None):
            self.calls += 1
            area = float((mask >= 0.5).mean())

            class Sil:
                def to_json(self, png: bool = False, png_size: int = 96) -> dict:
                    return {"area": round(area, 4), "png": png}

            return Sil() if area > 0 else None

    results = []
    for _ in range(2):
        opened = open_camera_source(
            CameraSettings(uri=str(shared / "footage" / f"{CLIP}.mp4"), realtime=False)
        )
        estimator = ScriptedPoseEstimator.from_reference(shared / "reference" / f"{CLIP}.npz")
        counter = ScriptedRepCounter([2.0, 4.0, 6.0, 8.0, 10.0])
        publisher = RecordingPublisher()
        extractor = Extractor()
        daemon = Daemon(
            opened.source,
            estimator,
            counter,
            publisher,
            DaemonSettings(lossless=opened.lossless, source_label=opened.label, silhouette_hz=2),
            silhouette=PoseMaskSilhouettes(extractor, png=True),
        )
        assert runner.run(daemon, publisher) == 0
        assert daemon.frames == len(estimator) and daemon.skipped_frames == 0
        sils = [c.args[0] for c in publisher.of("silhouette") if c.args[0] is not None]
        assert sils and all(s["png"] is True for s in sils)
        results.append(
            ([c.args[0] for c in publisher.of("rep")], publisher.states()[-1]["count"], extractor.calls)
        )
    assert results[0] == results[1]
    assert results[0][1] == 5
