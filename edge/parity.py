"""Measuring the pipeline against MediaPipe's own output (the anchor) and against human labels.

Reference files are the ``.npz`` written by ``../shared/tools/mp_reference.py``: ``landmarks`` (N, 33, 5)
with NaN rows where MediaPipe found nobody, ``world`` (N, 33, 3), ``t``, ``size`` and every 10th frame's
mask (``mask_frames``, ``masks`` (K, h, w) uint8, long side <= 320). Metrics per clip:

* landmark error: mean over frames where both found a pose of the mean pixel distance over the 33
  landmarks, divided by the diagonal of the reference pose's bounding box (all 33 landmarks);
* detection agreement: fraction of frames where both found a pose or both found none;
* world error: mean Euclidean distance of the world landmarks, metres;
* mask IoU: intersection over union of the masks thresholded at 0.5, ours resized to the reference's size
  with INTER_AREA (as the reference was made);
* silhouette IoU: the same, with our mask first cleaned up into a silhouette (one person, holes filled).

Clocks: MediaPipe's Python solution API stamps frames 33,333 microseconds apart whatever the real frame
rate (``solution_base.py``: "simulate the 30 fps video"), and the One-Euro filters depend on the interval.
``clock="mediapipe"`` feeds the pipeline that same clock, so that a clip at 25 fps is compared like for
like; ``clock="media"`` uses the file's real timestamps, as ``edge-pose process`` and the daemon do.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.pose import Pose
from edge.silhouette import SilhouetteExtractor
from edge.sources import iter_frames, open_source

#: Seconds between frames in MediaPipe's legacy solution API, whatever the source's frame rate: it adds
#: 33333 microseconds per ``process()`` (30.0003 Hz, not 30), and the filters see exactly that interval.
MEDIAPIPE_FRAME_INTERVAL = 0.033333


#: Frames of a clip hashed by ``decoder_fingerprint``.
FINGERPRINT_FRAMES = 30


def decoder_fingerprint(media: Path, frames: int = FINGERPRINT_FRAMES) -> str:
    """SHA-256 of the first ``frames`` frames of a video as this machine's OpenCV decodes them (BGR bytes)."""
    digest = hashlib.sha256()
    capture = cv2.VideoCapture(str(media))
    try:
        for _ in range(frames):
            ok, image = capture.read()
            if not ok:
                break
            digest.update(image.tobytes())
    finally:
        capture.release()
    return digest.hexdigest()


@dataclass
class ClipParity:
    """Agreement of one clip (or still) with its reference."""

    name: str
    frames: int = 0
    both: int = 0
    agree: int = 0
    landmark_errors: list[float] = field(default_factory=list, repr=False)
    world_errors: list[float] = field(default_factory=list, repr=False)
    ious: list[float] = field(default_factory=list, repr=False)
    silhouette_ious: list[float] = field(default_factory=list, repr=False)
    seconds: float = 0.0

    @property
    def landmark_error(self) -> float:
        return float(np.mean(self.landmark_errors)) if self.landmark_errors else math.nan

    @property
    def world_error(self) -> float:
        return float(np.mean(self.world_errors)) if self.world_errors else math.nan

    @property
    def mask_iou(self) -> float:
        return float(np.mean(self.ious)) if self.ious else math.nan

    @property
    def silhouette_iou(self) -> float:
        return float(np.mean(self.silhouette_ious)) if self.silhouette_ious else math.nan

    @property
    def agreement(self) -> float:
        return self.agree / self.frames if self.frames else math.nan

    def summary(self) -> dict[str, float | int | str]:
        row = asdict(self)
        for key in ("landmark_errors", "world_errors", "ious", "silhouette_ious"):
            row.pop(key)
        row.update(
            landmark_error=self.landmark_error,
            agreement=self.agreement,
            world_error=self.world_error,
            mask_iou=self.mask_iou,
            silhouette_iou=self.silhouette_iou,
        )
        return row


def normalized_landmark_error(
    ours: npt.NDArray[np.floating], reference: npt.NDArray[np.floating], image_size: tuple[int, int]
) -> float:
    """Mean pixel distance of (33, >=2) normalised landmarks over the reference pose's bbox diagonal."""
    scale = np.asarray(image_size, np.float64)
    ref_px = reference[:, :2] * scale
    ours_px = ours[:, :2] * scale
    diagonal = float(np.hypot(*(ref_px.max(axis=0) - ref_px.min(axis=0))))
    return float(np.linalg.norm(ours_px - ref_px, axis=1).mean() / max(diagonal, 1e-9))


