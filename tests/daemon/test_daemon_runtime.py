"""The daemon's threads: every frame or the newest one, decoupled publishing, state, silhouettes, errors."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from doubles import (
    EveryFramePose,
    ListSource,
    RecordingPublisher,
    ScriptedRepCounter,
)

from edge.camera import ReconnectingSource
from edge.daemon import Daemon, DaemonSettings
from edge.errors import CameraError, ModelError
from edge.pose import Pose
from edge.sources import Frame

STATS_KEYS = {
    "fps",
    "latency_ms",
    "frames",
    "skipped_frames",
    "cpu_temp_c",
    "rss_mb",
    "uptime_s",
    "outbox",
    "model",
    "delegate",
}
STATE_KEYS = {"device_id", "exercise", "count", "phase", "session", "person", "status", "source"}


class GatedPublisher(RecordingPublisher):
    """Every publish call blocks until ``gate`` is set: a broker that stopped answering."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def _record(self, name: str, *args: Any) -> None:
        if name != "availability":
            self.gate.wait()
        super()._record(name, *args)


def test_ok__lossless_source_processes_every_frame_in_order(runner) -> None:
    """A file played as fast as possible gives the same counts on every run: no frame skipped."""
    estimator = EveryFramePose(delay_s=0.001)
    counter = ScriptedRepCounter([1.0, 2.0, 3.0, 4.0, 5.0])
    publisher = RecordingPublisher()
    daemon = Daemon(ListSource(300), estimator, counter, publisher, DaemonSettings(lossless=True))
    assert runner.run(daemon, publisher) == 0
    assert estimator.seen == list(range(300))
    assert daemon.frames == 300 and daemon.skipped_frames == 0
    assert counter.seen_times == pytest.approx([i / 30 for i in range(300)])
    reps = publisher.of("rep")
    assert [c.args[0]["index"] for c in reps] == [1, 2, 3, 4, 5]
    assert {c.args[1] for c in reps} == {daemon.state()["session"]["id"]}
    final = publisher.states()[-1]
    assert final["count"] == 5 and final["session"]["count"] == 5 and final["status"] == "stopping"
    assert publisher.calls[-1].args == ("offline",)


def test_ok__live_source_skips_stale_frames_for_a_slow_model(runner) -> None:
    """A 100 fps camera and a 30 ms model: inference takes the newest frame and counts the rest."""
    estimator = EveryFramePose(delay_s=0.03)
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(60, fps=100.0, realtime=True),
        estimator,
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(),
    )
    assert runner.run(daemon, publisher) == 0
    assert daemon.skipped_frames > 20
    assert daemon.frames + daemon.skipped_frames == 60  # every frame either processed or counted
    assert estimator.seen == sorted(set(estimator.seen))  # always forward, never a stale frame
    assert estimator.seen[-1] == 59  # the newest frame is the one processed at the end
    assert publisher.of("stats")[-1].args[0]["skipped_frames"] == daemon.skipped_frames


def test_ok__a_stuck_broker_never_stalls_inference(runner) -> None:
    """MQTT hangs (every publish call blocks): inference still finishes the clip at full speed, and
    every rep reaches the publisher once it answers again."""
    publisher = GatedPublisher()
    counter = ScriptedRepCounter([0.5 * k for k in range(1, 20)])
    daemon = Daemon(ListSource(300), EveryFramePose(), counter, publisher, DaemonSettings(lossless=True))
    stop, join = runner.start(daemon, publisher)
    assert daemon.finished.wait(5.0), "inference must not wait for the publisher"
    assert daemon.frames == 300 and counter.count == 19
    assert publisher.of("rep") == []
    publisher.gate.set()
    assert join(10.0) == 0
    assert [c.args[0]["index"] for c in publisher.of("rep")] == list(range(1, 20))


