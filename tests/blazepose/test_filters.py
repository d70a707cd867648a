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
