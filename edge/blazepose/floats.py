"""Single-precision arithmetic as MediaPipe's C++ does it, for results equal to the bit.

MediaPipe computes detections, ROIs and landmark projections in ``float`` and calls the C library's
``expf``, ``atan2f``, ``cosf`` and ``sinf``. numpy's float32 ``exp`` and ``arctan2`` are vectorised
approximations that differ from glibc's in the last bit for many inputs, and a double computation rounded
to float differs now and then too (glibc's ``atan2f`` is not correctly rounded). One bit matters: the
tracking loop feeds each frame's ROI into the next crop, and on hard clips a one-bit difference grows
into a different track. So ``expf`` (thousands of values per frame) is glibc's algorithm ported to numpy,
and the three scalar calls per frame go to the C library itself; if it cannot be loaded (not glibc), the
double-precision functions rounded to float stand in, which agree almost always.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

F32 = np.float32


class _Libm:
    """The C library's single-precision ``atan2f``, ``cosf`` and ``sinf``."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self.atan2f, self.cosf, self.sinf = library.atan2f, library.cosf, library.sinf
        for unary in (self.cosf, self.sinf):
            unary.restype, unary.argtypes = ctypes.c_float, [ctypes.c_float]
        self.atan2f.restype, self.atan2f.argtypes = ctypes.c_float, [ctypes.c_float, ctypes.c_float]


def _load_libm() -> _Libm | None:
    try:
        return _Libm(ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6"))
    except (OSError, AttributeError):
        return None


_LIBM = _load_libm()
if _LIBM is None:  # pragma: no cover - every supported system has a C library with expf
    log.warning("C library's atan2f/cosf/sinf not found; results may differ from MediaPipe's in the last bit")


# glibc's expf (since 2.28; the algorithm and constants of Arm's optimized-routines, MIT licence):
# exp(x) = 2^(k/N) * exp(r) with N = 32, a table of 2^(i/N) and a cubic for exp(r), all in double.
_EXP2_N = 32
_EXP2_TABLE = np.array([2.0 ** (i / _EXP2_N) for i in range(_EXP2_N)]).view(np.uint64) - (
    np.arange(_EXP2_N, dtype=np.uint64) << np.uint64(47)
)
_SHIFT = float.fromhex("0x1.8p+52")
_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * _EXP2_N
_C0 = float.fromhex("0x1.c6af84b912394p-5") / _EXP2_N**3
_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / _EXP2_N**2
_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / _EXP2_N
#: Beyond these the result is inf or 0 anyway (glibc: above 0x1.62e42ep6 overflow, below -0x1.9fe368p6 a
#: result under half the smallest subnormal); clamping keeps the table index arithmetic in range.
_CLAMP_LOW, _CLAMP_HIGH = F32(-104.0), F32(89.0)


def expf(values: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """glibc's ``expf`` for many float32 values at once, in numpy (same results as the C library but for
    about one input in 10^8, where glibc's FMA variant rounds an intermediate differently)."""
    return _expf_scaled(np.clip(np.asarray(values, F32), _CLAMP_LOW, _CLAMP_HIGH), _INV_LN2_N)


def _expf_scaled(x: npt.NDArray[np.float32], inv_ln2_n: float) -> npt.NDArray[np.float32]:
    """``expf(x)`` when ``inv_ln2_n`` is ``_INV_LN2_N``, ``expf(-x)`` when it is ``-_INV_LN2_N`` (negation
    is exact, so ``-x * c`` and ``x * -c`` are the same double); ``x`` already clamped."""
    z = np.multiply(x.reshape(-1), inv_ln2_n, dtype=np.float64)  # 1-d: 0-d inputs would give scalars
    kd = z + _SHIFT
    r = kd - _SHIFT
    np.subtract(z, r, out=r)
    ki = kd.view(np.uint64)  # k in the low bits: 2^(k/N) = table[k % N] * 2^(k // N)
    table = _EXP2_TABLE[ki & np.uint64(_EXP2_N - 1)]
    np.left_shift(ki, np.uint64(47), out=ki)
    ki += table
    y = np.multiply(r, _C0)
    y += _C1
    np.multiply(r, r, out=z)
    y *= z
    np.multiply(r, _C2, out=r)
    r += 1.0
    y += r
    y *= kd  # kd's bits are now the scale 2^(k/N)
    with np.errstate(over="ignore", under="ignore"):
        return y.astype(F32).reshape(x.shape)


def sigmoid(values: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """MediaPipe's ``1.0f / (1.0f + std::exp(-v))`` in float32, for any shape."""
    v = np.asarray(values, F32)
    # clip(-v, low, high) is -clip(v, -high, -low); the negation goes into the scale factor
    e = _expf_scaled(np.clip(v, -_CLAMP_HIGH, -_CLAMP_LOW), -_INV_LN2_N)
    e += F32(1)
    with np.errstate(divide="ignore"):
        return np.divide(F32(1), e, out=e)


def cosf(angle: float | np.float32) -> np.float32:
    """The C library's ``cosf``."""
    if _LIBM is None:
        return F32(math.cos(float(F32(angle))))  # pragma: no cover
    return F32(_LIBM.cosf(float(F32(angle))))


def sinf(angle: float | np.float32) -> np.float32:
    """The C library's ``sinf``."""
    if _LIBM is None:
        return F32(math.sin(float(F32(angle))))  # pragma: no cover
    return F32(_LIBM.sinf(float(F32(angle))))


def atan2f(y: float | np.float32, x: float | np.float32) -> np.float32:
    """The C library's ``atan2f(y, x)`` of two float32 values."""
    if _LIBM is None:
        return F32(math.atan2(float(F32(y)), float(F32(x))))  # pragma: no cover
    return F32(_LIBM.atan2f(float(F32(y)), float(F32(x))))


def normalize_radians(angle: float | np.float32) -> np.float32:
    """MediaPipe's ``NormalizeRadians``: a float in and out, the arithmetic in double; wraps to [-pi, pi)."""
    a = float(F32(angle))
    return F32(a - 2 * math.pi * math.floor((a - (-math.pi)) / (2 * math.pi)))
