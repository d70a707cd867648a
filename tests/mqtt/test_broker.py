"""The embedded broker: one machine is a complete system (mosquitto child process on loopback)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from mqtt_helpers import FAST, STATE, Subscriber, require_mosquitto, wait_until

from edge.config import load
from edge.errors import PublishError
from edge.mqtt.broker import EmbeddedBroker, free_port, listening_addresses
from edge.mqtt.client import MqttPublisher


@pytest.fixture
def embedded() -> EmbeddedBroker:
    require_mosquitto()
    broker = EmbeddedBroker(port=free_port(), ws_port=free_port())
    broker.start()
    yield broker
    broker.stop()


def test_ok__embedded_broker_end_to_end_tcp_and_websocket(embedded: EmbeddedBroker, tmp_path: Path) -> None:
    """The demo: the daemon publishes to the embedded broker, a browser-style WebSocket client reads it."""
    assert embedded.running and embedded.url == f"mqtt://127.0.0.1:{embedded.port}"
    assert embedded.ws_url == f"ws://127.0.0.1:{embedded.ws_port}/mqtt"
    browser = Subscriber(embedded.ws_port, "edge-pose/#", transport="websockets")
    try:
        config = load(
            None,
            env={"CONFIGURATION_DIRECTORY": str(tmp_path)},
            overrides={
                "device.id": "demo",
                "publish.outbox_dir": str(tmp_path / "outbox"),
                "mqtt.protocol": "5",
                "homeassistant.discovery": False,
            },
        )
        assert config.embedded_broker
        pub = MqttPublisher(config, broker=embedded.address, **FAST)
        pub.connect(timeout=5)
        pub.publish_state({**STATE, "device_id": "demo"})
        pub.publish_rep({"index": 0, "exercise": "squat"}, "s1")
        assert browser.wait_for(
            lambda: browser.on("edge-pose/demo/rep") and browser.on("edge-pose/demo/state")
        )
        assert json.loads(browser.on("edge-pose/demo/rep")[0].payload)["id"] == "demo-s1-0"
        pub.stop(timeout=2)
        assert browser.wait_for(lambda: browser.payloads("edge-pose/demo/availability")[-1:] == ["offline"])
    finally:
        browser.close()


def test_ok__publisher_over_websockets_transport(embedded: EmbeddedBroker, tmp_path: Path) -> None:
    """mqtt.transport = "websockets" reaches brokers that only expose a WebSocket port."""
    sub = Subscriber(embedded.port, "edge-pose/ws/rep")
    config = load(
        None,
        env={"CONFIGURATION_DIRECTORY": str(tmp_path)},
        overrides={
            "device.id": "ws",
            "mqtt.host": "127.0.0.1",
            "mqtt.port": embedded.ws_port,
            "mqtt.transport": "websockets",
            "publish.outbox_dir": str(tmp_path / "outbox"),
        },
    )
    pub = MqttPublisher(config, **FAST)
    try:
        pub.connect(timeout=5)
        pub.publish_rep({"index": 3, "exercise": "squat"}, "s9")
        assert sub.wait_for(lambda: sub.on("edge-pose/ws/rep"))
        assert json.loads(sub.on("edge-pose/ws/rep")[0].payload)["id"] == "ws-s9-3"
    finally:
        pub.stop(timeout=1)
        sub.close()


def test_ok__embedded_listeners_are_loopback_only(embedded: EmbeddedBroker) -> None:
    """Debian 12's mosquitto binds a WebSocket listener given as 127.0.0.1 on every address;
    the embedded broker must not expose an unauthenticated broker to the LAN."""
    for port in (embedded.port, embedded.ws_port):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on {port}"
        assert all(a in ("127.0.0.1", "::ffff:127.0.0.1", "::1") for a in addresses), addresses


def test_fail__port_conflict_is_one_clear_line() -> None:
    require_mosquitto()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(PublishError) as info:
            EmbeddedBroker(port=port, ws_port=0).start()
        assert str(info.value).startswith(f"mqtt.embedded_port: port {port} on 127.0.0.1 is already in use")
        with pytest.raises(PublishError, match=f"^mqtt.embedded_ws_port: port {port}"):
            EmbeddedBroker(port=free_port(), ws_port=port).start()


def test_fail__mosquitto_missing_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import edge.mqtt.broker as broker_module

    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    with pytest.raises(
        PublishError, match="'mosquitto' is not installed: apt install mosquitto, or set mqtt.host"
    ):
        EmbeddedBroker(0, 0).start()


def test_fail__broker_that_dies_at_start_is_reported(tmp_path: Path) -> None:
    require_mosquitto()
    with pytest.raises(PublishError, match="the embedded MQTT broker did not start"):
        EmbeddedBroker(free_port(), 0, extra_config="no_such_option 1").start()


def test_ok__stop_ends_the_process_and_frees_the_port() -> None:
    require_mosquitto()
    broker = EmbeddedBroker(0, 0)
    broker.start()
    pid, port = broker.pid, broker.port
    broker.stop()
    assert not broker.running and not Path(f"/proc/{pid}").exists()
    assert wait_until(lambda: not listening_addresses(port))
    broker.stop()  # idempotent


_CTRL_C_CHILD = """
import signal, sys, time
# Ctrl-C's default, as in a program started from a terminal (a test run started in the background
# inherits SIGINT ignored, and so would the broker)
signal.signal(signal.SIGINT, signal.default_int_handler)
from edge.mqtt.broker import EmbeddedBroker, listening_addresses
broker = EmbeddedBroker(0, 0)
broker.start()
try:
    print(broker.port, flush=True)
    time.sleep(60)