def mask_iou(
    ours: npt.NDArray[np.float32], reference: npt.NDArray[np.uint8], threshold: float = 0.5
) -> float:
    """IoU of a [0, 1] float mask (any size) and a 0..255 reference mask, at the reference's size."""
    height, width = reference.shape
    if ours.shape != reference.shape:
        ours = np.asarray(cv2.resize(ours, (width, height), interpolation=cv2.INTER_AREA), np.float32)
    a = ours >= threshold
    b = reference >= round(threshold * 255)
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def silhouette_iou(
    extractor: SilhouetteExtractor,
    ours: npt.NDArray[np.float32],
    landmarks: npt.NDArray[np.floating],
    reference: npt.NDArray[np.uint8],
) -> float:
    """IoU of the silhouette made from our mask (at the reference's size) and the reference at 0.5."""
    height, width = reference.shape
    if ours.shape != reference.shape:
        ours = np.asarray(cv2.resize(ours, (width, height), interpolation=cv2.INTER_AREA), np.float32)
    silhouette = extractor.extract(ours, landmarks)
    b = reference >= 128
    if silhouette is None:
        return 0.0 if b.any() else 1.0
    a = cv2.resize(silhouette.mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def compare(
    estimate: Callable[[npt.NDArray[np.uint8], float], Pose | None],
    media: Path,
    reference: Path,
    name: str = "",
    clock: str = "mediapipe",
    silhouettes: SilhouetteExtractor | None = None,
) -> ClipParity:
    """Run ``estimate`` over every frame of ``media`` and score it against ``reference``.

    Args:
        clock: ``mediapipe`` (frames 33,333 us apart, as the reference was made) or ``media`` (the file's).
        silhouettes: also score the silhouettes this extractor makes from our masks.
    """
    ref = np.load(reference)
    landmarks, world = ref["landmarks"], ref["world"]
    mask_index = {int(f): i for i, f in enumerate(ref["mask_frames"])}
    result = ClipParity(name or media.name)
    source = open_source(media)
    start = time.perf_counter()
    try:
        for frame in iter_frames(source):
            timestamp = frame.index * MEDIAPIPE_FRAME_INTERVAL if clock == "mediapipe" else frame.timestamp
            pose = estimate(frame.image, timestamp)
            if frame.index >= len(landmarks):
                break
            ref_landmarks = landmarks[frame.index]
            has_reference = not np.isnan(ref_landmarks[0, 0])
            result.frames += 1
            result.agree += (pose is not None) == has_reference
            if pose is None or not has_reference:
                continue
            result.both += 1
            result.landmark_errors.append(
                normalized_landmark_error(pose.landmarks, ref_landmarks, frame.size)
            )
            result.world_errors.append(float(np.linalg.norm(pose.world - world[frame.index], axis=1).mean()))
            if frame.index in mask_index and pose.mask is not None:
                reference_mask = ref["masks"][mask_index[frame.index]]
                result.ious.append(mask_iou(pose.mask, reference_mask))
                if silhouettes is not None:
                    result.silhouette_ious.append(
                        silhouette_iou(silhouettes, pose.mask, pose.landmarks, reference_mask)
                    )
    finally:
        source.close()
    result.seconds = time.perf_counter() - start
    return result


def reference_pairs(
    footage: Path, reference: Path, patterns: list[str] | None = None
) -> list[tuple[str, Path, Path]]:
    """(name, media file, reference npz) for every file in ``footage`` that has a reference."""
    pairs = []
    for ref in sorted(reference.rglob("*.npz")):
        name = str(ref.relative_to(reference).with_suffix(""))
        media = media_file(footage, name)
        if media is None:
            continue
        if patterns and not any(Path(name).match(p) or p in name for p in patterns):
            continue
        pairs.append((name, media, ref))
    return pairs


def media_file(footage: Path, name: str) -> Path | None:
    """The file in ``footage`` named ``name`` (e.g. ``squat/joelo_squat2``) with any extension, or None."""
    rel = Path(name)
    matches = sorted(p for p in (footage / rel.parent).glob(rel.name + ".*") if p.is_file())
    return matches[0] if matches else None
