"""End to end: ``edge-pose run`` as a process, a real mosquitto, the real pipeline, a subscriber.

Each test starts ``python -m edge run --config <toml>`` (configured only through CONTRACT.md's
schema) against a mosquitto on a free loopback port (the MQTT tests' ``Mosquitto`` helper), and
checks what a subscriber receives: exactly the rep events the pipeline finds in a labelled clip
(also across a broker outage), answers to bad commands, one-line refusals of a bad configuration,
and a daemon that keeps running with wrong credentials. These run the BlazePose model on real
footage: seconds of CPU each (marked ``slow``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "mqtt"))

MISSING = [m for m in ("edge.mqtt", "edge.reps", "edge.config") if importlib.util.find_spec(m) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not on this branch yet"),
]

if not MISSING:
    from mqtt_helpers import Mosquitto, Subscriber, require_mosquitto

CLIP = "squat/nowva_squats.mp4"  # CC0, 5 squats (labels.tsv)
DEVICE = "e2e"
PREFIX = f"edge-pose/{DEVICE}"


def labelled_count(shared: Path, clip: str) -> tuple[int, int]:
    for line in (shared / "footage" / "labels.tsv").read_text().splitlines()[1:]:
        fields = line.split("\t")
        if fields[0] == clip:
            return int(fields[2]), int(fields[3])
    raise AssertionError(f"{clip} has no label")


def write_config(
    tmp_path: Path,
    port: int,
    clip: Path,
    *extra: str,
    realtime: bool = False,
    loop: bool = False,
    extra_mqtt: tuple[str, ...] | list[str] = (),
) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        "\n".join(
            [
                "[device]",
                f'id = "{DEVICE}"',
                "[source]",
                'kind = "file"',
                f'uri = "{clip}"',
                f"realtime = {'true' if realtime else 'false'}",
                f"loop = {'true' if loop else 'false'}",
                "[reps]",
                'exercise = "squat"',
                "[mqtt]",
                'host = "127.0.0.1"',
                f"port = {port}",
                "keepalive = 2",
                *extra_mqtt,
                "[publish]",
                "stats_interval_s = 1",
                f'outbox_dir = "{tmp_path / "outbox"}"',
                "[homeassistant]",
                "discovery = false",
                *extra,
                "",
            ]
        )
    )
    return config


class Daemon:
    """``python -m edge run`` in a child process, with a fake systemd notification socket."""

    def __init__(self, config: Path, tmp_path: Path, watchdog_usec: int = 2_000_000) -> None:
        self.notify_path = tmp_path / "notify"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(0.1)
        self.messages: list[str] = []
        self._reading = True
        self._reader = threading.Thread(target=self._read_notifications, daemon=True)
        self._reader.start()
        env = dict(
            os.environ,
            PYTHONPATH=str(REPO),
            NOTIFY_SOCKET=str(self.notify_path),
            WATCHDOG_USEC=str(watchdog_usec),
        )
        env.pop("WATCHDOG_PID", None)
        self.stderr_path = tmp_path / "daemon.log"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(config)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def _read_notifications(self) -> None:
        """Read like systemd does, all the time (an unread socket would fill up)."""
        while self._reading:
            try:
                self.messages += self.notify.recv(4096).decode().split("\n")
            except (TimeoutError, OSError):
                continue

    def poll_notify(self) -> list[str]:
        time.sleep(0.05)
        return list(self.messages)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while "READY=1" not in self.poll_notify():
            assert self.proc.poll() is None, f"edge-pose run exited {self.proc.returncode}: {self.stderr}"
            assert time.monotonic() < deadline, f"no READY=1 within {timeout} s: {self.stderr}"

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        time.sleep(0.2)  # the last notifications
        return code

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    @property
    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reading = False
        self._reader.join(1.0)
        self._stderr.close()
        self.notify.close()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Any]:
    made: list[Daemon] = []

    def make(config: Path, **kwargs: Any) -> Daemon:
        workdir = tmp_path / f"daemon{len(made)}"
        workdir.mkdir()
        daemon = Daemon(config, workdir, **kwargs)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Any]:
    require_mosquitto()
    started: list[Mosquitto] = []

    def make(**kwargs: Any) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"broker{len(started)}", **kwargs)
        started.append(broker)
        return broker.start()

    yield make
    for b in started:
        b.stop(signal.SIGKILL)


def expected_events(shared: Path, clip: str) -> list[dict[str, Any]]:
    """The rep events the same pipeline finds in the clip in-process (what the daemon must publish)."""
    from edge.blazepose import PoseEstimator
    from edge.camera import CameraSettings, open_camera_source
    from edge.config import load
    from edge.daemon.compose import estimator_options, mask_needed
    from edge.reps import RepCounter

    config = load(None, env={}, overrides={"device.id": DEVICE, "reps.exercise": "squat"})
    estimator = PoseEstimator(estimator_options(config.pose, mask_needed(config)))
    counter = RepCounter("squat")
    source = open_camera_source(
        CameraSettings(kind="file", uri=str(shared / "footage" / clip), realtime=False)
    ).source
    events = []
    while (frame := source.read()) is not None:
        event = counter.update(estimator.process(frame), frame.timestamp)
        if event is not None:
            events.append(event.to_json())
    source.close()
    estimator.close()
    return events


def rep_bodies(subscriber: Subscriber) -> list[dict[str, Any]]:
    """Rep payloads without the envelope (v, ts, id, device_id, session), deduplicated by id."""
    seen: dict[str, dict[str, Any]] = {}
    for payload in subscriber.payloads(f"{PREFIX}/rep"):
        seen.setdefault(payload["id"], payload)
    return [
        {k: v for k, v in p.items() if k not in ("v", "ts", "id", "device_id", "session")}
        for p in seen.values()
    ]


def test_ok__a_labelled_clip_publishes_exactly_its_reps(
    shared: Path, tmp_path: Path, broker, daemons
) -> None:
    """The CC0 demo clip through `edge-pose run` into mosquitto: the subscriber gets the same rep
    events as the pipeline run in-process (none lost, none doubled), within the human label, then
    the final state and `offline`; systemd saw READY, watchdog pings and STOPPING; exit 0."""
    mosquitto = broker()
    subscriber = Subscriber(mosquitto.port, f"{PREFIX}/#")
    expected = expected_events(shared, CLIP)
    low, high = labelled_count(shared, CLIP)
    assert low <= len([e for e in expected if not e.get("partial")]) <= high
    daemon = daemons(write_config(tmp_path, mosquitto.port, shared / "footage" / CLIP))
    assert daemon.wait(120.0) == 0, daemon.stderr
    assert subscriber.wait_for(
        lambda: (
            bool(subscriber.on(f"{PREFIX}/availability"))
            and subscriber.on(f"{PREFIX}/availability")[-1].payload == b"offline"
        ),
        10,
    )
    assert rep_bodies(subscriber) == expected
    ids = [p["id"] for p in subscriber.payloads(f"{PREFIX}/rep")]
    session = subscriber.payloads(f"{PREFIX}/state")[-1]["session"]["id"]
    assert ids[: len(expected)] == [
        f"{DEVICE}-{session}-{e['index']}" + ("p" if e.get("partial") else "") for e in expected
    ]
    final = subscriber.payloads(f"{PREFIX}/state")[-1]
    assert final["status"] == "stopping" and final["count"] == len(
        [e for e in expected if not e.get("partial")]
    )
    stats = subscriber.payloads(f"{PREFIX}/stats")[-1]
    assert stats["skipped_frames"] == 0 and stats["frames"] > 300
    assert "READY=1" in daemon.messages and "STOPPING=1" in daemon.messages
    assert "WATCHDOG=1" in daemon.messages
    assert "Traceback" not in daemon.stderr


def test_ok__reps_survive_the_broker_going_away_mid_clip(
    shared: Path, tmp_path: Path, broker, daemons
) -> None:
    """The broker stops for several seconds while the clip plays in real time and starts again:
    every rep event still reaches a subscriber with a persistent session, in order (the daemon's
    outbox holds them; duplicates are allowed by the contract and removed by id)."""
    # The broker is stopped after the first rep arrived and restarted 4 s later, while the 12 s clip
    # plays at its own rate: reps 2 and 3 or so end during the outage.
    mosquitto = broker(persistence=True)
    subscriber = Subscriber(mosquitto.port, f"{PREFIX}/rep", client_id="e2e-sub", clean=False)
    expected = expected_events(shared, CLIP)
    daemon = daemons(write_config(tmp_path, mosquitto.port, shared / "footage" / CLIP, realtime=True))
    daemon.wait_ready()
    assert subscriber.wait_for(lambda: len(subscriber.on(f"{PREFIX}/rep")) >= 1, 30), daemon.stderr
    mosquitto.stop()  # SIGTERM: saves the subscriber's session
    time.sleep(4.0)
    assert daemon.proc.poll() is None, "the daemon must survive the broker's absence"
    mosquitto.start()
    assert daemon.wait(60.0) == 0, daemon.stderr
    assert subscriber.wait_for(
        lambda: len({p["id"] for p in subscriber.payloads(f"{PREFIX}/rep")}) >= len(expected), 30
    )
    # played in real time, the daemon may skip a frame now and then: same reps, timings within a frame or two
    got = rep_bodies(subscriber)
    assert [(g["index"], g["exercise"], g["partial"]) for g in got] == [
        (e["index"], e["exercise"], e["partial"]) for e in expected
    ]
    assert [g["end"] for g in got] == pytest.approx([e["end"] for e in expected], abs=0.25)
    indices = [p["index"] for p in subscriber.payloads(f"{PREFIX}/rep")]
    assert indices == sorted(indices), "delivered in order"


def test_ok__bad_commands_are_answered_and_change_nothing(
    shared: Path, tmp_path: Path, broker, daemons
) -> None:
    """Malformed, unknown or invalid commands get ok=false with a reason; a valid one is applied
    between frames; the daemon keeps running and stops cleanly."""
    import paho.mqtt.publish as publish

    mosquitto = broker()
    subscriber = Subscriber(mosquitto.port, [f"{PREFIX}/cmd/result", f"{PREFIX}/state"])
    daemon = daemons(
        write_config(tmp_path, mosquitto.port, shared / "footage" / CLIP, realtime=True, loop=True)
    )
    daemon.wait_ready()
    commands = [
        ("not json", None),
        (json.dumps({"id": "1", "cmd": "explode"}), "unknown command"),
        (json.dumps({"id": "2", "cmd": "set_exercise", "exercise": "flying"}), "flying"),
        (json.dumps({"id": "3", "cmd": "set_rates", "pose_hz": -4}), "pose_hz"),
        (json.dumps({"id": "4", "cmd": "set_exercise", "exercise": "pushup"}), None),
    ]
    for payload, _ in commands:
        publish.single(f"{PREFIX}/cmd", payload, qos=1, hostname="127.0.0.1", port=mosquitto.port)
    assert subscriber.wait_for(lambda: len(subscriber.on(f"{PREFIX}/cmd/result")) >= len(commands), 15)
    results = subscriber.payloads(f"{PREFIX}/cmd/result")
    assert [r["ok"] for r in results] == [False, False, False, False, True]
    for result, (_, fragment) in zip(results, commands, strict=True):
        if fragment:
            assert fragment in result["error"]
    assert results[-1]["state"]["exercise"] == "pushup"
    assert subscriber.wait_for(lambda: subscriber.payloads(f"{PREFIX}/state")[-1]["exercise"] == "pushup", 5)
    assert daemon.proc.poll() is None
    assert daemon.stop() == 0, daemon.stderr
    assert "Traceback" not in daemon.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["[pose]", 'modle = "lite"'], "pose.modle"),  # a typo: unknown key
        (["[pose]", "threads = 0"], "pose.threads"),  # out of range
    ],
)
def test_fail__bad_config_is_one_line_and_exit_2(
    shared: Path, tmp_path: Path, daemons, extra: list[str], message: str
) -> None:
    """systemd does not restart on exit 2 (RestartPreventExitStatus=2): the line must say what to fix."""
    config = write_config(tmp_path, 1, shared / "footage" / CLIP, *extra)
    daemon = daemons(config)
    assert daemon.wait(30.0) == 2
    lines = [line for line in daemon.stderr.splitlines() if line.startswith("edge-pose: error:")]
    assert len(lines) == 1 and message in lines[0], daemon.stderr
    assert "Traceback" not in daemon.stderr
    assert "READY=1" not in daemon.messages


def test_fail__missing_clip_is_one_line_and_exit_2(tmp_path: Path, daemons) -> None:
    daemon = daemons(write_config(tmp_path, 1, tmp_path / "nope.mp4"))
    assert daemon.wait(30.0) == 2
    assert "nope.mp4: no such file" in daemon.stderr and "Traceback" not in daemon.stderr


def test_ok__wrong_credentials_keep_the_daemon_running_and_say_why(
    shared: Path, tmp_path: Path, broker, daemons
) -> None:
    """A refused login is logged once with the keys to check; the daemon keeps running (reps wait
    in the outbox), answers SIGTERM and exits 0."""
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "edge", "right"], check=True)
    mosquitto = broker(conf=f"allow_anonymous false\npassword_file {passwords}\n")
    secret = tmp_path / "mqtt_password"
    secret.write_text("wrong\n")
    config = write_config(
        tmp_path,
        mosquitto.port,
        shared / "footage" / CLIP,
        realtime=True,
        loop=True,
        extra_mqtt=['username = "edge"', f'password_file = "{secret}"'],
    )
    daemon = daemons(config)
    daemon.wait_ready()
    time.sleep(3.0)
    assert daemon.proc.poll() is None
    assert daemon.stop() == 0, daemon.stderr
    refusals = [line for line in daemon.stderr.splitlines() if "refused the login" in line]
    assert len(refusals) == 1 and "mqtt.username" in refusals[0], daemon.stderr
    assert "Traceback" not in daemon.stderr


def test_ok__lcd_and_dashboard_run_inside_the_daemon(shared: Path, tmp_path: Path, broker, daemons) -> None:
    """With [lcd] (PNG output) and [dashboard] enabled, `edge-pose run` draws the screen and serves
    the page from the same process; both stop with it."""
    import urllib.request

    from edge.mqtt.broker import free_port

    mosquitto = broker()
    png = tmp_path / "lcd.png"
    port = free_port()
    config = write_config(
        tmp_path,
        mosquitto.port,
        shared / "footage" / CLIP,
        "[lcd]",
        "enabled = true",
        'output = "png"',
        f'png_path = "{png}"',
        "[dashboard]",
        "enabled = true",
        f"port = {port}",
        realtime=True,
        loop=True,
    )
    daemon = daemons(config)
    daemon.wait_ready()
    deadline = time.monotonic() + 20
    while not png.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert png.exists(), daemon.stderr
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
        assert response.status == 200 and b"<html" in response.read().lower()
    assert daemon.stop() == 0, daemon.stderr
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    assert "Traceback" not in daemon.stderr


def test_ok__a_camera_that_comes_later_is_reported_then_used(tmp_path: Path, broker, daemons) -> None:
    """The service starts while the (network) camera is off: READY=1 anyway, state camera_error on
    MQTT, watchdog pings while it retries; once the camera is up, status running and frames flow."""
    from edge.mqtt.broker import free_port

    mosquitto = broker()
    subscriber = Subscriber(mosquitto.port, f"{PREFIX}/#")
    cam_port = free_port()
    config = write_config(tmp_path, mosquitto.port, tmp_path / "unused.mp4")
    text = config.read_text().replace('kind = "file"', 'kind = "stream"')
    text = text.replace(
        f'uri = "{tmp_path / "unused.mp4"}"', f'uri = "http://127.0.0.1:{cam_port}/video.mjpg"'
    )
    config.write_text(text.replace("[source]", "[source]\nretry_initial_s = 0.2\nretry_max_s = 0.5"))
    daemon = daemons(config, watchdog_usec=1_000_000)
    daemon.wait_ready(30.0)

    def statuses() -> list[str]:
        return [s["status"] for s in subscriber.payloads(f"{PREFIX}/state")]

    assert subscriber.wait_for(lambda: "camera_error" in statuses(), 15), daemon.stderr
    pings_before = daemon.poll_notify().count("WATCHDOG=1")
    time.sleep(1.5)
    assert daemon.poll_notify().count("WATCHDOG=1") > pings_before, "pings while the camera is retried"
    camera = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "camera" / "mjpeg_server.py"), str(cam_port), "90"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert camera.stdout is not None and camera.stdout.readline().strip() == "ready"
        assert subscriber.wait_for(lambda: statuses()[-1:] == ["running"], 20), statuses()
        assert subscriber.wait_for(
            lambda: any(s["frames"] > 10 for s in subscriber.payloads(f"{PREFIX}/stats")), 15
        )
        assert daemon.stop() == 0, daemon.stderr
    finally:
        camera.kill()
        camera.wait()
    lost = [line for line in daemon.stderr.splitlines() if "cannot open" in line or "lost" in line]
    assert len(lost) == 1, daemon.stderr  # one line for the outage, not one per retry
    assert "Traceback" not in daemon.stderr
