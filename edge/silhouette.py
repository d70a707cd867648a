"""Silhouettes: one person's outline, area and position from a person-probability mask.

The mask comes from BlazePose (``Pose.mask``) or Selfie Segmentation (``edge.selfie``); both are float32
(h, w) probabilities covering the whole frame. ``SilhouetteExtractor.extract`` works at a small fixed
resolution (``working_size``, long side) so its cost barely depends on the frame size:

1. downscale the probability (``INTER_AREA``), threshold it (``>= threshold``);
2. keep one person: the connected component (8-connected) under the torso when landmarks are given,
   else the largest one, plus the parts the threshold cut off it (nearby components of some size,
   components holding a visible landmark); other blobs (other people, specks) are dropped;
3. fill the holes smaller than ``max_hole`` of the person's area (a real gap, say between an arm
   on the hip and the body, stays open);
4. trace the outer contour and simplify it (``cv2.approxPolyDP``, epsilon grown until at most
   ``max_points`` vertices remain).

Coordinates are normalised like landmarks: x / width, y / height, origin top-left, y down; a pixel's
centre is at ((i + 0.5) / w, (j + 0.5) / h).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import ConfigError, InputError
from edge.landmarks import PoseLandmark

log = logging.getLogger(__name__)

#: ``Silhouette.source`` values used by edge-pose.
SOURCES = ("pose", "selfie-general", "selfie-landscape")

#: Landmarks whose pixels vote for the person's component; their midpoints vote too.
_TORSO = (
    PoseLandmark.LEFT_SHOULDER,
    PoseLandmark.RIGHT_SHOULDER,
    PoseLandmark.LEFT_HIP,
    PoseLandmark.RIGHT_HIP,
)

_DIGITS = 4
_MIN_VISIBILITY = 0.5  # MediaPipe's drawing threshold for "the model sees this landmark"


@dataclass(frozen=True, eq=False)
class Silhouette:
    """One person's silhouette in one frame.

    Attributes:
        polygon: (N, 2) float32 outer contour, normalised x, y, 3 <= N <= ``max_points``, in
            ``cv2.findContours`` order (clockwise on screen, y down). Not closed: the last vertex
            connects back to the first.
        area: fraction of the frame covered by the cleaned mask, in (0, 1].
        bbox: normalised (xmin, ymin, xmax, ymax) of the cleaned mask (pixel edges, so xmax - xmin is
            the width as a fraction of the frame).
        centroid: normalised (x, y) centre of mass of the cleaned mask.
        mask: (h, w) bool cleaned mask at the extractor's working resolution, covering the whole frame.
        threshold: the foreground threshold used on the probability.
        source: what produced the probability: ``pose``, ``selfie-general`` or ``selfie-landscape``.
    """

    polygon: npt.NDArray[np.float32]
    area: float
    bbox: tuple[float, float, float, float]
    centroid: tuple[float, float]
    mask: npt.NDArray[np.bool_] = field(repr=False)
    threshold: float
    source: str

    def __repr__(self) -> str:
        bbox = ", ".join(f"{v:.3f}" for v in self.bbox)
        return (
            f"Silhouette(source={self.source!r}, points={len(self.polygon)}, area={self.area:.4f}, "
            f"bbox=({bbox}), centroid=({self.centroid[0]:.3f}, {self.centroid[1]:.3f}), "
            f"mask={self.mask.shape[1]}x{self.mask.shape[0]}, threshold={self.threshold})"
        )

    def to_json(self, png: bool = False, png_size: int = 96) -> dict[str, Any]:
        """The compact form published over MQTT; numbers rounded to 4 decimals.

        Args:
            png: also include ``png``, the binary mask as a base64 PNG (1 bit per pixel).
            png_size: long side in pixels of that PNG.

        Returns:
            ``{"polygon": [[x, y], ...], "area", "bbox": [xmin, ymin, xmax, ymax], "centroid": [x, y],
            "threshold", "source"}`` (+ ``"png"``).
        """
        data: dict[str, Any] = {
            "polygon": np.round(self.polygon.astype(np.float64), _DIGITS).tolist(),
            "area": round(float(self.area), _DIGITS),
            "bbox": [round(float(v), _DIGITS) for v in self.bbox],
            "centroid": [round(float(v), _DIGITS) for v in self.centroid],
            "threshold": round(float(self.threshold), _DIGITS),
            "source": self.source,
        }
        if png:
            data["png"] = mask_png_base64(self.mask, png_size)
        return data


def mask_png_base64(mask: npt.NDArray[np.bool_], long_side: int = 96) -> str:
    """A bool mask as a 1-bit PNG, base64 (ASCII), downscaled so its long side is ``long_side``.

    Raises:
        InputError: ``long_side`` is not positive.
    """
    if long_side < 1:
        raise InputError(f"png_size must be a positive number of pixels, got {long_side}")
    height, width = mask.shape
    scale = long_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = mask.astype(np.uint8) * np.uint8(255)
    if size != (width, height):
        small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
    binary = np.where(small >= 128, np.uint8(255), np.uint8(0))
    ok, encoded = cv2.imencode(".png", binary, [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:  # pragma: no cover - OpenCV always encodes an 8-bit single-channel image
        raise InputError("could not encode the silhouette mask as PNG")
    return base64.b64encode(encoded.tobytes()).decode("ascii")


class SilhouetteExtractor:
    """Turns a person-probability mask into a ``Silhouette``.

    Args:
        threshold: foreground threshold on the probability (a pixel is person when ``p >= threshold``).
        max_points: most vertices of the simplified polygon (at least 3).
        min_area: smallest silhouette, as a fraction of the frame; smaller ones give None.
        working_size: long side in pixels the mask is downscaled to first (never upscaled).
        source: ``Silhouette.source`` of what this extractor gets (``pose``, ``selfie-general``...).
        max_hole: holes in the person smaller than this fraction of the person's area are filled.
        part_gap: parts of the mask this close to the person (fraction of the long side) belong to it.
        min_part: smallest such part, as a fraction of the person's main component.

    Raises:
        ConfigError: a parameter is out of range (the message names the ``silhouette.*`` key).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        max_points: int = 64,
        min_area: float = 0.002,
        working_size: int = 320,
        source: str = "pose",
        *,
        max_hole: float = 0.01,
        part_gap: float = 0.02,
        min_part: float = 0.01,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"silhouette.threshold must be between 0 and 1 (exclusive), got {threshold}")
        if max_points < 3:
            raise ConfigError(f"silhouette.max_points must be at least 3, got {max_points}")
        if not 0.0 <= min_area < 1.0:
            raise ConfigError(
                f"silhouette.min_area must be a fraction of the frame in [0, 1), got {min_area}"
            )
        if working_size < 16:
            raise ConfigError(f"silhouette.working_size must be at least 16 pixels, got {working_size}")
        if not 0.0 <= max_hole < 1.0:
            raise ConfigError(
                f"silhouette.max_hole must be a fraction of the person in [0, 1), got {max_hole}"
            )
        if not 0.0 <= part_gap < 1.0:
            raise ConfigError(
                f"silhouette.part_gap must be a fraction of the frame in [0, 1), got {part_gap}"
            )
        if not 0.0 <= min_part <= 1.0:
            raise ConfigError(f"silhouette.min_part must be a fraction in [0, 1], got {min_part}")
        if source not in SOURCES:
            raise ConfigError(
                f"silhouette source {source!r} is unknown; expected one of {', '.join(SOURCES)}"
            )
        self.threshold = float(threshold)
        self.max_points = int(max_points)
        self.min_area = float(min_area)
        self.working_size = int(working_size)
        self.source = source
        self.max_hole = float(max_hole)
        self.part_gap = float(part_gap)
        self.min_part = float(min_part)

    # -- steps, public so that scripts and the LCD can reuse them --------------------------

    def binarize(self, mask: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
        """Downscale to the working size and threshold: (h', w') uint8, 1 = person.

        Args:
            mask: (h, w) float probability in [0, 1], or uint8 0..255 (read as value / 255).

        Raises:
            InputError: the mask is not a non-empty 2-D array.
        """
        if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.size == 0:
            shape = getattr(mask, "shape", None)
            raise InputError(f"a person mask must be a non-empty 2-D array (h, w), got shape {shape}")
        height, width = mask.shape
        long_side = max(height, width)
        if mask.dtype == np.uint8:
            cut: float = self.threshold * 255.0
        else:
            mask = mask.astype(np.float32, copy=False)
            cut = self.threshold
        if long_side > self.working_size:
            scale = self.working_size / long_side
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            mask = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
        return (mask >= cut).astype(np.uint8)

    def cleanup(
        self, binary: npt.NDArray[np.uint8], landmarks: npt.NDArray[np.floating] | None = None
    ) -> npt.NDArray[np.uint8]:
        """Keep the person's component(s) and fill their small holes; (h, w) uint8 0/1, all zero when none.

        The main component is the one under the torso (landmarks given) or the largest. Parts the mask
        cut off at a thin ankle, wrist or neck are kept too: components at least ``min_part`` of the
        main one's area within ``part_gap`` of it, and (with landmarks) components holding a visible
        landmark. Other people further away and specks are dropped.
        """
        count, found, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        labels = np.asarray(found, np.int32)
        if count <= 1:
            return np.zeros_like(binary)
        keep = np.zeros(count, bool)
        main = 0
        if landmarks is not None:
            points = _landmark_points(landmarks)
            main = _majority_label(labels, _torso_points(points))
            keep[_labels_at(labels, _visible(points, landmarks))] = True
        if main == 0:
            main = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        keep[main] = True
        if count > 2 and self.part_gap > 0:
            near = cv2.dilate((labels == main).astype(np.uint8), self._gap_kernel(binary.shape)).astype(bool)
            candidates = np.unique(labels[near])
            large = stats[candidates, cv2.CC_STAT_AREA] >= self.min_part * stats[main, cv2.CC_STAT_AREA]
            keep[candidates[large]] = True
        keep[0] = False
        person = keep[labels].astype(np.uint8)
        max_hole_px = self.max_hole * np.count_nonzero(person)
        if max_hole_px >= 1:
            # Holes are background components (4-connected, the dual of 8) not touching the border.
            hole_count, hole_labels, hole_stats, _ = cv2.connectedComponentsWithStats(
                1 - person, connectivity=4
            )
            if hole_count > 1:
                h, w = person.shape
                x, y = hole_stats[:, cv2.CC_STAT_LEFT], hole_stats[:, cv2.CC_STAT_TOP]
                bw, bh = hole_stats[:, cv2.CC_STAT_WIDTH], hole_stats[:, cv2.CC_STAT_HEIGHT]
                inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
                small = inside & (hole_stats[:, cv2.CC_STAT_AREA] <= max_hole_px)
                small[0] = False  # label 0 is the person itself
                if small.any():
                    person[small[hole_labels]] = 1
        return person

    def polygon(self, person: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Outer contour of the person, simplified to at most ``max_points`` vertices; (N, 2) pixels.

        When the mask has several parts, parts within ``part_gap`` of each other are joined first (a
        morphological closing) so that one outline covers them; a part further away is left out of the
        outline (it stays in the mask).
        """
        contours, _ = cv2.findContours(person, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if len(contours) > 1 and self.part_gap > 0:
            closed = np.asarray(
                cv2.morphologyEx(person, cv2.MORPH_CLOSE, self._gap_kernel(person.shape)), np.uint8
            )
            joined = closed | person
            contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        contour = max(contours, key=cv2.contourArea)
        if len(contour) <= self.max_points and len(contour) >= 3:
            return contour.reshape(-1, 2).astype(np.float32)
        # Grow epsilon geometrically from half a pixel: the first result under the bound keeps the
        # most detail the bound allows (within a factor 1.25 of epsilon).
        epsilon = 0.5
        approx = contour
        while True:
            approx = cv2.approxPolyDP(contour, epsilon, True)
            if len(approx) <= self.max_points:
                break
            epsilon *= 1.25
        if len(approx) < 3:  # a tiny or degenerate blob: its bounding box is the honest outline
            x, y, w, h = cv2.boundingRect(contour)
            approx = np.array([[x, y], [x + w - 1, y], [x + w - 1, y + h - 1], [x, y + h - 1]])
        return approx.reshape(-1, 2).astype(np.float32)

    def _gap_kernel(self, shape: tuple[int, ...]) -> npt.NDArray[np.uint8]:
        radius = max(1, round(self.part_gap * max(shape)))
        return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))

    # -- the whole pipeline ----------------------------------------------------------------

    def extract(
        self, mask: npt.NDArray[Any], landmarks: npt.NDArray[np.floating] | None = None
    ) -> Silhouette | None:
        """The silhouette of the person in ``mask``.

        Args:
            mask: (h, w) float32 person probability in [0, 1] covering the whole frame (or uint8 0..255).
            landmarks: (33, >=2) normalised x, y of the pose in the same frame (NaN rows allowed); when
                given, the component under the torso is kept instead of the largest one.

        Returns:
            The silhouette, or None when no pixel reaches the threshold or the person covers less than
            ``min_area`` of the frame.

        Raises:
            InputError: the mask is not a non-empty 2-D array.
        """
        binary = self.binarize(mask)
        person = self.cleanup(binary, landmarks)
        height, width = person.shape
        moments = cv2.moments(person, binaryImage=True)
        pixels = moments["m00"]
        if pixels == 0 or pixels < self.min_area * person.size:
            return None
        x, y, w, h = cv2.boundingRect(person)
        points = self.polygon(person)
        polygon = ((points + 0.5) / np.array([width, height], np.float32)).astype(np.float32)
        return Silhouette(
            polygon=polygon,
            area=float(pixels / person.size),
            bbox=(x / width, y / height, (x + w) / width, (y + h) / height),
            centroid=((moments["m10"] / pixels + 0.5) / width, (moments["m01"] / pixels + 0.5) / height),
            mask=person.astype(bool),
            threshold=self.threshold,
            source=self.source,
        )


def _landmark_points(landmarks: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """(33, 2) normalised x, y, checked."""
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.ndim != 2 or landmarks.shape[0] != len(PoseLandmark) or landmarks.shape[1] < 2:
        raise InputError(f"landmarks must have shape (33, >=2), got {landmarks.shape}")
    return np.asarray(landmarks[:, :2], np.float64)


def _torso_points(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The four torso corners, the shoulders' and hips' midpoints and the torso's centre."""
    torso = points[list(_TORSO)]
    left_shoulder, right_shoulder, left_hip, right_hip = torso
    return np.vstack(
        [torso, (left_shoulder + right_shoulder) / 2, (left_hip + right_hip) / 2, torso.mean(axis=0)]
    )


def _visible(points: npt.NDArray[np.float64], landmarks: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Landmarks the model sees (visibility >= 0.5 when a 4th column is present)."""
    if np.shape(landmarks)[1] >= 4:
        return points[np.asarray(landmarks)[:, 3] >= _MIN_VISIBILITY]
    return points


def _labels_at(labels: npt.NDArray[np.int32], points: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """Component labels under normalised points (0 = background); points off the frame or NaN are skipped."""
    points = points[np.isfinite(points).all(axis=1)]
    height, width = labels.shape
    cols = np.floor(points[:, 0] * width).astype(int)
    rows = np.floor(points[:, 1] * height).astype(int)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    return labels[rows[inside], cols[inside]]


def _majority_label(labels: npt.NDArray[np.int32], points: npt.NDArray[np.float64]) -> int:
    """The component most of the points fall on (0 when none falls on a component)."""
    hits = _labels_at(labels, points)
    hits = hits[hits > 0]
    return int(np.bincount(hits).argmax()) if hits.size else 0
