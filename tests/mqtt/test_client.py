"""MqttPublisher against real mosquitto processes: availability, delivery guarantees, commands, failures."""

from __future__ import annotations

import json
import logging
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import (
    FAST,
    STATE,
    BlackholeProxy,
    Mosquitto,
    Subscriber,
    make_config,
    rep_event,
    run_child,
    state,
    wait_until,
)
from test_commands import RecordingHandler

from edge.errors import PublishError
from edge.mqtt.broker import free_port
from edge.mqtt.client import MqttPublisher, describe_connect_error


@pytest.fixture
def publishers() -> Any:
    """Factory of started MqttPublishers (short backoff), all stopped after the test."""
    made: list[MqttPublisher] = []

    def make(config: Any, wait: bool = True, **kwargs: Any) -> MqttPublisher:
        pub = MqttPublisher(config, **{**FAST, **kwargs})
        made.append(pub)
        pub.connect(wait=wait, timeout=5)
        return pub

    yield make
    for pub in made:
        pub.stop(timeout=1)


def ids(sub: Subscriber, topic: str = "edge-pose/dev1/rep") -> list[str]:
    return [p["id"] for p in sub.payloads(topic)]


def first_seen(values: list[str]) -> list[str]:
    """Deduplicate keeping first occurrences (what a subscriber does with the rep ``id``)."""
    seen: set[str] = set()
    return [v for v in values if not (v in seen or seen.add(v))]


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info], "connection problems must not log tracebacks"


# -- availability ---------------------------------------------------------------------------------------