def test_ok__every_frame_pose_is_offered_to_the_publisher(runner) -> None:
    """The publisher applies publish.pose_hz on its own clock (a second limiter in the daemon would
    make the two schedules beat and drop messages); the daemon offers each frame's pose, newest
    first: those not published are coalesced, never queued up."""
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(300),
        EveryFramePose(delay_s=0.0005),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(lossless=True, pose_hz=10),
    )
    runner.run(daemon, publisher)
    calls = publisher.of("pose")
    assert len(calls) + daemon._outgoing.replaced_poses == 300
    frames = [c.args[1] for c in calls]
    assert frames == sorted(frames) and frames[-1] == 299
    assert [c.args[2] for c in calls] == pytest.approx([f / 30 for f in frames])
    assert {c.args[3] for c in calls} == {(64, 48)}  # image_size, needed when the pose is null


def test_ok__no_pose_messages_when_pose_hz_is_zero(runner) -> None:
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(30),
        EveryFramePose(),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(lossless=True, pose_hz=0),
    )
    runner.run(daemon, publisher)
    assert publisher.of("pose") == []


def test_ok__a_lost_person_is_offered_as_null_for_a_while_then_nothing(runner) -> None:
    """Subscribers must learn the person left (landmarks null) even if the publisher's rate limit
    drops some offers; with nobody there for long, nothing more is sent."""
    publisher = RecordingPublisher()
    estimator = EveryFramePose(empty=set(range(100, 250)), delay_s=0.001)
    daemon = Daemon(
        ListSource(300),
        estimator,
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(lossless=True, pose_hz=10),
    )
    runner.run(daemon, publisher)
    poses = publisher.of("pose")
    nulls = [c.args[1] for c in poses if c.args[0] is None]
    assert nulls and min(nulls) >= 100 and max(nulls) <= 130  # 1 s (>= 2.5 periods) at 30 fps
    assert not [c for c in poses if 131 <= c.args[1] < 250]
    assert any(c.args[1] >= 250 and c.args[0] is not None for c in poses)
    persons = [s["person"] for s in publisher.states()]
    assert False in persons and persons[-1] is True


def test_ok__state_changes_are_coalesced_to_five_per_second(runner) -> None:
    """A phase that flickers every frame must not flood the retained state topic."""

    class Flicker(ScriptedRepCounter):
        def update(self, pose: Pose | None, t: float):
            event = super().update(pose, t)
            self.phase = "down" if self.updates % 2 else "up"
            return event

    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(60, fps=30, realtime=True), EveryFramePose(), Flicker([]), publisher, DaemonSettings()
    )
    runner.run(daemon, publisher)
    times = [c.at for c in publisher.of("state")]
    assert len(times) <= 2.0 / 0.2 + 4
    gaps = [b - a for a, b in zip(times[:-1], times[1:-1], strict=False)]  # the final flush may come early
    assert all(g >= 0.19 for g in gaps), gaps


def test_ok__silhouettes_follow_their_own_rate(runner) -> None:
    """Silhouettes are expensive: computed only when one is due (silhouette_hz), not every frame."""

    class CountingStage:
        def __init__(self) -> None:
            self.frames: list[int] = []

        def compute(self, frame: Frame, pose: Pose | None) -> dict[str, Any] | None:
            self.frames.append(frame.index)
            return {"area": 0.1, "polygon": [[0, 0], [1, 0], [1, 1]]}

    stage = CountingStage()
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(300),
        EveryFramePose(delay_s=0.0005),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(lossless=True, silhouette_hz=2),
        silhouette=stage,
    )
    runner.run(daemon, publisher)
    assert stage.frames == list(range(0, 300, 15))
    assert 1 <= len(publisher.of("silhouette")) <= 20


def test_ok__stats_carry_the_contract_fields(runner) -> None:
    """The stats payload is what dashboards and Home Assistant read (CONTRACT.md, minus v/ts)."""
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(45, realtime=True),
        EveryFramePose(),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(stats_interval_s=0.5, model="lite", delegate="cpu"),
    )
    runner.run(daemon, publisher)
    stats = [c.args[0] for c in publisher.of("stats")]
    assert len(stats) >= 3
    for payload in stats:
        assert set(payload) == STATS_KEYS
        assert set(payload["latency_ms"]) == {"p50", "p99"}
    mid = stats[1]
    assert 20 <= mid["fps"] <= 40  # a 30 fps camera
    assert (
        mid["latency_ms"]["p50"] is not None
        and 0 < mid["latency_ms"]["p50"] < mid["latency_ms"]["p99"] + 1e-9
    )
    assert mid["rss_mb"] > 10 and mid["uptime_s"] >= 0.5
    assert (mid["model"], mid["delegate"], mid["outbox"]) == ("lite", "cpu", 0)
    # every frame is counted: processed, or skipped when the pipeline fell behind the camera (a busy host)
    assert stats[-1]["frames"] + stats[-1]["skipped_frames"] == 45 and stats[-1]["frames"] > 0
    assert set(publisher.states()[0]) == STATE_KEYS


