"""The ``Pose`` value type: what the pipeline says about one person in one frame.

Coordinate frames (MediaPipe's conventions):

* ``landmarks[:, 0:2]``: x, y normalised to the image width and height, origin at the top-left
  corner, x to the right, y down. Values can fall slightly outside [0, 1] for body parts out of view.
* ``landmarks[:, 2]``: z, depth relative to the hips' midpoint, on the same scale as x (image
  widths); smaller is closer to the camera. Only roughly metric.
* ``landmarks[:, 3]``: visibility, probability in [0, 1] that the landmark is in view and not occluded.
* ``landmarks[:, 4]``: presence, probability in [0, 1] that the landmark is inside the image.
* ``world``: x, y, z in metres, origin at the hips' midpoint, y down, as BlazePose GHUM predicts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.landmarks import NUM_LANDMARKS, PoseLandmark, mirrored_indices

X, Y, Z, VISIBILITY, PRESENCE = range(5)

_MIRROR = np.asarray(mirrored_indices())


@dataclass(frozen=True, eq=False)
class Pose:
    """One person's pose in one frame.

    Attributes:
        landmarks: (33, 5) float32: x, y (normalised image coordinates), z, visibility, presence.
        world: (33, 3) float32: metres, hip-centred.
        score: pose presence in [0, 1] as the landmark model reports it.
        image_size: (width, height) of the frame in pixels.
        timestamp: seconds since the start of the stream.
        mask: optional person probability in [0, 1], float32 (h, w), covering the whole frame. Its
            size is the frame's, or smaller when the pipeline works at a reduced mask resolution;
            use ``mask_at`` for a given size.
    """

    landmarks: npt.NDArray[np.float32]
    world: npt.NDArray[np.float32]
    score: float
    image_size: tuple[int, int]
    timestamp: float = 0.0
    mask: npt.NDArray[np.float32] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.landmarks.shape != (NUM_LANDMARKS, 5):
            raise ValueError(f"landmarks must have shape (33, 5), but got {self.landmarks.shape}")
        if self.world.shape != (NUM_LANDMARKS, 3):
            raise ValueError(f"world must have shape (33, 3), but got {self.world.shape}")
        if self.mask is not None and self.mask.ndim != 2:
            raise ValueError(f"mask must be 2-D (h, w), but got shape {self.mask.shape}")
        width, height = self.image_size
        if width <= 0 or height <= 0:
            raise ValueError(f"image_size must be positive (width, height), but got {self.image_size}")

    # -- accessors -------------------------------------------------------------------------

    @property
    def xy(self) -> npt.NDArray[np.float32]:
        """(33, 2) x, y normalised to the image width and height."""
        return self.landmarks[:, :2]

    @property
    def visibility(self) -> npt.NDArray[np.float32]:
        """(33,) visibility in [0, 1]."""
        return self.landmarks[:, VISIBILITY]

    def pixels(self) -> npt.NDArray[np.float32]:
        """(33, 2) x, y in pixels of the frame."""
        return self.landmarks[:, :2] * np.asarray(self.image_size, np.float32)

    def point(self, landmark: PoseLandmark) -> npt.NDArray[np.float32]:
        """(2,) normalised x, y of one landmark."""
        return self.landmarks[int(landmark), :2]

    def bbox(self, min_visibility: float = 0.0) -> tuple[float, float, float, float]:
        """Normalised (xmin, ymin, xmax, ymax) of the landmarks with at least ``min_visibility``.

        Falls back to all landmarks when none is visible enough.
        """
        keep = self.visibility >= min_visibility
        pts = self.xy[keep] if keep.any() else self.xy
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def mask_at(self, width: int, height: int) -> npt.NDArray[np.float32] | None:
        """Person probability resized to (height, width) float32, or None without a mask."""
        if self.mask is None:
            return None
        if self.mask.shape == (height, width):
            return self.mask
        import cv2  # local: keeps this value type importable without OpenCV

        return np.asarray(cv2.resize(self.mask, (width, height), interpolation=cv2.INTER_LINEAR))

    # -- transforms ------------------------------------------------------------------------

    def mirrored(self) -> Pose:
        """The same pose seen in a horizontally flipped image: x -> 1 - x, left and right swapped."""
        lm = self.landmarks[_MIRROR].copy()
        lm[:, X] = 1.0 - lm[:, X]
        world = self.world[_MIRROR].copy()
        world[:, 0] = -world[:, 0]
        mask = None if self.mask is None else np.ascontiguousarray(self.mask[:, ::-1])
        return replace(self, landmarks=lm, world=world, mask=mask)

    # -- serialisation ---------------------------------------------------------------------

    def to_json(self, digits: int = 5) -> dict[str, Any]:
        """The JSON form used by ``edge-pose process`` and MQTT: landmarks, world, score (no mask)."""
        return {
            "landmarks": np.round(self.landmarks.astype(np.float64), digits).tolist(),
            "world": np.round(self.world.astype(np.float64), digits).tolist(),
            "score": round(float(self.score), 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], image_size: tuple[int, int], timestamp: float = 0.0) -> Pose:
        """Rebuild a pose from ``to_json`` output."""
        return cls(
            landmarks=np.asarray(data["landmarks"], np.float32).reshape(NUM_LANDMARKS, 5),
            world=np.asarray(data["world"], np.float32).reshape(NUM_LANDMARKS, 3),
            score=float(data.get("score", 1.0)),
            image_size=(int(image_size[0]), int(image_size[1])),
            timestamp=timestamp,
        )
