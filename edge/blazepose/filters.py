"""Temporal filters for landmarks: MediaPipe's One-Euro and low-pass filters, vectorised and bit-exact.

Replicates ``mediapipe/util/filtering/one_euro_filter.cc`` and ``low_pass_filter.cc`` as used by
``LandmarksSmoothingCalculator`` and ``VisibilitySmoothingCalculator`` (``pose_landmark_filtering.pbtxt``):
every coordinate of every landmark is its own filter, but they all share timestamps, so one array
per state is enough. Image landmarks are filtered in pixels, with the derivative scaled by
1 / object scale (the ROI side in pixels); world landmarks in metres without scaling.

The arithmetic follows MediaPipe's types to the bit, because tracking feeds the filtered auxiliary
landmarks back into the next crop and a difference in the last bit can grow into a different track on
hard clips: the low-pass filter stores float32 and blends as ``float(alpha * x)`` plus
``(1.0 - alpha) * stored`` in double; the One-Euro filter works in double but rounds the derivative and
both alphas to float32; options are float32 values widened to double; landmarks go to pixels and back
in float32 (``x * width``, ``x / width``), even when the filter passes a value through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = np.float32
FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]
#: ``2 * M_PI`` as the compiler folds it.
TWO_PI = 6.283185307179586


class LowPassFilter:
    """Exponential smoothing with float32 state (MediaPipe's ``LowPassFilter``); the first sample passes."""

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = F32(alpha)
        self.raw: Float32Array | None = None
        self.stored: Float32Array | None = None

    def reset(self) -> None:
        self.raw = None
        self.stored = None

    def apply(self, value: npt.ArrayLike, alpha: float | Float32Array | None = None) -> Float32Array:
        """Filter ``value`` (any shape, fixed across calls; rounded to float32) with ``alpha`` (float32).

        ``result = float(alpha * value) + (1.0 - alpha) * stored`` with the product in float32 and the
        rest in double, rounded to float32 once, as the C++ mixes a float product with a double literal.
        """
        value = np.asarray(value, F32)
        a = self.alpha if alpha is None else np.asarray(alpha, F32)
        if self.stored is None:
            result = value
        else:
            # Explicit float64 operands: numpy 1 would otherwise compute with a 0-d alpha in float32.
            blend = (a * value).astype(np.float64) + (1.0 - np.asarray(a, np.float64)) * self.stored.astype(
                np.float64
            )
            result = blend.astype(F32)
        self.raw = value
        self.stored = result
        return result


@dataclass(frozen=True)
class OneEuroParams:
    """One-Euro parameters as MediaPipe names them (cut-offs in Hz; float32 in its options proto)."""

    min_cutoff: float
    beta: float
    derivate_cutoff: float = 1.0
    frequency: float = 30.0  # used until two timestamps give a real one


#: ``pose_landmark_filtering.pbtxt``: image landmarks, auxiliary (ROI) landmarks, world landmarks.
LANDMARKS_PARAMS = OneEuroParams(min_cutoff=0.05, beta=80.0)
AUX_LANDMARKS_PARAMS = OneEuroParams(min_cutoff=0.01, beta=10.0)
WORLD_LANDMARKS_PARAMS = OneEuroParams(min_cutoff=0.1, beta=40.0)
VISIBILITY_ALPHA = 0.1


#: One filter's parameters, or a bank's: each parameter set with the number of rows it filters.
FilterParams = OneEuroParams | Sequence[tuple[OneEuroParams, int]]


class OneEuroFilter:
    """A bank of One-Euro filters sharing one clock.

    The cut-off adapts to speed: ``fc = min_cutoff + beta * |filtered derivative|``, where the
    derivative is taken against the previous *raw* value, times ``value_scale``, per second.

    ``params`` may give rows of the values their own ``min_cutoff`` and ``beta``, e.g.
    ``[(LANDMARKS_PARAMS, 33), (AUX_LANDMARKS_PARAMS, 2)]`` for (35, 3) values: one call then does the
    work of two filters that always see the same timestamps and scale (each element's arithmetic is
    unchanged). ``derivate_cutoff`` and ``frequency`` belong to the shared clock and must agree.
    """

    def __init__(self, params: FilterParams) -> None:
        bank = [(params, 1)] if isinstance(params, OneEuroParams) else list(params)
        self.params = first = bank[0][0]
        if any((p.derivate_cutoff, p.frequency) != (first.derivate_cutoff, first.frequency) for p, _ in bank):
            raise ValueError("filters sharing one clock need the same derivate_cutoff and frequency")
        # The options are proto floats that the filter keeps as doubles.
        self._min_cutoff: float | FloatArray = float(F32(first.min_cutoff))
        self._beta: float | FloatArray = float(F32(first.beta))
        if len(bank) > 1:  # (rows, 1) columns that broadcast over each row's values
            rows = [count for _, count in bank]
            self._min_cutoff = np.repeat([float(F32(p.min_cutoff)) for p, _ in bank], rows)[:, None]
            self._beta = np.repeat([float(F32(p.beta)) for p, _ in bank], rows)[:, None]
        self._derivate_cutoff = float(F32(first.derivate_cutoff))
        self.frequency = float(F32(first.frequency))
        self.last_time_ns: int | None = None
        self._x = LowPassFilter()
        self._dx = LowPassFilter()

    def reset(self) -> None:
        self.frequency = float(F32(self.params.frequency))
        self.last_time_ns = None
        self._x.reset()
        self._dx.reset()

    def _alpha(self, cutoff: float | FloatArray) -> Float32Array:
        te = 1.0 / self.frequency
        tau = 1.0 / (TWO_PI * np.asarray(cutoff, np.float64))
        return (1.0 / (1.0 + tau / te)).astype(F32)

    def apply(self, value: npt.ArrayLike, time_ns: int, value_scale: float = 1.0) -> FloatArray:
        """Filter one sample (any shape, fixed across calls) taken at ``time_ns`` nanoseconds.

        Returns float64 values that are float32 numbers (the filter's state). A timestamp not after the
        previous one returns the value unfiltered, as MediaPipe does.
        """
        value = np.asarray(value, np.float64)
        if self.last_time_ns is not None:
            if time_ns <= self.last_time_ns:
                return value
            self.frequency = 1.0 / (float(time_ns - self.last_time_ns) * 1e-9)
        self.last_time_ns = time_ns
        if self._x.raw is None:
            derivative = np.zeros_like(value)
        else:
            derivative = ((value - self._x.raw) * value_scale) * self.frequency
        smoothed = self._dx.apply(derivative, self._alpha(self._derivate_cutoff))
        cutoff = self._min_cutoff + self._beta * np.abs(smoothed.astype(np.float64))
        return self._x.apply(value, self._alpha(cutoff)).astype(np.float64)


class NormalizedLandmarksFilter:
    """One-Euro smoothing of normalised landmarks in pixel space, scaled by the object's size."""

    MIN_OBJECT_SCALE = float(F32(1e-6))

    def __init__(self, params: FilterParams) -> None:
        self._filter = OneEuroFilter(params)

    def reset(self) -> None:
        self._filter.reset()

    def apply(
        self,
        xyz: npt.NDArray[np.floating],
        image_size: tuple[int, int],
        time_ns: int,
        object_scale: float,
    ) -> Float32Array:
        """Filter (N, 3) normalised x, y, z (z in image widths); ``object_scale`` in pixels (float32).

        Returns (N, 3) float32 normalised x, y, z: the round trip through pixels even when nothing is
        filtered (a degenerate object), as MediaPipe converts both ways in float32.
        """
        width, height = image_size
        scale = np.array([width, height, width], F32)
        pixels = np.asarray(xyz, F32) * scale
        if float(object_scale) >= self.MIN_OBJECT_SCALE:
            value_scale = float(F32(1.0) / F32(object_scale))
            pixels = self._filter.apply(pixels, time_ns, value_scale).astype(F32)
        return pixels / scale