def test_ok__camera_errors_reach_the_state_topic(runner) -> None:
    """An unplugged camera shows as status camera_error on MQTT, and running again once it is back."""
    holder: dict[str, Daemon] = {}
    attempts = iter([CameraError("unplugged")] * 3)

    def opener() -> ListSource:
        error = next(attempts, None)
        if error is not None:
            raise error
        return ListSource(30, realtime=True)

    source = ReconnectingSource(
        opener,
        "cam",
        retry_initial_s=0.05,
        retry_max_s=0.1,
        on_status=lambda s: holder["d"].on_source_status(s),
    )
    publisher = RecordingPublisher()
    daemon = holder["d"] = Daemon(
        source, EveryFramePose(), ScriptedRepCounter([]), publisher, DaemonSettings()
    )
    stop, join = runner.start(daemon, publisher)
    deadline = time.monotonic() + 5
    while daemon.frames < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    assert join(10.0) == 0
    statuses = [s["status"] for s in publisher.states()]
    compact = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
    # "starting" again right after the camera is back may be coalesced into "running" (<= 5 states/s)
    assert compact[:2] == ["starting", "camera_error"] and compact[-1] == "stopping"
    assert "running" in compact[2:]


def test_ok__a_few_failed_inferences_are_skipped(runner, caplog: pytest.LogCaptureFixture) -> None:
    """A delegate error on one frame must cost that frame only, logged once."""
    estimator = EveryFramePose(fail_on={5, 6, 7})
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(30), estimator, ScriptedRepCounter([]), publisher, DaemonSettings(lossless=True)
    )
    with caplog.at_level(logging.WARNING, logger="edge.daemon"):
        assert runner.run(daemon, publisher) == 0
    assert daemon.frames == 27 and daemon.inference_errors == 3
    assert len([r for r in caplog.records if "pose estimation failed" in r.getMessage()]) == 1


def test_fail__persistent_inference_failure_stops_with_an_error(runner) -> None:
    """A model that fails on every frame is broken: exit 1 so systemd restarts the service."""
    estimator = EveryFramePose(fail_on=set(range(1000)))
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(1000),
        estimator,
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(lossless=True, max_consecutive_errors=10),
    )
    assert runner.run(daemon, publisher) == 1
    assert isinstance(daemon.error, ModelError)
    assert "10 frames in a row" in str(daemon.error)
    assert len(estimator.seen) == 10
    assert publisher.calls[-1].args == ("offline",)


def test_ok__a_slow_or_broken_display_never_slows_inference(runner, caplog: pytest.LogCaptureFixture) -> None:
    """The LCD gets the newest frame when it can; inference does not wait for it."""

    class SlowDisplay:
        def __init__(self) -> None:
            self.shown: list[int] = []

        def show(
            self, frame: Frame, pose: Pose | None, state: dict[str, Any], fps: float | None = None
        ) -> None:
            self.shown.append(frame.index)
            time.sleep(0.1)
            if len(self.shown) == 2:
                raise OSError("SPI write failed")

    display = SlowDisplay()
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(300),
        EveryFramePose(delay_s=0.001),
        ScriptedRepCounter([]),
        publisher,
        DaemonSettings(lossless=True),
        display=display,
    )
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="edge.daemon"):
        runner.run(daemon, publisher)
    assert daemon.frames == 300
    assert time.monotonic() - t0 < 300 * 0.1 / 3  # nowhere near 300 slow LCD updates
    assert 2 <= len(display.shown) < 100
    assert display.shown == sorted(display.shown)
    assert len([r for r in caplog.records if "display failed" in r.getMessage()]) == 1
