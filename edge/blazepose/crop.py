"""Image to model-input tensors, and the matrices that map model space back to the image.

Replicates MediaPipe's ``ImageToTensorCalculator`` on the CPU (``image_to_tensor_converter_opencv.cc``,
``image_to_tensor_utils.cc``): the ROI, padded to the tensor's aspect ratio when ``keep_aspect_ratio``,
is mapped onto the tensor with ``cv2.getPerspectiveTransform`` of its ``cv2.boxPoints`` and resampled
bilinearly on the uint8 image, then scaled to the float range. Frames are BGR; only the small crop is
converted to RGB.

The ROI geometry is float32 as in MediaPipe (``GetRoi``, ``PadRoi``, the angle ``rotation * 180.f / M_PI``).
MediaPipe's ``warpPerspective`` (OpenCV 4) rounds each source position to 1/32 pixel and blends with
fixed-point weights; OpenCV 5 rewrote the warps with other rounding, which moves crop pixels by up to 5
levels and the landmarks by ~0.5 % of the body on some images. ``sample_maps`` therefore computes OpenCV
4's fixed-point positions explicitly, in its double-precision operation order, and ``cv2.remap`` blends:
the crop equals MediaPipe's to the bit on OpenCV 4, and on OpenCV 5 but for its remap rounding about one
value in 10^5 the other way.

``warp_crop`` is the other way: the installed OpenCV's own ``warpPerspective``, the very call MediaPipe
makes. On OpenCV 4 it is the same crop; on OpenCV 5 it rounds as OpenCV 5 does, but costs a fifth of the
positions and the remap (0.09 instead of 0.24 + 0.34 ms for a 256x256 crop on the development machine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.blazepose.floats import F32
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
        """``GetRoi``: the normalised rect times the image size, in float32 as MediaPipe."""
        w, h = F32(image_width), F32(image_height)
        return cls(
            float(F32(rect.x_center) * w),
            float(F32(rect.y_center) * h),
            float(F32(rect.width) * w),
            float(F32(rect.height) * h),
            float(F32(rect.rotation)),
        )

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
    """Grow the ROI to the tensor's aspect ratio (``PadRoi`` with ``keep_aspect_ratio: true``, float32)."""
    tensor_aspect = F32(tensor_height) / F32(tensor_width)
    width, height = F32(roi.width), F32(roi.height)
    roi_aspect = height / width
    if tensor_aspect > roi_aspect:
        new_width, new_height = width, width * tensor_aspect
        vertical = float((F32(1) - roi_aspect / tensor_aspect) / F32(2))
        padding = Letterbox(0.0, vertical, 0.0, vertical)
    else:
        new_width, new_height = height / tensor_aspect, height
        horizontal = float((F32(1) - tensor_aspect / roi_aspect) / F32(2))
        padding = Letterbox(horizontal, 0.0, horizontal, 0.0)
    return PixelRect(roi.cx, roi.cy, float(new_width), float(new_height), roi.rotation), padding


def crop_matrix(roi: PixelRect, tensor_width: int, tensor_height: int) -> npt.NDArray[np.float64]:
    """(3, 3) perspective matrix from image pixels to tensor pixels for a (padded) ROI."""
    # ``roi.rotation * 180.f / M_PI``: a float product, a double quotient, stored as the float angle.
    angle = float(F32(float(F32(roi.rotation) * F32(180.0)) / math.pi))
    corners = cv2.boxPoints(((roi.cx, roi.cy), (roi.width, roi.height), angle))
    dst = np.array(
        [[0, tensor_height], [0, 0], [tensor_width, 0], [tensor_width, tensor_height]], dtype=np.float32
    )
    return np.asarray(cv2.getPerspectiveTransform(corners.astype(np.float32), dst))


SampleMaps = tuple[npt.NDArray[np.int16], npt.NDArray[np.uint16]]

