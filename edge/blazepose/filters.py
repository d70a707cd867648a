"""Temporal filters for landmarks: MediaPipe's One-Euro and low-pass filters, vectorised.

Replicates ``mediapipe/util/filtering/one_euro_filter.cc`` and ``low_pass_filter.cc`` as used by
``LandmarksSmoothingCalculator`` and ``VisibilitySmoothingCalculator`` (``pose_landmark_filtering.pbtxt``):
every coordinate of every landmark is its own filter, but they all share timestamps, so one array
per state is enough. Image landmarks are filtered in pixels, with the derivative scaled by
1 / object scale (the ROI side in pixels); world landmarks in metres without scaling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class LowPassFilter:
    """Exponential smoothing; the first sample passes through unchanged."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha
        self.raw: FloatArray | None = None
        self.stored: FloatArray | None = None

    def reset(self) -> None:
        self.raw = None
        self.stored = None

    def apply(self, value: FloatArray, alpha: float | FloatArray | None = None) -> FloatArray:
        """Filter ``value`` (any shape, fixed across calls) with ``alpha`` (default: the filter's)."""
        a = self.alpha if alpha is None else alpha
        result = value if self.stored is None else a * value + (1.0 - a) * self.stored
        self.raw = value
        self.stored = result
        return result


@dataclass(frozen=True)
class OneEuroParams:
    """One-Euro parameters as MediaPipe names them (cut-offs in Hz)."""

    min_cutoff: float
    beta: float
    derivate_cutoff: float = 1.0
    frequency: float = 30.0  # used until two timestamps give a real one


#: ``pose_landmark_filtering.pbtxt``: image landmarks, auxiliary (ROI) landmarks, world landmarks.
LANDMARKS_PARAMS = OneEuroParams(min_cutoff=0.05, beta=80.0)
AUX_LANDMARKS_PARAMS = OneEuroParams(min_cutoff=0.01, beta=10.0)
WORLD_LANDMARKS_PARAMS = OneEuroParams(min_cutoff=0.1, beta=40.0)
VISIBILITY_ALPHA = 0.1


class OneEuroFilter:
    """A bank of One-Euro filters sharing one clock.

    The cut-off adapts to speed: ``fc = min_cutoff + beta * |filtered derivative|``, where the
    derivative is taken against the previous *raw* value, times ``value_scale``, per second.
    """

    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        self.frequency = params.frequency
        self.last_time_ns: int | None = None
        self._x = LowPassFilter()
        self._dx = LowPassFilter()

    def reset(self) -> None:
        self.frequency = self.params.frequency
        self.last_time_ns = None
        self._x.reset()
        self._dx.reset()

    def _alpha(self, cutoff: float | FloatArray) -> float | FloatArray:
        return 1.0 / (1.0 + self.frequency / (2.0 * math.pi * cutoff))

    def apply(self, value: FloatArray, time_ns: int, value_scale: float = 1.0) -> FloatArray:
        """Filter one sample (any shape, fixed across calls) taken at ``time_ns`` nanoseconds.

        A timestamp not after the previous one returns the value unfiltered, as MediaPipe does.
        """
        if self.last_time_ns is not None:
            if time_ns <= self.last_time_ns:
                return value
            self.frequency = 1.0 / ((time_ns - self.last_time_ns) * 1e-9)
        self.last_time_ns = time_ns
        if self._x.raw is None:
            derivative = np.zeros_like(value)
        else:
            derivative = (value - self._x.raw) * value_scale * self.frequency
        smoothed_derivative = self._dx.apply(derivative, self._alpha(self.params.derivate_cutoff))
        cutoff = self.params.min_cutoff + self.params.beta * np.abs(smoothed_derivative)
        return self._x.apply(value, self._alpha(cutoff))


class NormalizedLandmarksFilter:
    """One-Euro smoothing of normalised landmarks in pixel space, scaled by the object's size."""

    MIN_OBJECT_SCALE = 1e-6

    def __init__(self, params: OneEuroParams) -> None:
        self._filter = OneEuroFilter(params)

    def reset(self) -> None:
        self._filter.reset()

    def apply(
        self,
        xyz: npt.NDArray[np.floating],
        image_size: tuple[int, int],
        time_ns: int,
        object_scale: float,
    ) -> npt.NDArray[np.float32]:
        """Filter (N, 3) normalised x, y, z (z in image widths); ``object_scale`` in pixels."""
        if object_scale < self.MIN_OBJECT_SCALE:
            return np.asarray(xyz, np.float32)
        width, height = image_size
        scale = np.array([width, height, width], np.float64)
        pixels = np.asarray(xyz, np.float64) * scale
        return (self._filter.apply(pixels, time_ns, 1.0 / object_scale) / scale).astype(np.float32)
