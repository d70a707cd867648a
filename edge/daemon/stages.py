"""Adapters that turn the other parts' classes into the runtime's small stage interfaces."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge.pose import Pose
from edge.sources import Frame


class SilhouetteLike(Protocol):
    def to_json(self, png: bool = False, png_size: int = 96) -> dict[str, Any]: ...


class SilhouetteExtractorLike(Protocol):
    """``edge.silhouette.SilhouetteExtractor``."""

    def extract(
        self, mask: npt.NDArray[Any], landmarks: npt.NDArray[np.floating] | None = None
    ) -> SilhouetteLike | None: ...


class PoseMaskSilhouettes:
    """Silhouettes from the pose model's own person mask (``silhouette.source = "pose"``).

    Args:
        extractor: the silhouette extractor.
        png: also attach a small PNG of the mask (``silhouette.png``).
        png_size: its long side in pixels (``silhouette.png_size``).
    """

    def __init__(self, extractor: SilhouetteExtractorLike, png: bool = False, png_size: int = 96) -> None:
        self._extractor = extractor
        self._png = png
        self._png_size = png_size

    def compute(self, frame: Frame, pose: Pose | None) -> dict[str, Any] | None:
        """The silhouette JSON, or None without a person or a mask."""
        if pose is None or pose.mask is None:
            return None
        silhouette = self._extractor.extract(pose.mask, pose.landmarks)
        return None if silhouette is None else silhouette.to_json(png=self._png, png_size=self._png_size)
