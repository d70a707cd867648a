"""Image to model-input tensors, and the matrices that map model space back to the image.

Replicates MediaPipe's ``ImageToTensorCalculator`` on the CPU (``image_to_tensor_converter_opencv.cc``,
``image_to_tensor_utils.cc``): the ROI, padded to the tensor's aspect ratio when ``keep_aspect_ratio``,
is mapped onto the tensor with ``cv2.getPerspectiveTransform`` of its ``cv2.boxPoints`` and resampled
bilinearly on the uint8 image, then scaled to the float range. Frames are BGR; only the small crop is
converted to RGB.

MediaPipe's ``warpPerspective`` (OpenCV 4) rounds each source position to 1/32 pixel and blends with
fixed-point weights; OpenCV 5 rewrote the warps with other rounding, which moves crop pixels by up to 5
levels and the landmarks by ~0.5 % of the body on some images. ``sample_maps`` therefore builds OpenCV
4's fixed-point maps explicitly and resamples with ``cv2.remap``: MediaPipe's pixels on OpenCV 4 and 5
alike, and faster than ``warpPerspective`` on OpenCV 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.blazepose.roi import NormRect


@dataclass(frozen=True)
class PixelRect:
    """A rotated rectangle in pixels: centre, size, rotation (radians, clockwise with y down)."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    @classmethod
    def from_norm(cls, rect: NormRect, image_width: int, image_height: int) -> PixelRect:
        return cls(*rect.to_pixels(image_width, image_height))

    @classmethod
    def whole_image(cls, image_width: int, image_height: int) -> PixelRect:
        return cls(0.5 * image_width, 0.5 * image_height, float(image_width), float(image_height), 0.0)


@dataclass(frozen=True)
class Letterbox:
    """Padding added around the ROI to keep its aspect ratio, as fractions of the padded side."""

    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0


def pad_to_aspect(roi: PixelRect, tensor_width: int, tensor_height: int) -> tuple[PixelRect, Letterbox]:
    """Grow the ROI to the tensor's aspect ratio (``PadRoi`` with ``keep_aspect_ratio: true``)."""
    tensor_aspect = tensor_height / tensor_width
    roi_aspect = roi.height / roi.width
    if tensor_aspect > roi_aspect:
        new_width, new_height = roi.width, roi.width * tensor_aspect
        vertical = (1.0 - roi_aspect / tensor_aspect) / 2.0
        padding = Letterbox(0.0, vertical, 0.0, vertical)
    else:
        new_width, new_height = roi.height / tensor_aspect, roi.height
        horizontal = (1.0 - tensor_aspect / roi_aspect) / 2.0
        padding = Letterbox(horizontal, 0.0, horizontal, 0.0)
    return PixelRect(roi.cx, roi.cy, new_width, new_height, roi.rotation), padding


def crop_matrix(roi: PixelRect, tensor_width: int, tensor_height: int) -> npt.NDArray[np.float64]:
    """(3, 3) perspective matrix from image pixels to tensor pixels for a (padded) ROI."""
    corners = cv2.boxPoints(((roi.cx, roi.cy), (roi.width, roi.height), math.degrees(roi.rotation)))
    dst = np.array(
        [[0, tensor_height], [0, 0], [tensor_width, 0], [tensor_width, tensor_height]], dtype=np.float32
    )
    return np.asarray(cv2.getPerspectiveTransform(corners.astype(np.float32), dst))


SampleMaps = tuple[npt.NDArray[np.int16], npt.NDArray[np.uint16]]


