"""Latency percentiles, rate limits, rate parsing and sessions."""

from __future__ import annotations

import numpy as np
import pytest

from edge.daemon.metrics import LatencyRecorder, RateMeter
from edge.daemon.session import RateLimiter, Session, parse_rate
from edge.errors import CommandError


def test_ok__recent_percentiles_match_numpy() -> None:
    """The stats message's p50/p99 must be the real percentiles of the recent samples."""
    rng = np.random.default_rng(1)
    samples = rng.lognormal(mean=3.0, sigma=0.5, size=1500)  # ms
    recorder = LatencyRecorder(window=2048)
    for ms in samples:
        recorder.record(ms / 1000.0)
    assert recorder.recent((50.0, 99.0)) == pytest.approx(np.percentile(samples, [50, 99]))


def test_ok__recent_window_forgets_old_samples() -> None:
    """'Latency now' must not be dragged by a slow start-up hours ago."""
    recorder = LatencyRecorder(window=100)
    for _ in range(100):
        recorder.record(1.0)  # 1000 ms
    for _ in range(100):
        recorder.record(0.010)
    assert recorder.recent((50.0, 99.0)) == pytest.approx([10.0, 10.0])
    assert recorder.count == 200 and recorder.max_ms == pytest.approx(1000.0)


def test_ok__lifetime_percentiles_within_the_bin_width() -> None:
    """The soak reports whole-run percentiles from a constant-memory histogram (bins ~2.7 % wide)."""
    rng = np.random.default_rng(2)
    samples = rng.gamma(2.0, 20.0, size=20000)  # ms
    recorder = LatencyRecorder(window=16)
    for ms in samples:
        recorder.record(ms / 1000.0)
    lifetime = recorder.lifetime((50.0, 99.0))
    assert lifetime is not None
    assert lifetime == pytest.approx(np.percentile(samples, [50, 99]), rel=0.03)


def test_ok__no_samples_means_no_percentiles() -> None:
    """With pose_hz = 0 and no reps there is no latency to report: null, not 0 ms."""
    assert LatencyRecorder().recent() is None and LatencyRecorder().lifetime() is None


def test_ok__rate_meter_counts_per_interval() -> None:
    meter = RateMeter(now=0.0)
    assert meter.sample(300, now=10.0) == pytest.approx(30.0)
    assert meter.sample(450, now=20.0) == pytest.approx(15.0)


@pytest.mark.parametrize(
    ("fps", "hz", "frames", "expected"),
    [
        (30.0, 10.0, 300, 100),  # exactly every third frame despite float timestamps
        (30.0, 2.0, 300, 20),
        (30.0, 30.0, 300, 300),
        (30.0, 60.0, 300, 300),  # cannot exceed the frame rate
        (25.0, 10.0, 250, 100),  # 25 fps: alternating 2- and 3-frame gaps, average 10 Hz
        (30.0, 0.0, 300, 0),  # off
    ],
)
def test_ok__rate_limiter_passes_the_configured_rate(
    fps: float, hz: float, frames: int, expected: int
) -> None:
    """publish.pose_hz = 10 must mean 10 messages per second, not 7.5 because 3/30 < 0.1 in floats."""
    limiter = RateLimiter(hz)
    assert sum(limiter.due(i / fps) for i in range(frames)) == expected


def test_ok__rate_limiter_restarts_after_a_gap() -> None:
    """After the camera was away, the first frame passes at once, with no burst to catch up."""
    limiter = RateLimiter(10.0)
    assert [limiter.due(t) for t in (0.0, 0.05, 0.1)] == [True, False, True]
    assert [limiter.due(t) for t in (5.0, 5.02, 5.1)] == [True, False, True]


def test_ok__changing_the_rate_applies_at_once() -> None:
    limiter = RateLimiter(1.0)
    assert limiter.due(0.0) and not limiter.due(0.5)
    limiter.set_rate(10.0)
    assert limiter.due(0.5) and limiter.due(0.6)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), (0, 0.0), (10, 10.0), (2.5, 2.5), (60, 60.0)],
)
def test_ok__rates_from_commands(value: object, expected: float | None) -> None:
    assert parse_rate("pose_hz", value, 60.0) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "pose_hz: expected a number of messages per second, got True"),
        ("10", "pose_hz: expected a number of messages per second, got '10'"),
        (float("nan"), "pose_hz: expected a number"),
        (-1, r"pose_hz: expected 0..60 \(0 = off\), got -1"),
        (1000, r"pose_hz: expected 0..60 \(0 = off\), got 1000"),
    ],
)
def test_fail__bad_rates_are_refused_with_the_field_name(value: object, message: str) -> None:
    """A subscriber's mistake gets one line back in cmd/result naming the field."""
    with pytest.raises(CommandError, match=message):
        parse_rate("pose_hz", value, 60.0)


def test_ok__sessions_have_unique_short_ids() -> None:
    """Rep ids are <device>-<session>-<index>: session ids must not repeat across restarts."""
    ids = {Session.begin().id for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 8 for i in ids)
    session = Session("abcd1234", True, 1700000000.123456, 3)
    assert session.to_json() == {"id": "abcd1234", "active": True, "started": 1700000000.123, "count": 3}
