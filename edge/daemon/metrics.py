"""Latency percentiles and frame rates in constant memory (the daemon runs for months).

``LatencyRecorder`` keeps the last ``window`` samples in a ring (for the ``stats`` message: what the
latency is *now*) and a cumulative histogram on log-spaced bins (for a soak: percentiles over the
whole run, within the bin width, about 2.3 %).
"""

from __future__ import annotations

import threading

import numpy as np

_HIST_MIN_MS = 0.01
_HIST_MAX_MS = 100_000.0
_HIST_BINS = 600  # ln(1e7) / 600 = 2.7 % per bin


class LatencyRecorder:
    """Samples in milliseconds; thread-safe.

    Args:
        window: how many recent samples ``recent`` works on.
    """

    def __init__(self, window: int = 2048) -> None:
        self._ring = np.full(window, np.nan, np.float64)
        self._next = 0
        self._edges = np.geomspace(_HIST_MIN_MS, _HIST_MAX_MS, _HIST_BINS + 1)
        self._hist = np.zeros(_HIST_BINS + 2, np.int64)  # + underflow and overflow bins
        self._lock = threading.Lock()
        self.count = 0
        self.max_ms = 0.0

    def record(self, seconds: float) -> None:
        ms = max(0.0, seconds * 1000.0)
        with self._lock:
            self._ring[self._next % len(self._ring)] = ms
            self._next += 1
            self._hist[int(np.searchsorted(self._edges, ms, side="right"))] += 1
            self.count += 1
            self.max_ms = max(self.max_ms, ms)

    def recent(self, percentiles: tuple[float, ...] = (50.0, 99.0)) -> list[float] | None:
        """Percentiles (ms) of the last ``window`` samples, or None without samples."""
        with self._lock:
            values = self._ring[: min(self._next, len(self._ring))].copy()
        if values.size == 0:
            return None
        return [float(v) for v in np.percentile(values, percentiles)]

    def lifetime(self, percentiles: tuple[float, ...] = (50.0, 99.0)) -> list[float] | None:
        """Percentiles (ms) over every sample since start, from the histogram (bin centres)."""
        with self._lock:
            hist = self._hist.copy()
        total = int(hist.sum())
        if total == 0:
            return None
        cumulative = np.cumsum(hist)
        centres = np.concatenate(
            ([_HIST_MIN_MS], np.sqrt(self._edges[:-1] * self._edges[1:]), [_HIST_MAX_MS])
        )
        out = []
        for p in percentiles:
            rank = max(1, int(np.ceil(p / 100.0 * total)))
            out.append(float(centres[int(np.searchsorted(cumulative, rank))]))
        return out


class RateMeter:
    """Events per second between two ``sample`` calls (e.g. frames per stats interval)."""

    def __init__(self, now: float) -> None:
        self._last_count = 0
        self._last_time = now
        self.rate = 0.0

    def sample(self, count: int, now: float) -> float:
        """Update and return the rate from the count since the previous sample."""
        elapsed = now - self._last_time
        if elapsed > 0:
            self.rate = (count - self._last_count) / elapsed
            self._last_count, self._last_time = count, now
        return self.rate
