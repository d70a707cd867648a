"""Single precision as MediaPipe's C++ computes it: glibc's expf, atan2f, cosf, sinf, NormalizeRadians."""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import numpy as np
import pytest

from edge.blazepose.floats import F32, atan2f, cosf, expf, normalize_radians, sigmoid, sinf


@pytest.fixture(scope="module")
def libm() -> ctypes.CDLL:
    try:
        library = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    except OSError:
        pytest.skip("no C library to compare with")
    library.expf.restype, library.expf.argtypes = ctypes.c_float, [ctypes.c_float]
    return library


def test_ok__expf_equals_the_c_librarys_to_the_bit(libm: ctypes.CDLL) -> None:
    values = np.random.default_rng(7).uniform(-110.0, 95.0, 20_000).astype(F32)
    ours = expf(values)
    theirs = np.array([libm.expf(float(v)) for v in values], F32)
    assert np.array_equal(ours.view(np.uint32), theirs.view(np.uint32))


def test_ok__expf_is_not_numpys_float32_exp() -> None:
    """numpy's vectorised float32 exp differs in the last bit for many inputs: the reason for the port."""
    values = np.random.default_rng(8).uniform(-20.0, 20.0, 2_000).astype(F32)
    assert np.count_nonzero(expf(values) != np.exp(values)) > 100


def test_ok__expf_saturates_like_the_c_library() -> None:
    assert expf(np.array([100.0, 88.8, -104.0, -1000.0], F32)).tolist() == [np.inf, np.inf, 0.0, 0.0]


def test_ok__sigmoid_is_float32_and_saturates() -> None:
    out = sigmoid(np.array([-1000.0, 0.0, 1000.0], F32))
    assert out.dtype == np.float32 and out.tolist() == [0.0, 0.5, 1.0]


def test_ok__trigonometry_in_single_precision() -> None:
    assert atan2f(1.0, 1.0) == F32(math.pi / 4)
    assert cosf(0.0) == F32(1.0) and sinf(0.0) == F32(0.0)
    assert isinstance(atan2f(0.3, -2.0), np.float32)


@pytest.mark.parametrize("angle", [0.0, 1.0, 3 * math.pi / 2, -3 * math.pi, 7.5, -12.25])
def test_ok__normalize_radians_wraps_into_one_turn(angle: float) -> None:
    wrapped = float(normalize_radians(angle))
    assert -math.pi - 1e-6 <= wrapped <= math.pi + 1e-6
    assert math.remainder(wrapped - angle, 2 * math.pi) == pytest.approx(0.0, abs=1e-5)


def test_ok__normalize_radians_takes_a_float32_angle_as_mediapipe_does() -> None:
    """float(pi) is a little above pi, so MediaPipe's NormalizeRadians sends it round to just above -pi."""
    assert normalize_radians(math.pi) == pytest.approx(-math.pi, abs=1e-6)
    assert normalize_radians(-math.pi) == pytest.approx(math.pi, abs=1e-6)