#: Whether the installed OpenCV's ``warpPerspective`` samples where OpenCV 4's does (MediaPipe's crop).
OPENCV_WARP_IS_MEDIAPIPES = int(cv2.__version__.split(".")[0]) < 5

#: Columns per block of OpenCV's warp loops (``BLOCK_SZ * BLOCK_SZ / (BLOCK_SZ / 2)``).
_BLOCK = 64


class MapWorkspace:
    """Buffers reused by ``sample_maps`` for one output size: per-frame crops allocate nothing.

    Half a megabyte per temporary would otherwise come from fresh pages every frame. The maps that
    ``sample_maps`` returns with a workspace live in it: use them before the next call.
    """

    def __init__(self, width: int, height: int) -> None:
        self.size = (width, height)
        shape = (height, -(-width // _BLOCK), _BLOCK)
        self.per_unit = np.empty(shape, np.float64)
        self.fixed = np.empty(shape, np.float64)
        self.positions = (np.empty(shape, np.float32), np.empty(shape, np.float32))
        self.map1 = np.empty((height, width, 2), np.int16)
        self.map2 = np.empty((height, width), np.uint16)


def sample_maps(
    inverse: npt.NDArray[np.float64], width: int, height: int, workspace: MapWorkspace | None = None
) -> SampleMaps:
    """Fixed-point ``cv2.remap`` maps for an output-to-source pixel mapping, as OpenCV 4 computes them.

    Reproduces OpenCV 4's ``warpPerspective`` (MediaPipe's crop) to the bit: source positions in double
    precision in its operation order, rounded half to even to 1/32 pixel. OpenCV walks the output in
    blocks of 64 columns: per block row ``X0 = M0 * x_block + M1 * y + M2``, then ``X = X0 + M0 * x_in_block``
    (times ``32 / W`` with W likewise); that association decides the last bit, and so now and then the
    1/32 pixel. The rounded positions are exact in float32 (as n/32), so ``cv2.convertMaps`` packs them.

    Args:
        inverse: (3, 3) matrix from output pixels to source pixels.
        width, height: output size in pixels.
        workspace: buffers to compute in (see ``MapWorkspace``); fresh arrays when None.

    Returns:
        (map1, map2) in OpenCV's CV_16SC2 / CV_16UC1 form: integer source pixel and 1/32-pixel fraction.
    """
    m = np.asarray(inverse, np.float64).ravel()
    if workspace is None or workspace.size != (width, height):
        workspace = MapWorkspace(width, height)
    blocks = -(-width // _BLOCK)
    starts = (np.arange(blocks) * _BLOCK).astype(np.float64)[None, :, None]  # (1, B, 1) block start columns
    inner = np.arange(_BLOCK, dtype=np.float64)  # (64,) columns within a block
    ys = np.arange(height, dtype=np.float64)[:, None, None]  # (H, 1, 1)
    size = 32.0  # OpenCV's INTER_TAB_SIZE
    # w per pixel: crops are near-affine, but their w still differs in the last bits
    w = np.add((m[6] * starts + m[7] * ys) + m[8], m[6] * inner, out=workspace.per_unit)  # (H, B, 64)
    corners = np.array([[0.0, 0.0, 1.0], [width, 0.0, 1.0], [0.0, height, 1.0], [width, height, 1.0]])
    reach = np.abs(corners @ m.reshape(3, 3)[:2].T).max() * size
    if not (w.min() > 0.5 and reach < 2.0**23):  # degenerate, mirrored or far away: the general path
        columns = np.arange(width)
        return _sample_maps_saturating(
            m,
            (columns - columns % _BLOCK).astype(np.float64),
            (columns % _BLOCK).astype(np.float64),
            np.arange(height, dtype=np.float64)[:, None],
        )
    np.divide(size, w, out=w)
    fixed = workspace.fixed
    for (a, b, c), position in zip(
        ((m[0], m[1], m[2]), (m[3], m[4], m[5])), workspace.positions, strict=True
    ):
        np.add((a * starts + b * ys) + c, a * inner, out=fixed)  # (H, B, 64)
        fixed *= w
        np.rint(fixed, out=fixed)  # cvRound: half to even
        np.multiply(fixed, 1.0 / size, out=position, casting="same_kind")
    x, y = (np.ascontiguousarray(p.reshape(height, -1)[:, :width]) for p in workspace.positions)
    map1, map2 = cv2.convertMaps(x, y, cv2.CV_16SC2, dstmap1=workspace.map1, dstmap2=workspace.map2)
    return np.asarray(map1), np.asarray(map2)


def _sample_maps_saturating(
    m: npt.NDArray[np.float64],
    block: npt.NDArray[np.float64],
    inner: npt.NDArray[np.float64],
    ys: npt.NDArray[np.float64],
) -> SampleMaps:
    """``sample_maps`` in general: any w, far-away positions, OpenCV's saturations (slower)."""
    w = ((m[6] * block + m[7] * ys) + m[8]) + m[6] * inner
    bits, size = 5, 32
    w = np.where(w != 0, size / np.where(w != 0, w, 1.0), 0.0)
    limit = float(np.iinfo(np.int32).max)
    with np.errstate(invalid="ignore"):
        fx = np.clip((((m[0] * block + m[1] * ys) + m[2]) + m[0] * inner) * w, -limit - 1, limit)
        fy = np.clip((((m[3] * block + m[4] * ys) + m[5]) + m[3] * inner) * w, -limit - 1, limit)
    ix = np.rint(np.nan_to_num(fx)).astype(np.int64)
    iy = np.rint(np.nan_to_num(fy)).astype(np.int64)
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


def crop_maps(
    roi: PixelRect, tensor_width: int, tensor_height: int, workspace: MapWorkspace | None = None
) -> SampleMaps:
    """Fixed-point maps that resample a (padded) ROI into a tensor-sized crop (see ``sample_maps``)."""
    forward = crop_matrix(roi, tensor_width, tensor_height)
    _, inverse = cv2.invert(forward, flags=cv2.DECOMP_LU)  # as warpPerspective inverts its matrix
    return sample_maps(np.asarray(inverse, np.float64), tensor_width, tensor_height, workspace)


def crop(
    image: npt.NDArray[np.uint8],
    roi: PixelRect,
    tensor_width: int,
    tensor_height: int,
    *,
    border_replicate: bool,
    maps: SampleMaps | None = None,
    workspace: MapWorkspace | None = None,
) -> npt.NDArray[np.uint8]:
    """Resample the ROI of a BGR image into a (tensor_height, tensor_width, 3) RGB uint8 crop.

    ``maps`` (from ``crop_maps``) may be passed when the same ROI repeats, e.g. the detector's letterbox;
    otherwise they are computed, in ``workspace`` when given.
    """
    if maps is None:
        maps = crop_maps(roi, tensor_width, tensor_height, workspace)
    warped = resample(image, maps, border_replicate=border_replicate)
    return np.asarray(cv2.cvtColor(warped, cv2.COLOR_BGR2RGB), np.uint8)


def warp_crop(
    image: npt.NDArray[np.uint8],
    roi: PixelRect,
    tensor_width: int,
    tensor_height: int,
    *,
    border_replicate: bool,
    matrix: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.uint8]:
    """``crop`` with the installed OpenCV's own ``warpPerspective`` (see the module docstring).

    Returns a (tensor_height, tensor_width, 3) RGB uint8 crop of a BGR image; equal to ``crop``'s on
    OpenCV 4, up to ~1/32 pixel apart on OpenCV 5. ``matrix`` (``crop_matrix`` of the same ROI) may be
    passed when it was computed ahead.
    """
    if matrix is None:
        matrix = crop_matrix(roi, tensor_width, tensor_height)
    warped = cv2.warpPerspective(
        image,
        matrix,
        (tensor_width, tensor_height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE if border_replicate else cv2.BORDER_CONSTANT,
    )
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
