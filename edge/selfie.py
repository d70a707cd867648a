"""Selfie Segmentation: a second person-mask source, as MediaPipe's ``SelfieSegmentationCpu`` graph runs it.

MediaPipe graph (``mediapipe/modules/selfie_segmentation/selfie_segmentation_cpu.pbtxt``), replicated here:

* ``ImageToTensorCalculator``: the whole frame, ``keep_aspect_ratio: false`` (stretched), ``BORDER_ZERO``,
  RGB, range [0, 1]. Its OpenCV converter maps the frame's corners onto the tensor's corners
  (``x' = x * w / W``, no half-pixel shift, unlike ``cv2.resize``) with ``warpPerspective(INTER_LINEAR)``
  on the 8-bit image, then ``convertTo(scale=1/255)``. The same sampling is precomputed once per frame
  size with ``edge.blazepose.crop.crop_maps``: the tensor is bit-identical to MediaPipe's.
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

from edge.blazepose.crop import PixelRect, SampleMaps, crop_maps, resample
from edge.blazepose.segmentation import MaskSmoother
from edge.errors import ConfigError, InputError

log = logging.getLogger(__name__)

#: ``variant`` -> model key in ``edge.models.MODELS``.
VARIANTS: dict[str, str] = {
    "general": "selfie_segmentation",
    "landscape": "selfie_segmentation_landscape",
}


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
        self._smoother = MaskSmoother(self.smoothing)
        self._maps_size: tuple[int, int] | None = None
        self._maps: SampleMaps | None = None

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
        self._smoother.reset()

    def input_tensor(self, image_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """The model input MediaPipe would build: (1, h, w, 3) float32 RGB in [0, 1], frame stretched."""
        _check_image(image_bgr)
        height, width = image_bgr.shape[:2]
        if self._maps is None or (width, height) != self._maps_size:  # the frame size rarely changes
            frame = PixelRect.whole_image(width, height)  # stretched: no letterbox padding
            self._maps = crop_maps(frame, self._tensor_w, self._tensor_h)
            self._maps_size = (width, height)
        small = resample(image_bgr, self._maps, border_replicate=False)
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
            mask = self._smoother.apply(mask)
        return mask


def _check_image(image: npt.NDArray[Any]) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise InputError(
            f"expected a BGR image of shape (H, W, 3) and dtype uint8, got shape {shape} dtype {dtype}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InputError(f"empty image of shape {image.shape}")