except KeyboardInterrupt:
    time.sleep(0.5)  # a broker hit by the same SIGINT would be gone by now
    print("alive" if broker.running and listening_addresses(broker.port) else "dead", flush=True)
finally:
    broker.stop()
"""


def test_ok__ctrl_c_in_a_terminal_leaves_the_broker_to_the_daemons_orderly_stop() -> None:
    """Ctrl-C signals the terminal's whole foreground process group; the broker is not in it."""
    require_mosquitto()
    child = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_CHILD],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        os.killpg(child.pid, signal.SIGINT)
        assert child.stdout.readline().strip() == "alive"
        assert child.wait(10) == 0
        assert wait_until(lambda: not listening_addresses(port)), "the daemon's stop ends the broker"
    finally:
        if child.poll() is None:
            child.kill()


def test_ok__a_killed_daemon_takes_its_broker_with_it() -> None:
    """SIGKILL leaves no orphaned broker holding the port (the next start would find it taken)."""
    require_mosquitto()
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from edge.mqtt.broker import EmbeddedBroker; b = EmbeddedBroker(0, 0); b.start(); "
            "print(b.port, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert owner.stdout is not None
    port = int(owner.stdout.readline())
    assert listening_addresses(port)
    owner.kill()
    owner.wait(10)
    assert wait_until(lambda: not listening_addresses(port)), f"an orphaned broker still listens on {port}"


def test_ok__from_config_uses_the_embedded_ports(tmp_path: Path) -> None:
    config = load(
        None,
        env={"CONFIGURATION_DIRECTORY": str(tmp_path)},
        overrides={"mqtt.embedded_port": 11883, "mqtt.embedded_ws_port": 0},
    )
    broker = EmbeddedBroker.from_config(config)
    assert (broker.port, broker.ws_port, broker.ws_url) == (11883, 0, None)
    assert "listener 11883 127.0.0.1" in broker.config_text() and "websockets" not in broker.config_text()


def test_ok__publisher_requires_a_broker_address_when_host_is_empty(tmp_path: Path) -> None:
    config = load(None, env={"CONFIGURATION_DIRECTORY": str(tmp_path)})
    with pytest.raises(PublishError, match="mqtt.host is empty"):
        MqttPublisher(config)


def test_ok__threads_do_not_leak_after_stop(embedded: EmbeddedBroker, tmp_path: Path) -> None:
    """Months of uptime with reconnects must not accumulate threads."""
    config = load(
        None,
        env={"CONFIGURATION_DIRECTORY": str(tmp_path)},
        overrides={"device.id": "t", "publish.outbox_dir": str(tmp_path / "o")},
    )
    before = threading.active_count()
    for _ in range(3):
        pub = MqttPublisher(config, broker=embedded.address, **FAST)
        pub.connect(timeout=5)
        pub.stop(timeout=1)
    assert wait_until(lambda: threading.active_count() <= before, timeout=3), threading.enumerate()
