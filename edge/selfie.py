"""Selfie Segmentation: a second person-mask source, as MediaPipe's ``SelfieSegmentationCpu`` graph runs it.

MediaPipe graph (``mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.pbtxt``), replicated here:

* ``ImageToTensorCalculator``: the whole frame, ``keep_aspect_ratio: false`` (stretched), ``BORDER_ZERO``,
  RGB, range [0, 1]. Its OpenCV converter maps the frame's corners onto the tensor's corners
  (``x' = x * w / W``, no half-pixel shift, unlike ``cv2.resize``) with ``warpPerspective(INTER_LINEAR)``
  on the 8-bit image, then ``convertTo(scale=1/255)``. Here the same sampling is precomputed as remap
  maps (``_tensor_sampling_maps``): the tensor is bit-identical to MediaPipe's.
* Model: ``general`` (256x256 input) or ``landscape`` (144x256). The output is already a probability
  (the sigmoid is inside the model; checked: values span [0, 1]).
* ``TensorsToSegmentationCalculator activation: NONE`` with ``OUTPUT_SIZE`` = the frame's size: the
  (h, w) output is upsampled with ``cv::resize``'s default, bilinear (``INTER_LINEAR``).

MediaPipe's selfie solution does **not** smooth masks over time (the graph has no
``SegmentationSmoothingCalculator``); ``smoothing`` offers the pose graph's blend as an option, off by
default.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import ConfigError, InputError

log = logging.getLogger(__name__)

#: ``variant`` -> model key in ``edge.models.MODELS``.
VARIANTS: dict[str, str] = {
    "general": "selfie_segmentation",
    "landscape": "selfie_segmentation_landscape",
}

#: MediaPipe's ``SegmentationSmoothingCalculator`` polynomial (``segmentation_smoothing_calculator.cc``):
#: approximates the squared uncertainty of a probability p as a function of (p - 0.5)^2.
_UNCERTAINTY_COEFFS = (5.68842, -0.748699, -57.8051, 291.309, -624.717)


def _smooth_mask(
    current: npt.NDArray[np.float32], previous: npt.NDArray[np.float32] | None, ratio: float = 0.7
) -> npt.NDArray[np.float32]:
    """MediaPipe's temporal mask blend: uncertain pixels lean towards the previous mask.

    ``out = p + (prev - p) * u(p) * ratio`` with ``u`` near 1 at p = 0.5 and near 0 at p = 0 or 1.
    Private until ``edge.blazepose.segmentation.smooth_mask`` (same signature) lands on main.

    Args:
        current: (h, w) float32 probability of this frame.
        previous: (h, w) float32 smoothed probability of the previous frame, or None (passthrough).
        ratio: ``combine_with_previous_ratio`` (MediaPipe's pose graph uses 0.7).

    Returns:
        (h, w) float32, a new array.
    """
    if previous is None or previous.shape != current.shape:
        return current.copy()
    c1, c2, c3, c4, c5 = _UNCERTAINTY_COEFFS
    x = current - np.float32(0.5)
    x *= x
    poly = x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5))))
    weight = (np.float32(1.0) - np.minimum(np.float32(1.0), poly)) * np.float32(ratio)
    return (current + (previous - current) * weight).astype(np.float32, copy=False)


class SelfieSegmenter:
    """Person probability for a whole frame from MediaPipe's Selfie Segmentation model.

    Args:
        variant: ``general`` (256x256 tensor, any framing) or ``landscape`` (144x256, faster, for 16:9
            frames).
        backend: inference backend for ``edge.runtime.load_model`` (``auto``, ``litert``, ``tflite-runtime``).
        num_threads: CPU threads for XNNPACK.
        smoothing: MediaPipe's ``combine_with_previous_ratio`` for blending each mask with the previous
            one (0 = off, MediaPipe's selfie default; 0.7 = what its pose graph uses). Call ``reset()``
            between unrelated streams.
        model_dir: extra folder searched first for the model file.

    Raises:
        ConfigError: unknown variant or smoothing outside [0, 1].
        ModelError: the model file is missing or corrupt, or no runtime is installed.
    """

    def __init__(
        self,
        variant: str = "general",
        backend: str = "auto",
        num_threads: int = 2,
        *,
        smoothing: float = 0.0,
        model_dir: str | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ConfigError(
                f"silhouette.selfie_model: unknown Selfie Segmentation variant {variant!r}; "
                f"expected one of {', '.join(VARIANTS)}"
            )
        if not 0.0 <= smoothing <= 1.0:
            raise ConfigError(f"silhouette.smoothing must be between 0 and 1, got {smoothing}")
        from edge.runtime import load_model  # keeps `import edge.selfie` free of the TFLite runtime

        self.variant = variant
        self.smoothing = float(smoothing)
        self._model: Any = load_model(
            VARIANTS[variant], model_dir=model_dir, backend=backend, num_threads=num_threads
        )
        _, self._tensor_h, self._tensor_w, _ = self._model.input_shape
        self._previous: npt.NDArray[np.float32] | None = None
        self._maps_size: tuple[int, int] | None = None
        self._maps: tuple[npt.NDArray[np.int16], npt.NDArray[np.uint16]] = _tensor_sampling_maps(1, 1, 1, 1)

    @property
    def source(self) -> str:
        """``selfie-general`` or ``selfie-landscape``: the ``Silhouette.source`` name of this mask."""
        return f"selfie-{self.variant}"

    @property
    def tensor_size(self) -> tuple[int, int]:
        """(width, height) of the model's input and output tensors."""
        return self._tensor_w, self._tensor_h

    def reset(self) -> None:
        """Forget the previous mask (smoothing starts afresh), e.g. at a new clip."""
        self._previous = None

    def input_tensor(self, image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The model input MediaPipe would build: (1, h, w, 3) float32 RGB in [0, 1], frame stretched."""
        _check_image(image_bgr)
        height, width = image_bgr.shape[:2]
        if (width, height) != self._maps_size:  # the frame size rarely changes: build the maps once
            self._maps = _tensor_sampling_maps(width, height, self._tensor_w, self._tensor_h)
            self._maps_size = (width, height)
        small = cv2.remap(
            image_bgr, *self._maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        tensor = np.empty((1, self._tensor_h, self._tensor_w, 3), np.float32)
        np.multiply(small[..., ::-1], np.float32(1.0 / 255.0), out=tensor[0], dtype=np.float32)
        return tensor

    def segment_tensor(self, image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The model's output: (h, w) float32 probability at tensor resolution, not resized or smoothed."""
        (output,) = self._model.run(self.input_tensor(image_bgr))
        return np.asarray(output[0, :, :, 0], np.float32)

    def segment(
        self, image_bgr: npt.NDArray[np.uint8], output_size: tuple[int, int] | None = None
    ) -> npt.NDArray[np.float32]:
        """Person probability for every pixel of the frame.

        Args:
            image_bgr: (H, W, 3) uint8 BGR frame.
            output_size: (width, height) of the returned mask; None for the frame's own size (what
                MediaPipe returns). A smaller size covers the same frame and saves the upsampling
                (and smoothing) cost.

        Returns:
            (H, W) or (height, width) float32 in [0, 1]; 1 = person.

        Raises:
            InputError: the image is not (H, W, 3) uint8.
        """
        small = self.segment_tensor(image_bgr)
        if output_size is None:
            output_size = (image_bgr.shape[1], image_bgr.shape[0])
        width, height = int(output_size[0]), int(output_size[1])
        if width <= 0 or height <= 0:
            raise InputError(f"output_size must be positive (width, height), got {output_size}")
        mask = np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
        if self.smoothing > 0.0:
            mask = _smooth_mask(mask, self._previous, self.smoothing)
            self._previous = mask
        return mask


def _tensor_sampling_maps(
    width: int, height: int, tensor_w: int, tensor_h: int
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.uint16]]:
    """Fixed-point ``cv2.remap`` maps that sample the frame exactly where MediaPipe's converter does.

    MediaPipe calls ``warpPerspective(INTER_LINEAR)`` with the matrix taking the ROI's corners
    (``cv::boxPoints`` of the full-frame rect, float32) onto the tensor's corners. OpenCV 4.x inverts that
    matrix (LU), computes each tensor pixel's source position in double precision, rounds it to 1/32
    pixel and remaps with those fixed-point coordinates. The same arithmetic is done here once per frame
    size, so the tensor is bit-identical to MediaPipe's with any OpenCV version (OpenCV 5 rewrote
    ``warpPerspective`` and rounds differently; checked on 13 frame sizes against 4.11 and 5.0).

    Returns:
        (tensor_h, tensor_w, 2) int16 integer source x, y and (tensor_h, tensor_w) uint16 interpolation
        table index (32 * y fraction + x fraction, in 1/32 pixel), as ``cv2.remap`` takes them.
    """
    bits, size = 5, 32  # OpenCV's INTER_BITS, INTER_TAB_SIZE
    corners = cv2.boxPoints(((width / 2.0, height / 2.0), (float(width), float(height)), 0.0)).astype(
        np.float32
    )
    # boxPoints order: bottom-left, top-left, top-right, bottom-right (y down).
    targets = np.array([[0, tensor_h], [0, 0], [tensor_w, 0], [tensor_w, tensor_h]], np.float32)
    forward = cv2.getPerspectiveTransform(corners, targets)
    _, inverse = cv2.invert(forward, flags=cv2.DECOMP_LU)
    m = inverse.ravel()
    x = np.arange(tensor_w, dtype=np.float64)[None, :]
    y = np.arange(tensor_h, dtype=np.float64)[:, None]
    # Same operation order as OpenCV's WarpPerspectiveInvoker, so the doubles round the same way.
    w = (m[7] * y + m[8]) + m[6] * x
    w = np.where(w != 0, size / np.where(w != 0, w, 1.0), 0.0)
    limit = float(np.iinfo(np.int32).max)
    fx = np.clip(((m[1] * y + m[2]) + m[0] * x) * w, -limit - 1, limit)
    fy = np.clip(((m[4] * y + m[5]) + m[3] * x) * w, -limit - 1, limit)
    ix, iy = np.rint(fx).astype(np.int64), np.rint(fy).astype(np.int64)  # cvRound: half to even
    xy = np.stack([ix >> bits, iy >> bits], axis=-1).clip(-32768, 32767).astype(np.int16)
    table = ((iy & (size - 1)) * size + (ix & (size - 1))).astype(np.uint16)
    return xy, table


def _check_image(image: npt.NDArray[Any]) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise InputError(
            f"expected a BGR image of shape (H, W, 3) and dtype uint8, got shape {shape} dtype {dtype}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"empty image of shape {image.shape}")
