"""MediaPipe's One-Euro and low-pass filters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.blazepose.filters import LowPassFilter, NormalizedLandmarksFilter, OneEuroFilter, OneEuroParams

SECOND = 1_000_000_000


def test_ok__low_pass_passes_the_first_sample_then_blends() -> None:
    lpf = LowPassFilter(0.1)
    assert lpf.apply(np.array([1.0])) == pytest.approx([1.0])
    assert lpf.apply(np.array([0.0])) == pytest.approx([0.9])


def test_ok__one_euro_holds_a_constant_signal() -> None:
    f = OneEuroFilter(OneEuroParams(0.05, 80.0))
    for i in range(10):
        assert f.apply(np.array([3.0]), i * SECOND // 30) == pytest.approx([3.0])


def test_ok__one_euro_slow_step_uses_min_cutoff_alpha() -> None:
    """With beta = 0 the second sample moves by alpha(min_cutoff) of the step at the measured rate."""
    f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=0.0))
    f.apply(np.array([0.0]), SECOND)
    out = f.apply(np.array([1.0]), SECOND + SECOND // 10)  # 10 Hz
    alpha = 1.0 / (1.0 + 10.0 / (2 * math.pi * 1.0))
    assert out == pytest.approx([alpha])


def test_ok__one_euro_follows_fast_motion_more_closely_than_slow() -> None:
    slow, fast = OneEuroFilter(OneEuroParams(0.05, 80.0)), OneEuroFilter(OneEuroParams(0.05, 80.0))
    for f in (slow, fast):
        f.apply(np.array([0.0]), SECOND)
    assert (
        fast.apply(np.array([1.0]), SECOND + SECOND // 30, value_scale=1.0)[0]
        > slow.apply(np.array([1.0]), SECOND + SECOND // 30, value_scale=0.001)[0]
    )


def test_ok__repeated_timestamp_returns_the_input_unfiltered() -> None:
    f = OneEuroFilter(OneEuroParams(0.05, 80.0))
    f.apply(np.array([0.0]), SECOND)
    f.apply(np.array([0.0]), 2 * SECOND)
    assert f.apply(np.array([5.0]), 2 * SECOND) == pytest.approx([5.0])


def test_ok__normalized_filter_passes_through_when_object_is_degenerate() -> None:
    f = NormalizedLandmarksFilter(OneEuroParams(0.05, 80.0))
    xyz = np.array([[0.5, 0.5, 0.0]])
    f.apply(xyz, (640, 480), SECOND, object_scale=100.0)
    assert np.allclose(f.apply(xyz + 0.1, (640, 480), 2 * SECOND, object_scale=0.0), xyz + 0.1)


def test_ok__low_pass_mixes_float_and_double_as_mediapipes_cpp() -> None:
    """``alpha * value`` in float32, the rest in double (``1.0`` is a double literal), one final rounding."""
    rng = np.random.default_rng(5)
    values = rng.uniform(0.0, 1.0, (50, 33)).astype(np.float32)
    lpf = LowPassFilter(0.1)
    stored = lpf.apply(values[0])
    alpha = np.float32(0.1)
    for value in values[1:]:
        expected = np.array(
            [
                np.float32(np.float64(np.float32(alpha * v)) + (1.0 - np.float64(alpha)) * np.float64(s))
                for v, s in zip(value, stored, strict=True)
            ],
            np.float32,
        )
        stored = lpf.apply(value)
        assert stored.dtype == np.float32 and np.array_equal(stored, expected)


def test_ok__one_euro_rounds_derivative_and_alphas_to_float32() -> None:
    """A scalar transcription of ``one_euro_filter.cc`` (double maths, float32 state) agrees to the bit."""
    params = OneEuroParams(min_cutoff=0.05, beta=80.0)
    f = OneEuroFilter(params)
    rng = np.random.default_rng(6)
    samples = np.cumsum(rng.normal(0.0, 3.0, 60)) + 300.0
    scale = float(np.float32(1.0) / np.float32(180.0))

    def alpha(frequency: float, cutoff: float) -> np.float32:
        te, tau = 1.0 / frequency, 1.0 / (6.283185307179586 * cutoff)
        return np.float32(1.0 / (1.0 + tau / te))

    min_cutoff, beta = float(np.float32(0.05)), float(np.float32(80.0))
    raw = stored = d_stored = None
    frequency = 30.0
    for i, value in enumerate(samples):
        t = (i + 1) * 33_333_000
        if i:
            frequency = 1.0 / (33_333_000 * 1e-9)
        derivative = (
            np.float32(((value - float(raw)) * scale) * frequency) if raw is not None else np.float32(0)
        )
        a = alpha(frequency, 1.0)
        d_stored = (
            derivative
            if d_stored is None
            else np.float32(
                np.float64(np.float32(a * derivative)) + (1.0 - np.float64(a)) * np.float64(d_stored)
            )
        )
        x = np.float32(value)
        a = alpha(frequency, min_cutoff + beta * abs(float(d_stored)))
        stored = (
            x
            if stored is None
            else np.float32(np.float64(np.float32(a * x)) + (1.0 - np.float64(a)) * np.float64(stored))
        )
        raw = x
        assert f.apply(np.array([value]), t, scale)[0] == float(stored)


def test_ok__a_bank_with_rows_of_their_own_parameters_equals_separate_filters_to_the_bit() -> None:
    """The body landmarks (33 rows) and the auxiliary ones (2 rows) in one call, as in the estimator."""
    body, aux = OneEuroParams(0.05, 80.0), OneEuroParams(0.01, 10.0)
    bank = NormalizedLandmarksFilter([(body, 33), (aux, 2)])
    separate = NormalizedLandmarksFilter(body), NormalizedLandmarksFilter(aux)
    rng = np.random.default_rng(8)
    for frame in range(40):
        xyz = rng.uniform(0.0, 1.0, (35, 3)).astype(np.float32)
        time_ns, scale = frame * 33_333_000, float(rng.uniform(50.0, 400.0))
        together = bank.apply(xyz, (640, 360), time_ns, scale)
        body_rows, aux_rows = xyz[:33], xyz[33:]
        apart = [
            f.apply(rows, (640, 360), time_ns, scale)
            for f, rows in zip(separate, (body_rows, aux_rows), strict=True)
        ]
        assert np.array_equal(together, np.concatenate(apart))


def test_error__a_bank_needs_one_clock() -> None:
    with pytest.raises(ValueError, match="same derivate_cutoff"):
        OneEuroFilter([(OneEuroParams(0.05, 80.0), 3), (OneEuroParams(0.05, 80.0, derivate_cutoff=2.0), 1)])
