"""The rate limiter and MemoryPublisher, the test double the daemon's unit tests use."""

from __future__ import annotations

from mqtt_helpers import STATE, rep_event, state

from edge.config import load
from edge.mqtt import MemoryPublisher, MqttPublisher, Publisher, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def passes(limiter: RateLimiter, times: list[float]) -> list[float]:
    return [t for t in times if limiter.allow(t)]


def test_ok__rate_limit_keeps_a_steady_schedule() -> None:
    """30 fps at 10 Hz must give exactly every third frame (not every fourth by float drift)."""
    frames = [i / 30 for i in range(300)]
    kept = passes(RateLimiter(10), frames)
    assert len(kept) == 100
    assert kept[:4] == [frames[0], frames[3], frames[6], frames[9]]


def test_ok__rate_limit_low_rate_from_fast_stream_is_exact() -> None:
    frames = [i / 30 for i in range(120)]
    assert passes(RateLimiter(2), frames) == [frames[i] for i in (0, 15, 30, 45, 60, 75, 90, 105)]


def test_ok__rate_limit_uneven_frames_average_to_the_rate() -> None:
    frames = [i / 15 for i in range(150)]  # 15 fps for 10 s
    assert 95 <= len(passes(RateLimiter(10), frames)) <= 101


def test_ok__rate_limit_passes_events_already_paced_upstream() -> None:
    """The daemon paces pose messages itself; queueing jitter must not make us drop its picks."""
    import random

    rng = random.Random(1)
    times = [i / 10 + rng.uniform(-0.007, 0.007) for i in range(200)]
    assert len(passes(RateLimiter(10), times)) == 200
    bursty = [t for i in range(100) for t in (i / 10, i / 10 + 0.001)]  # never faster than the rate
    assert len(passes(RateLimiter(10), bursty)) == 100


def test_ok__rate_limit_after_a_pause_no_burst() -> None:
    """After a pause: the first event at once, then the rate again (no catch-up burst)."""
    limiter = RateLimiter(10)
    assert passes(limiter, [0.0, 0.1, 0.2]) == [0.0, 0.1, 0.2]
    after = [round(5.0 + i / 100, 3) for i in range(31)]  # 100 events per second for 0.3 s
    kept = passes(limiter, after)
    assert kept[0] == 5.0 and len(kept) == 4  # 5.0 and one per 0.1 s (each up to 15 ms early)
    assert min(b - a for a, b in zip(kept[:-1], kept[1:], strict=True)) >= 0.085


def test_ok__rate_zero_is_off_and_rates_change_at_runtime() -> None:
    limiter = RateLimiter(0)
    assert passes(limiter, [0.0, 1.0, 2.0]) == []
    limiter.hz = 1
    assert passes(limiter, [3.0, 3.5, 4.0]) == [3.0, 4.0]


def test_ok__both_publishers_satisfy_the_protocol(tmp_path) -> None:
    config = load(None, env={"CONFIGURATION_DIRECTORY": str(tmp_path)}, overrides={"mqtt.host": "x"})
    assert isinstance(MemoryPublisher(), Publisher)
    assert isinstance(MqttPublisher(config), Publisher)


def test_ok__memory_publisher_records_the_contract_payloads() -> None:
    clock = FakeClock()
    pub = MemoryPublisher(clock=clock)
    pub.start()
    assert pub.connected and pub.payloads("availability") == ["online"]
    pub.publish_state(STATE)
    rep_id = pub.publish_rep(rep_event(0), "s1")
    for frame in range(30):
        clock.now += 1 / 30
        pub.publish_pose(None, frame, frame / 30, (640, 480))
        pub.publish_silhouette(None, frame)
    pub.publish_stats({"fps": 30.0})
    assert rep_id == "test-s1-0" and pub.payloads("rep")[0]["id"] == rep_id
    assert len(pub.of_kind("pose")) == 10 and len(pub.of_kind("silhouette")) == 2
    assert pub.payloads("stats")[0]["outbox"] == 0
    assert pub.of_kind("state")[0].topic == "edge-pose/test/state" and pub.of_kind("state")[0].retain
    pub.stop()
    assert pub.payloads("availability") == ["online", "offline"]


def test_ok__memory_publisher_offline_keeps_reps_in_order() -> None:
    pub = MemoryPublisher(connected=False)
    pub.start()
    pub.publish_rep(rep_event(0), "s1")
    pub.publish_state(state(count=1))
    pub.publish_rep(rep_event(1), "s1")
    pub.publish_state(state(count=2))
    pub.publish_pose(None, 1, 0.0)
    assert pub.messages == [] and pub.outbox_size == 3 and pub.counters["dropped_offline"] == 1
    pub.set_connected(True)
    kinds = [(m.kind, m.json()["count"] if m.kind == "state" else m.text()) for m in pub.messages]
    assert [k for k, _ in kinds] == ["availability", "rep", "rep", "state"]
    assert kinds[-1][1] == 2


def test_ok__memory_publisher_commands_go_through_the_real_dispatcher() -> None:
    pub = MemoryPublisher()
    pub.start()
    result = pub.receive_command({"cmd": "set_rates", "pose_hz": 2})
    assert result["ok"] is False and "not ready" in result["error"]

    class Handler:
        rates = None

        def reset(self) -> None: ...
        def set_exercise(self, name: str) -> None: ...
        def start_session(self) -> None: ...
        def stop_session(self) -> None: ...

        def set_rates(self, pose_hz, silhouette_hz) -> None:  # noqa: ANN001
            self.rates = (pose_hz, silhouette_hz)

        def state(self) -> dict:
            return dict(STATE)

    handler = Handler()
    pub.set_command_handler(handler)
    assert pub.receive_command({"cmd": "set_rates", "pose_hz": 2})["ok"] is True
    assert handler.rates == (2.0, None) and pub.rates == (2.0, 2.0)
    assert pub.receive_command(b"{")["error"] == "command is not valid JSON"
    assert [r["ok"] for r in pub.payloads("cmd_result")] == [False, True, False]


def test_ok__importing_edge_does_not_import_paho() -> None:
    """The CLI parses arguments on a Pi without paho; only MqttPublisher.start() imports it."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, edge, edge.cli, edge.config, edge.mqtt; edge.cli.build_parser(); "
        "print('paho' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "False"
