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


class SegmenterLike(Protocol):
    """``edge.selfie.SelfieSegmenter``."""

    def segment(
        self, image_bgr: npt.NDArray[np.uint8], output_size: tuple[int, int] | None = None
    ) -> npt.NDArray[np.float32]: ...


class SelfieMaskSilhouettes:
    """Silhouettes from Selfie Segmentation (``silhouette.source = "selfie-general" | "selfie-landscape"``).

    The segmenter runs only when a silhouette is due (``publish.silhouette_hz``), on the whole frame,
    even without a pose; the pose's landmarks, when there are some, pick the person's component.

    Args:
        segmenter: the Selfie Segmentation model.
        extractor: the silhouette extractor (its ``source`` should name the segmenter's variant).
        mask_long_side: long side of the mask the segmenter returns (the extractor works at 256 px
            anyway, so a full-frame mask would only cost the upsampling).
        png, png_size: as for ``PoseMaskSilhouettes``.
    """

    def __init__(
        self,
        segmenter: SegmenterLike,
        extractor: SilhouetteExtractorLike,
        mask_long_side: int = 256,
        png: bool = False,
        png_size: int = 96,
    ) -> None:
        self._segmenter = segmenter
        self._extractor = extractor
        self._long_side = mask_long_side
        self._png = png
        self._png_size = png_size

    def compute(self, frame: Frame, pose: Pose | None) -> dict[str, Any] | None:
        width, height = frame.size
        scale = min(1.0, self._long_side / max(width, height))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        mask = self._segmenter.segment(frame.image, size)
        silhouette = self._extractor.extract(mask, None if pose is None else pose.landmarks)
        return None if silhouette is None else silhouette.to_json(png=self._png, png_size=self._png_size)