def test_ok__retained_online_and_state_for_late_subscribers(
    broker: Mosquitto, tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    """A dashboard opened later must see the device online and its last state at once (retained)."""
    pub = publishers(make_config(tmp_path, broker.port))
    pub.publish_state(state(count=1))
    pub.publish_state(state(count=2))
    assert wait_until(lambda: pub._idle.is_set())
    late = subscribers(broker.port, ["edge-pose/dev1/availability", "edge-pose/dev1/state"])
    assert late.wait_for(
        lambda: len(late.on("edge-pose/dev1/state")) >= 1 and late.on("edge-pose/dev1/availability")
    )
    (availability,) = late.on("edge-pose/dev1/availability")
    assert availability.payload == b"online" and availability.retain
    retained_state = late.on("edge-pose/dev1/state")[-1]
    assert retained_state.retain and json.loads(retained_state.payload)["count"] == 2


def test_ok__state_published_before_start_goes_out_on_connect(
    broker: Mosquitto, tmp_path: Path, subscribers: Any
) -> None:
    """The daemon announces status 'starting' before the publisher is up; it must not be lost."""
    sub = subscribers(broker.port, "edge-pose/dev1/state")
    pub = MqttPublisher(make_config(tmp_path, broker.port), **FAST)
    pub.publish_state(state(status="starting"))
    pub.connect(timeout=5)
    try:
        assert sub.wait_for(lambda: sub.on("edge-pose/dev1/state"))
        assert sub.payloads("edge-pose/dev1/state")[0]["status"] == "starting"
    finally:
        pub.stop(timeout=1)


def test_ok__clean_stop_delivers_outbox_then_offline(
    broker: Mosquitto, tmp_path: Path, subscribers: Any
) -> None:
    """stop() must flush queued reps and the state before saying offline."""
    sub = subscribers(broker.port, "edge-pose/dev1/#")
    pub = MqttPublisher(make_config(tmp_path, broker.port), **FAST)
    pub.connect()
    for i in range(20):
        pub.publish_rep(rep_event(i), "s1")
    pub.publish_state(state(count=20, status="stopping"))
    pub.stop(timeout=5)
    assert pub.outbox_size == 0
    assert sub.wait_for(lambda: sub.payloads("edge-pose/dev1/availability")[-1:] == ["offline"])
    assert ids(sub) == [f"dev1-s1-{i}" for i in range(20)]
    topics = [m.topic.rsplit("/", 1)[1] for m in sub.messages]
    assert topics[-1] == "availability" and "state" in topics
    retained = Subscriber(broker.port, "edge-pose/dev1/availability")
    assert retained.wait_for(lambda: retained.payloads("edge-pose/dev1/availability") == ["offline"])
    retained.close()


CHILD = """
import sys, time, logging
from pathlib import Path
logging.basicConfig(level=logging.WARNING)
from edge.config import load
from edge.mqtt.client import MqttPublisher
port, outbox, protocol, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
mode = sys.argv[5] if len(sys.argv) > 5 else "connect"
conf = Path(outbox).parent / "child.toml"
conf.write_text("")
config = load(conf, env={}, overrides={"device.id": "dev1", "mqtt.host": "127.0.0.1", "mqtt.port": port,
              "mqtt.keepalive": 1, "mqtt.protocol": protocol, "mqtt.client_id": client_id,
              "publish.outbox_dir": outbox, "homeassistant.discovery": False})
pub = MqttPublisher(config, reconnect_delay=(0.05, 0.3), will_delay_s=2)
if mode == "connect":
    pub.connect(timeout=5)
    print("connected", flush=True)
else:
    pub.start()
    for i in range(int(mode)):
        pub.publish_rep({"index": i, "exercise": "squat", "partial": False}, "s1")
    print("stored", pub.outbox_size, flush=True)
time.sleep(60)
"""


def start_child(
    port: int,
    tmp_path: Path,
    protocol: str = "3.1.1",
    client_id: str = "edge-pose-child",
    mode: str = "connect",
    outbox: str = "child-outbox",
) -> Any:
    log = tmp_path / f"{outbox}.log"
    proc = run_child(CHILD, str(port), str(tmp_path / outbox), protocol, client_id, mode, log=log)
    line = proc.stdout.readline().decode()  # the child prints one line when it is ready, or exits
    if not line.startswith(("connected", "stored")):
        proc.kill()
        raise AssertionError(f"child publisher failed: {line!r}\n{log.read_text()}")
    return proc


def test_ok__last_will_offline_when_the_process_is_killed(
    broker: Mosquitto, tmp_path: Path, subscribers: Any
) -> None:
    """kill -9 of the daemon (no clean DISCONNECT) must still turn the device offline (LWT)."""
    sub = subscribers(broker.port, "edge-pose/dev1/availability")
    child = start_child(broker.port, tmp_path)
    assert sub.wait_for(lambda: sub.payloads("edge-pose/dev1/availability") == ["online"])
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert sub.wait_for(
        lambda: sub.payloads("edge-pose/dev1/availability") == ["online", "offline"], timeout=5
    )


def test_ok__last_will_on_dead_network_after_keepalive(
    broker: Mosquitto, tmp_path: Path, subscribers: Any
) -> None:
    """A frozen daemon or a pulled cable sends nothing: the broker gives up after 1.5 x keepalive."""
    sub = subscribers(broker.port, "edge-pose/dev1/availability")
    child = start_child(broker.port, tmp_path)
    assert sub.wait_for(lambda: sub.payloads("edge-pose/dev1/availability") == ["online"])
    child.send_signal(signal.SIGSTOP)  # socket open, nothing sent: keepalive 1 s expires
    try:
        t0 = time.monotonic()
        assert sub.wait_for(
            lambda: sub.payloads("edge-pose/dev1/availability")[-1:] == ["offline"], timeout=6
        )
        assert time.monotonic() - t0 >= 1.0
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


# -- live data ------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ok__pose_and_silhouette_rate_limited_and_changeable(
    broker: Mosquitto, tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    """10 Hz of 33-landmark JSON is what a Pi and a browser can take; 30 fps would be three times that."""
    sub = subscribers(broker.port, ["edge-pose/dev1/pose", "edge-pose/dev1/silhouette"])
    clock = FakeClock()
    pub = publishers(make_config(tmp_path, broker.port), clock=clock)
    for frame in range(60):  # 2 s at 30 fps
        pub.publish_pose(None, frame, frame / 30, (640, 480))
        pub.publish_silhouette(None, frame)
        clock.now += 1 / 30
    pub.set_rates(pose_hz=5, silhouette_hz=0)
    for frame in range(60, 120):
        pub.publish_pose(None, frame, frame / 30, (640, 480))
        pub.publish_silhouette({"polygon": [[0, 0]]}, frame)
        clock.now += 1 / 30
    assert sub.wait_for(lambda: len(sub.on("edge-pose/dev1/pose")) >= 30)
    time.sleep(0.2)
    frames = [p["frame"] for p in sub.payloads("edge-pose/dev1/pose")]
    assert frames == list(range(0, 60, 3)) + list(range(60, 120, 6))  # every 3rd frame, then every 6th
    assert [p["frame"] for p in sub.payloads("edge-pose/dev1/silhouette")] == [0, 15, 30, 45]
    assert pub.rates == (5.0, 0.0)
    assert pub.counters["rate_limited"] == 240 - 30 - 4


def test_ok__qos0_dropped_and_counted_while_disconnected(
    mosquitto: Callable[..., Mosquitto], tmp_path: Path, publishers: Any
) -> None:
    """Stale landmarks are worthless and would pile up in RAM: drop them while offline, and say so."""
    broker = mosquitto()
    clock = FakeClock()
    pub = publishers(make_config(tmp_path, broker.port), clock=clock)
    broker.stop()
    assert wait_until(lambda: not pub.connected)
    for frame in range(3):
        clock.now += 1
        pub.publish_pose(None, frame, float(frame))
    pub.publish_stats({"fps": 1.0})
    assert pub.counters["dropped_offline"] == 4 and pub.counters["published"] == 0


# -- delivery guarantees ------------------------------------------------------------------------------


def test_ok__reps_across_a_broker_outage_all_in_order(
    mosquitto: Callable[..., Mosquitto], tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    """The core promise: no rep is lost or reordered when the broker goes away for seconds.

    Reps are published every 50 ms for 4 s; the broker is stopped after 0.5 s and started again
    on the same port 3 s later. A subscriber with a persistent session (kept by mosquitto's
    persistence) must see every rep, in order, after dropping at-least-once duplicates by id.
    """
    broker = mosquitto(persistence=True)
    sub = subscribers(broker.port, "edge-pose/dev1/rep", client_id="dashboard", clean=False)
    pub = publishers(make_config(tmp_path, broker.port))
    total = 80

    def produce() -> None:
        for i in range(total):
            pub.publish_rep(rep_event(i), "s1")
            time.sleep(0.05)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.5)
    broker.stop()  # SIGTERM: mosquitto saves the subscriber's session
    assert wait_until(lambda: not pub.connected)
    time.sleep(3.0)
    assert pub.outbox_size > 0, "reps published during the outage wait in the outbox"
    broker.start()
    producer.join()
    expected = [f"dev1-s1-{i}" for i in range(total)]
    assert sub.wait_for(lambda: set(ids(sub)) >= set(expected), timeout=15), (
        f"missing: {set(expected) - set(ids(sub))}"
    )
    assert first_seen(ids(sub)) == expected
    assert wait_until(lambda: pub.outbox_size == 0)
    assert pub.counters["connects"] == 2


def test_ok__reps_in_flight_when_the_network_drops_stay_in_order(
    broker: Mosquitto, tmp_path: Path, subscribers: Any
) -> None:
    """Reps sent just before a Wi-Fi drop are lost on the wire and re-sent by paho after the reconnect;
    reps queued during the outage must not overtake them.

    A proxy blackholes the link (bytes vanish, no reset), so three reps are really lost in flight
    while twelve more wait in the outbox. The worst thread interleaving is forced: the delivery
    thread gets to run between on_connect and paho's re-send of its in-flight messages.
    """
    proxy = BlackholeProxy(broker.port)
    sub = subscribers(broker.port, "edge-pose/dev1/rep")
    pub = MqttPublisher(make_config(tmp_path, proxy.port, mqtt__keepalive=1), **FAST)
    on_connect = pub._on_connect

    def slow_on_connect(*args: Any) -> None:
        on_connect(*args)
        time.sleep(0.3)  # paho re-sends its in-flight messages only after on_connect returns

    pub._on_connect = slow_on_connect  # type: ignore[method-assign]
    try:
        pub.connect(timeout=5)
        for i in range(5):
            pub.publish_rep(rep_event(i), "s1")
        assert wait_until(lambda: pub.outbox_size == 0)
        proxy.blackhole()
        for i in range(5, 8):
            pub.publish_rep(rep_event(i), "s1")  # handed to paho, lost on the wire
        assert wait_until(lambda: not pub.connected, timeout=8)  # keepalive 1 s: about 2 s
        for i in range(8, 20):
            pub.publish_rep(rep_event(i), "s1")  # wait in the outbox
        proxy.heal()
        expected = [f"dev1-s1-{i}" for i in range(20)]
        assert sub.wait_for(lambda: set(ids(sub)) >= set(expected), timeout=10)
        assert first_seen(ids(sub)) == expected
        assert wait_until(lambda: pub.outbox_size == 0)
    finally:
        pub.stop(timeout=1)
        proxy.close()


def test_ok__reps_survive_a_publisher_crash(
    mosquitto: Callable[..., Mosquitto], tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    """Reps stored while the broker was down must be sent by the next daemon process, once, in order."""
    broker = mosquitto(persistence=True)
    sub = subscribers(broker.port, "edge-pose/dev1/rep", client_id="dashboard", clean=False)
    broker.stop()
    child = start_child(broker.port, tmp_path, mode="5", outbox="outbox")  # stores 5 reps, broker down
    child.send_signal(signal.SIGKILL)
    child.wait()
    broker.start()
    pub = publishers(make_config(tmp_path, broker.port))  # same outbox folder
    pub.publish_rep(rep_event(5), "s1")
    pub.publish_rep(rep_event(6), "s1")
    expected = [f"dev1-s1-{i}" for i in range(7)]
    assert sub.wait_for(lambda: len(ids(sub)) >= 7, timeout=10)
    time.sleep(0.3)
    assert ids(sub) == expected  # nothing was acknowledged before the crash: no duplicate either
    assert wait_until(lambda: pub.outbox_size == 0)


def test_ok__broker_restart_without_persistence_restores_retained_and_subscription(
    mosquitto: Callable[..., Mosquitto], tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    """A restarted broker forgets retained messages and subscriptions; the device restores both."""
    broker = mosquitto()
    pub = publishers(make_config(tmp_path, broker.port))
    handler = RecordingHandler()
    pub.set_command_handler(handler)
    pub.publish_state(state(count=7))
    assert wait_until(lambda: pub._idle.is_set())
    broker.stop()
    assert wait_until(lambda: not pub.connected)
    broker.start()
    assert wait_until(lambda: pub.connected, timeout=5)
    late = subscribers(
        broker.port, ["edge-pose/dev1/availability", "edge-pose/dev1/state", "edge-pose/dev1/cmd/result"]
    )
    assert late.wait_for(
        lambda: late.payloads("edge-pose/dev1/availability") == ["online"] and late.on("edge-pose/dev1/state")
    )
    assert late.payloads("edge-pose/dev1/state")[-1]["count"] == 7
    late.client.publish("edge-pose/dev1/cmd", json.dumps({"cmd": "reset", "id": "after-restart"}), qos=1)
    assert late.wait_for(lambda: late.on("edge-pose/dev1/cmd/result"))
    assert late.payloads("edge-pose/dev1/cmd/result")[0]["id"] == "after-restart"
    assert handler.calls == [("reset",)]


# -- commands -------------------------------------------------------------------------------------------


def test_ok__commands_answered_and_invalid_ones_change_nothing(
    broker: Mosquitto, tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    """Every command gets one answer on cmd/result; only valid, authorised ones reach the daemon."""
    pub = publishers(make_config(tmp_path, broker.port, commands__token="s3cret"))
    handler = RecordingHandler()
    pub.set_command_handler(handler)
    sub = subscribers(broker.port, "edge-pose/dev1/cmd/result")
    sent = [
        b"not json",
        json.dumps({"id": "u1", "cmd": "selfdestruct", "token": "s3cret"}).encode(),
        json.dumps({"id": "a1", "cmd": "reset"}).encode(),
        json.dumps({"id": "a2", "cmd": "reset", "token": "guess"}).encode(),
        json.dumps({"id": "r1", "cmd": "set_rates", "pose_hz": 99, "token": "s3cret"}).encode(),
        json.dumps({"id": "ok1", "cmd": "set_rates", "pose_hz": 3, "token": "s3cret"}).encode(),
        json.dumps({"id": "ok2", "cmd": "set_exercise", "exercise": "pushup", "token": "s3cret"}).encode(),
    ]
    for payload in sent:
        sub.client.publish("edge-pose/dev1/cmd", payload, qos=1)
    assert sub.wait_for(lambda: len(sub.on("edge-pose/dev1/cmd/result")) == len(sent))
    results = sub.payloads("edge-pose/dev1/cmd/result")
    assert [(r["id"], r["ok"]) for r in results] == [
        (None, False),
        ("u1", False),
        ("a1", False),
        ("a2", False),
        ("r1", False),
        ("ok1", True),
        ("ok2", True),
    ]
    assert results[0]["error"] == "command is not valid JSON" and results[0]["cmd"] is None
    assert results[2]["error"] == "unauthorised: missing or wrong token"
    assert all(r["state"]["device_id"] == "dev1" and r["v"] == 1 for r in results)
    assert handler.calls == [("set_rates", 3.0, None), ("set_exercise", "pushup")]
    assert pub.rates == (3.0, 2.0)


def test_fail__retained_command_is_not_executed(
    broker: Mosquitto, tmp_path: Path, publishers: Any, subscribers: Any
) -> None:
    """A retained 'reset' left on the broker must not reset the count at every reconnect."""
    sub = subscribers(broker.port, "edge-pose/dev1/cmd/result")
    sub.client.publish("edge-pose/dev1/cmd", json.dumps({"cmd": "reset", "id": "old"}), qos=1, retain=True)
    time.sleep(0.1)
    pub = publishers(make_config(tmp_path, broker.port))
    handler = RecordingHandler()
    pub.set_command_handler(handler)
    assert sub.wait_for(lambda: sub.on("edge-pose/dev1/cmd/result"))
    result = sub.payloads("edge-pose/dev1/cmd/result")[0]
    assert (
        result["ok"] is False and "retained commands are ignored" in result["error"] and result["id"] == "old"
    )
    assert handler.calls == []


# -- connection failures ---------------------------------------------------------------------------------


def test_fail__broker_unreachable_then_appears(
    tmp_path: Path, mosquitto: Callable[..., Mosquitto], caplog: pytest.LogCaptureFixture
) -> None:
    """No broker at boot is normal (it may come later): one clear line, retry, connect when it comes."""
    port = free_port()
    config = make_config(tmp_path, port)
    with pytest.raises(
        PublishError, match=f"^MQTT broker 127.0.0.1:{port} refused the connection: nothing listens"
    ):
        MqttPublisher(config, **FAST).connect(timeout=3)
    pub = MqttPublisher(config, **FAST)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="edge.mqtt"):
        pub.start()
        pub.publish_rep(rep_event(0), "s1")
        time.sleep(1.0)
        assert not pub.connected and pub._failures >= 3
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "nothing listens there" in warnings[0].getMessage()
        broker = mosquitto(port=port)
        sub = Subscriber(broker.port, "edge-pose/dev1/rep", client_id="late", clean=True)
        try:
            assert wait_until(lambda: pub.connected, timeout=5)
            assert wait_until(lambda: pub.outbox_size == 0)
        finally:
            sub.close()
            pub.stop(timeout=1)
    no_tracebacks(caplog)


@pytest.fixture
def password_broker(mosquitto: Callable[..., Mosquitto], tmp_path: Path) -> Mosquitto:
    import subprocess

    pwfile = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-c", "-b", str(pwfile), "edge", "right-password"],
        check=True,
        capture_output=True,
    )
    return mosquitto(conf=f"allow_anonymous false\npassword_file {pwfile}\n")


def test_fail__wrong_credentials_clear_error_and_retries(
    password_broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Frigate believes it is connected after a refusal; we must not, and must say why in one line."""
    (tmp_path / "pw").write_text("wrong-password\n")
    config = make_config(
        tmp_path, password_broker.port, mqtt__username="edge", mqtt__password_file=str(tmp_path / "pw")
    )
    with pytest.raises(PublishError) as info:
        MqttPublisher(config, **FAST).connect(timeout=3)
    assert str(info.value) == (
        f"MQTT broker 127.0.0.1:{password_broker.port} refused the login: Not authorized "
        "(check mqtt.username and mqtt.password_file)"
    )
    pub = MqttPublisher(config, **FAST)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="edge.mqtt"):
        pub.start()
        pub.publish_state(STATE)
        time.sleep(1.0)
        assert not pub.connected, "a refused CONNACK must never count as connected"
        assert pub._failures >= 2, "it keeps retrying"
        pub.stop(timeout=0.5)
    errors = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "refused the login" in r.getMessage()
    ]
    assert len(errors) == 1
    no_tracebacks(caplog)
    (tmp_path / "pw").write_text("right-password\n")  # the fix: the next start reads the file again
    pub = MqttPublisher(config, **FAST)
    pub.connect(timeout=5)
    assert pub.connected
    pub.stop(timeout=1)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_fail__anonymous_and_bad_password_refused(
    password_broker: Mosquitto, tmp_path: Path, protocol: str
) -> None:
    """MQTT 5 reports refusals with other reason codes than 3.1.1; both must read the same to a user."""
    with pytest.raises(PublishError, match="refused the login: .*check mqtt.username and mqtt.password_file"):
        MqttPublisher(
            make_config(tmp_path / "a", password_broker.port, mqtt__protocol=protocol), **FAST
        ).connect(timeout=3)
    bad = make_config(
        tmp_path / "b",
        password_broker.port,
        mqtt__protocol=protocol,
        mqtt__username="edge",
        mqtt__password="no",
    )
    with pytest.raises(PublishError, match="refused the login: "):
        MqttPublisher(bad, **FAST).connect(timeout=3)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            ConnectionRefusedError(111, "Connection refused"),
            "MQTT broker h:1 refused the connection: nothing listens",
        ),
        (
            socket.gaierror(-2, "Name or service not known"),
            "cannot resolve the MQTT broker host 'h' (mqtt.host)",
        ),
        (TimeoutError("timed out"), "MQTT broker h:1 did not answer (timeout)"),
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            "TLS handshake with MQTT broker h:1 failed",
        ),
        (OSError(113, "No route to host"), "cannot connect to MQTT broker h:1: [Errno 113] No route to host"),
        (
            ConnectionResetError(104, "Connection reset by peer"),
            "cannot connect to MQTT broker h:1: [Errno 104]",
        ),
        (None, "cannot connect to MQTT broker h:1"),
    ],
)
def test_ok__connection_errors_are_one_clear_line(exc: BaseException | None, expected: str) -> None:
    message = describe_connect_error(exc, "h", 1)
    assert message.startswith(expected) and "\n" not in message


# -- TLS ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 'localhost' only, and a client certificate (openssl CLI)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("certs")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=edge-pose test CA",
    )
    for name, cn, ext in (
        ("server", "localhost", "subjectAltName=DNS:localhost"),
        ("client", "edge-pose-client", "extendedKeyUsage=clientAuth"),
    ):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}")
        (d / f"{name}.ext").write_text(ext + "\n")
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
        )
    return d


@pytest.fixture
def tls_broker(mosquitto: Callable[..., Mosquitto], certs: Path) -> tuple[Mosquitto, int]:
    """One listener with TLS, one that also requires a client certificate."""
    port, mtls_port = free_port(), free_port()
    tls = f"cafile {certs}/ca.crt\ncertfile {certs}/server.crt\nkeyfile {certs}/server.key\n"
    conf = f"listener {port} 127.0.0.1\n{tls}listener {mtls_port} 127.0.0.1\n{tls}require_certificate true\n"
    return mosquitto(conf=conf, port=port), mtls_port


def tls_config(tmp_path: Path, port: int, certs: Path, **extra: Any) -> Any:
    values = {"mqtt__host": "localhost", "mqtt__tls": True, "mqtt__ca_file": str(certs / "ca.crt"), **extra}
    return make_config(tmp_path, port, **values)


def test_ok__tls_with_ca_and_client_certificate(
    tls_broker: tuple[Mosquitto, int], certs: Path, tmp_path: Path, publishers: Any
) -> None:
    broker, mtls_port = tls_broker
    pub = publishers(tls_config(tmp_path / "a", broker.port, certs))
    assert pub.connected
    pub2 = publishers(
        tls_config(
            tmp_path / "b",
            mtls_port,
            certs,
            device__id="dev2",
            mqtt__cert_file=str(certs / "client.crt"),
            mqtt__key_file=str(certs / "client.key"),
        )
    )
    assert pub2.connected


@pytest.mark.parametrize(
    ("extra", "host", "expected"),
    [
        (
            {"mqtt__ca_file": ""},
            "localhost",
            "TLS: the certificate of MQTT broker localhost:{port} was not accepted",
        ),
        (
            {},
            "127.0.0.1",
            "TLS: the certificate of MQTT broker 127.0.0.1:{port} was not accepted: IP address mismatch",
        ),
    ],
)
def test_fail__tls_certificate_rejected(
    tls_broker: tuple[Mosquitto, int], certs: Path, tmp_path: Path, extra: dict, host: str, expected: str
) -> None:
    """An unknown CA or a name mismatch must say 'certificate not accepted', not 'connection failed'."""
    broker, _ = tls_broker
    config = tls_config(tmp_path, broker.port, certs, mqtt__host=host, **extra)
    with pytest.raises(PublishError) as info:
        MqttPublisher(config, **FAST).connect(timeout=3)
    assert str(info.value).startswith(expected.format(port=broker.port)), str(info.value)


def test_ok__tls_insecure_skips_only_the_name_check(
    tls_broker: tuple[Mosquitto, int], certs: Path, tmp_path: Path, publishers: Any
) -> None:
    broker, _ = tls_broker
    pub = publishers(
        tls_config(tmp_path, broker.port, certs, mqtt__host="127.0.0.1", mqtt__tls_insecure=True)
    )
    assert pub.connected
    with pytest.raises(PublishError, match="was not accepted"):  # the CA is still checked
        MqttPublisher(
            tls_config(
                tmp_path / "x",
                broker.port,
                certs,
                mqtt__host="127.0.0.1",
                mqtt__tls_insecure=True,
                mqtt__ca_file="",
            ),
            **FAST,
        ).connect(timeout=3)


def test_fail__tls_and_plain_ports_mixed_up(
    tls_broker: tuple[Mosquitto, int], broker: Mosquitto, certs: Path, tmp_path: Path
) -> None:
    tls, _ = tls_broker
    with pytest.raises(PublishError, match=f"^TLS handshake with MQTT broker localhost:{broker.port} failed"):
        MqttPublisher(tls_config(tmp_path / "a", broker.port, certs), **FAST).connect(timeout=3)
    with pytest.raises(
        PublishError,
        match=f"^MQTT broker 127.0.0.1:{tls.port} closed the connection before "
        r"answering \(a TLS port without mqtt.tls\?",
    ):
        MqttPublisher(make_config(tmp_path / "b", tls.port), **FAST).connect(timeout=3)


def test_fail__client_certificate_required(
    tls_broker: tuple[Mosquitto, int], certs: Path, tmp_path: Path
) -> None:
    _, mtls_port = tls_broker
    with pytest.raises(PublishError):
        MqttPublisher(tls_config(tmp_path, mtls_port, certs), **FAST).connect(timeout=3)


# -- MQTT 5 ---------------------------------------------------------------------------------------------


def test_ok__mqtt5_properties(broker: Mosquitto, tmp_path: Path, publishers: Any, subscribers: Any) -> None:
    """Content-Type on every message; Message Expiry on pose/silhouette/stats: stale data never replays."""
    sub = subscribers(broker.port, "edge-pose/dev1/#", v5=True)
    pub = publishers(make_config(tmp_path, broker.port, mqtt__protocol="5"))
    pub.publish_state(STATE)
    pub.publish_pose(None, 1, 0.0, (640, 480))
    pub.publish_stats({"fps": 9.0})
    pub.publish_rep(rep_event(0), "s1")
    want = {
        "edge-pose/dev1/state",
        "edge-pose/dev1/pose",
        "edge-pose/dev1/stats",
        "edge-pose/dev1/rep",
        "edge-pose/dev1/availability",
    }
    assert sub.wait_for(lambda: want <= {m.topic for m in sub.messages})
    props = {m.topic.rsplit("/", 1)[1]: m.properties for m in sub.messages}
    assert props["availability"].ContentType == "text/plain"
    for kind in ("state", "pose", "stats", "rep"):
        assert props[kind].ContentType == "application/json"
    assert 0 < props["pose"].MessageExpiryInterval <= 5
    assert 0 < props["stats"].MessageExpiryInterval <= 30
    assert not hasattr(props["rep"], "MessageExpiryInterval"), "rep events never expire"


def test_ok__mqtt5_will_delay_no_flap_on_quick_restart(
    broker: Mosquitto, tmp_path: Path, subscribers: Any
) -> None:
    """A daemon restarted within the Will Delay must not flap 'offline'; one that stays dead must."""
    sub = subscribers(broker.port, "edge-pose/dev1/availability")
    first = start_child(broker.port, tmp_path, protocol="5", client_id="edge-pose-v5")
    assert sub.wait_for(lambda: sub.payloads("edge-pose/dev1/availability") == ["online"])
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = start_child(broker.port, tmp_path, protocol="5", client_id="edge-pose-v5", outbox="outbox2")
    time.sleep(3.0)  # longer than the 2 s will delay
    assert "offline" not in sub.payloads("edge-pose/dev1/availability")
    second.send_signal(signal.SIGKILL)
    second.wait()
    t0 = time.monotonic()
    assert sub.wait_for(lambda: sub.payloads("edge-pose/dev1/availability")[-1:] == ["offline"], timeout=6)
    assert time.monotonic() - t0 >= 1.5, "offline must wait for the Will Delay"
