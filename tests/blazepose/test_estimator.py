"""The composed pipeline on real frames of the bundled demo clip (CC0, a person doing squats)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.blazepose import EstimatorOptions, PoseEstimator
from edge.blazepose.crop import OPENCV_WARP_IS_MEDIAPIPES
from edge.errors import ConfigError
from edge.landmarks import PoseLandmark
from edge.sources import VideoFileSource


@pytest.fixture(scope="module")
def frames(demo_clip) -> list:
    source = VideoFileSource(demo_clip)
    out = [source.read() for _ in range(12)]
    source.close()
    return out


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    return PoseEstimator(EstimatorOptions(threads=1, mask_max_side=320))


def test_ok__finds_the_person_with_plausible_anatomy(estimator: PoseEstimator, frames: list) -> None:
    estimator.reset()
    pose = estimator.process(frames[0])
    assert pose is not None and pose.score > 0.9
    assert pose.image_size == frames[0].size
    # standing person, camera upright: head above hips above ankles
    nose, hip, ankle = (
        pose.point(PoseLandmark.NOSE)[1],
        pose.point(PoseLandmark.LEFT_HIP)[1],
        pose.point(PoseLandmark.LEFT_ANKLE)[1],
    )
    assert nose < hip < ankle
    assert (
        abs(pose.world[[PoseLandmark.LEFT_HIP, PoseLandmark.RIGHT_HIP]].mean(axis=0)).max() < 0.05
    )  # hip-centred


def test_ok__video_mode_detects_once_then_tracks(estimator: PoseEstimator, frames: list) -> None:
    estimator.reset()
    before = estimator.detections_run
    poses = [estimator.process(f) for f in frames]
    assert all(p is not None for p in poses)
    assert estimator.detections_run - before == 1


def test_ok__unsmoothed_landmarks_still_track_and_differ_from_smoothed_ones(frames: list) -> None:
    """``smooth_landmarks=False`` filters only the two auxiliary landmarks that steer the next crop."""
    raw = PoseEstimator(EstimatorOptions(threads=1, smooth_landmarks=False, segmentation=False))
    smooth = PoseEstimator(EstimatorOptions(threads=1, segmentation=False))
    raw_poses, smooth_poses = [raw.process(f) for f in frames], [smooth.process(f) for f in frames]
    assert raw.detections_run == smooth.detections_run == 1
    assert all(p is not None for p in raw_poses + smooth_poses)
    # a filter passes its first sample (through pixels and back, so up to the last bit)
    assert np.allclose(raw_poses[0].landmarks, smooth_poses[0].landmarks, rtol=0, atol=1e-6)
    moved = [
        not np.array_equal(a.landmarks, b.landmarks) for a, b in zip(raw_poses, smooth_poses, strict=True)
    ]
    assert all(moved[1:])


def test_ok__static_mode_detects_on_every_frame(demo_clip) -> None:
    static = PoseEstimator(EstimatorOptions(static_image_mode=True, threads=1, segmentation=False))
    source = VideoFileSource(demo_clip)
    for _ in range(3):
        assert static.process(source.read()) is not None
    source.close()
    assert static.detections_run == 3


def test_ok__static_mode_and_opencv_4_crop_exactly_video_mode_on_opencv_5_uses_its_own_warp() -> None:
    video = PoseEstimator(EstimatorOptions(threads=1, segmentation=False))
    static = PoseEstimator(EstimatorOptions(static_image_mode=True, threads=1, segmentation=False))
    assert static.landmarker.exact_crop
    assert video.landmarker.exact_crop == OPENCV_WARP_IS_MEDIAPIPES
    video.close()
    static.close()


def test_ok__opencvs_own_warp_tracks_as_the_exact_crop_does(frames: list) -> None:
    """The crop with the installed OpenCV's warp follows the same person within 0.2 % of the body."""
    fast = PoseEstimator(EstimatorOptions(threads=1, segmentation=False))
    exact = PoseEstimator(EstimatorOptions(threads=1, segmentation=False))
    fast.landmarker.exact_crop, exact.landmarker.exact_crop = False, True
    for frame in frames:
        a, b = fast.process(frame), exact.process(frame)
        assert a is not None and b is not None
        extent = np.ptp(b.landmarks[:, :2] * b.image_size, axis=0)
        error = np.linalg.norm((a.landmarks[:, :2] - b.landmarks[:, :2]) * b.image_size, axis=1).mean()
        assert error / np.linalg.norm(extent) < 0.002
    fast.close()
    exact.close()


def test_ok__mask_covers_the_frame_at_the_working_resolution(estimator: PoseEstimator, frames: list) -> None:
    estimator.reset()
    pose = estimator.process(frames[0])
    width, height = frames[0].size
    assert pose.mask.shape == (round(height * 320 / width), 320)
    assert 0.0 <= pose.mask.min() and pose.mask.max() <= 1.0
    x, y = pose.point(PoseLandmark.LEFT_HIP)
    assert pose.mask[int(y * pose.mask.shape[0]), int(x * pose.mask.shape[1])] > 0.5


def test_ok__blank_frame_gives_no_pose_and_resets_tracking(estimator: PoseEstimator, frames: list) -> None:
    estimator.reset()
    estimator.process(frames[0])
    assert estimator.estimate(np.zeros_like(frames[1].image), frames[1].timestamp) is None
    before = estimator.detections_run
    assert estimator.process(frames[2]) is not None
    assert estimator.detections_run == before + 1  # tracking was lost: the detector ran again


def test_fail__wrong_image_type_is_rejected(estimator: PoseEstimator) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        estimator.estimate(np.zeros((10, 10), np.uint8), 0.0)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"model": "huge"}, "pose.model"),
        ({"min_detection_confidence": 1.5}, "pose.min_detection_confidence"),
        ({"min_tracking_confidence": -0.1}, "pose.min_tracking_confidence"),
        ({"mask_smoothing": 2.0}, "pose.mask_smoothing"),
        ({"mask_max_side": -1}, "pose.mask_max_side"),
    ],
)
def test_fail__bad_options_name_their_key(options: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        EstimatorOptions(**options)