def sample_maps(
    inverse: npt.NDArray[np.float64], width: int, height: int, *, exact: bool = False
) -> SampleMaps:
    """Fixed-point ``cv2.remap`` maps for an output-to-source pixel mapping, as OpenCV 4 computes them.

    Args:
        inverse: (3, 3) matrix from output pixels to source pixels.
        width, height: output size in pixels.
        exact: reproduce OpenCV 4's ``warpPerspective`` to the bit (double precision in its operation
            order, rounded half to even to 1/32 pixel): ~0.5 ms for 256x256, for maps that are cached.
            Otherwise the positions are rounded from float32 by ``cv2.convertMaps`` (~0.2 ms): a few
            positions in ten thousand land on the neighbouring 1/32 pixel. Per-frame crops use that.

    Returns:
        (map1, map2) in OpenCV's CV_16SC2 / CV_16UC1 form: integer source pixel and 1/32-pixel fraction.
    """
    m = np.asarray(inverse, np.float64).ravel()
    if not exact:  # float32 throughout: positions are then rounded to 1/32 pixel anyway
        xs32 = np.arange(width, dtype=np.float32)[None, :]
        ys32 = np.arange(height, dtype=np.float32)[:, None]
        map_x = np.float32(m[0]) * xs32 + (np.float32(m[1]) * ys32 + np.float32(m[2]))
        map_y = np.float32(m[3]) * xs32 + (np.float32(m[4]) * ys32 + np.float32(m[5]))
        map1, map2 = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
        return np.asarray(map1), np.asarray(map2)
    xs = np.arange(width, dtype=np.float64)[None, :]
    ys = np.arange(height, dtype=np.float64)[:, None]
    bits, size = 5, 32  # OpenCV's INTER_BITS, INTER_TAB_SIZE
    w = (m[7] * ys + m[8]) + m[6] * xs
    w = np.where(w != 0, size / np.where(w != 0, w, 1.0), 0.0)
    limit = float(np.iinfo(np.int32).max)
    fx = np.clip(((m[1] * ys + m[2]) + m[0] * xs) * w, -limit - 1, limit)
    fy = np.clip(((m[4] * ys + m[5]) + m[3] * xs) * w, -limit - 1, limit)
    ix, iy = np.rint(fx).astype(np.int64), np.rint(fy).astype(np.int64)  # cvRound: half to even
    map1 = np.stack([ix >> bits, iy >> bits], axis=-1).clip(-32768, 32767).astype(np.int16)
    map2 = ((iy & (size - 1)) * size + (ix & (size - 1))).astype(np.uint16)
    return map1, map2


def resample(image: npt.NDArray[Any], maps: SampleMaps, *, border_replicate: bool) -> npt.NDArray[Any]:
    """Bilinear resampling through fixed-point maps; outside the source: replicate or zero."""
    return np.asarray(
        cv2.remap(
            image,
            maps[0],
            maps[1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE if border_replicate else cv2.BORDER_CONSTANT,
        )
    )


def crop_maps(roi: PixelRect, tensor_width: int, tensor_height: int, *, exact: bool = False) -> SampleMaps:
    """Fixed-point maps that resample a (padded) ROI into a tensor-sized crop (see ``sample_maps``)."""
    forward = crop_matrix(roi, tensor_width, tensor_height)
    _, inverse = cv2.invert(forward, flags=cv2.DECOMP_LU)  # as warpPerspective inverts its matrix
    return sample_maps(np.asarray(inverse, np.float64), tensor_width, tensor_height, exact=exact)


def crop(
    image: npt.NDArray[np.uint8],
    roi: PixelRect,
    tensor_width: int,
    tensor_height: int,
    *,
    border_replicate: bool,
    maps: SampleMaps | None = None,
) -> npt.NDArray[np.uint8]:
    """Resample the ROI of a BGR image into a (tensor_height, tensor_width, 3) RGB uint8 crop.

    ``maps`` (from ``crop_maps``) may be passed when the same ROI repeats, e.g. the detector's letterbox.
    """
    if maps is None:
        maps = crop_maps(roi, tensor_width, tensor_height)
    warped = resample(image, maps, border_replicate=border_replicate)
    return np.asarray(cv2.cvtColor(warped, cv2.COLOR_BGR2RGB), np.uint8)


def roi_to_image_matrix(roi: PixelRect, image_width: int, image_height: int) -> npt.NDArray[np.float64]:
    """(3, 3) affine map from tensor-normalised (u, v) in [0, 1]^2 to image-normalised (x, y).

    ``GetRotatedSubRectToRectTransformMatrix`` without flip, restricted to x and y.
    """
    a, b = roi.width, roi.height
    c, d = math.cos(roi.rotation), math.sin(roi.rotation)
    g, h = 1.0 / image_width, 1.0 / image_height
    return np.array(
        [
            [a * c * g, -b * d * g, (-0.5 * a * c + 0.5 * b * d + roi.cx) * g],
            [a * d * h, b * c * h, (-0.5 * b * c - 0.5 * a * d + roi.cy) * h],
            [0.0, 0.0, 1.0],
        ]
    )
