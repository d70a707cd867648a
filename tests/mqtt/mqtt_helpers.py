"""Helpers for the MQTT tests: mosquitto processes, a recording subscriber, configs, payloads."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.config import Config, load
from edge.mqtt.broker import find_mosquitto, free_port

REPO = Path(__file__).resolve().parents[2]
MOSQUITTO = find_mosquitto()
FAST = {"reconnect_delay": (0.05, 0.3)}


def require_mosquitto() -> str:
    if MOSQUITTO is None:
        pytest.skip(
            "mosquitto is not installed "
            "(apt-get install -y --no-install-recommends mosquitto mosquitto-clients)"
        )
    return MOSQUITTO


class Mosquitto:
    """One mosquitto process with a generated configuration, restartable on the same port."""

    def __init__(
        self,
        workdir: Path,
        conf: str = "",
        port: int | None = None,
        persistence: bool = False,
        tls_port: bool = False,
    ) -> None:
        self.binary = require_mosquitto()
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra = conf
        self.persistence = persistence
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mosquitto.log"

    def conf_text(self) -> str:
        lines = [
            "per_listener_settings false",
            "log_dest stdout",
            "log_type all" if os.environ.get("EDGE_POSE_MOSQUITTO_DEBUG") else "log_type error",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # files in pytest's 0700 tmp dirs are not readable by 'mosquitto'
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/", "autosave_interval 0"]
        else:
            lines.append("persistence false")
        if "allow_anonymous" not in self.extra:
            lines.append("allow_anonymous true")
        if "listener " not in self.extra:
            lines.append(f"listener {self.port} 127.0.0.1")
        lines.append(self.extra)
        return "\n".join(lines) + "\n"

    def start(self) -> Mosquitto:
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.conf_text())
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"mosquitto exited: {self.log_path.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"mosquitto did not start: {self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(5)
        self.proc = None


def make_config(tmp_path: Path, port: int, **overrides: Any) -> Config:
    """A config for a publisher on ``127.0.0.1:port`` with short keepalive and its own outbox;
    ``overrides`` use ``section__key`` names (``mqtt__protocol="5"``)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    conf = tmp_path / "config.toml"
    if not conf.exists():
        conf.write_text("")
    values: dict[str, Any] = {
        "device.id": "dev1",
        "mqtt.host": "127.0.0.1",
        "mqtt.port": port,
        "mqtt.keepalive": 2,
        "publish.outbox_dir": str(tmp_path / "outbox"),
        "homeassistant.discovery": False,
    }
    values.update({k.replace("__", "."): v for k, v in overrides.items()})
    return load(conf, env={}, overrides=values)


class Subscriber:
    """A paho client that records every message on ``topics``; ``wait_for`` polls a predicate."""

    def __init__(
        self,
        port: int,
        topics: list[str] | str = "#",
        *,
        client_id: str = "",
        clean: bool = True,
        v5: bool = False,
        host: str = "127.0.0.1",
        transport: str = "tcp",
        keepalive: int = 5,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[Any] = []
        self._cond = threading.Condition()
        kwargs: dict[str, Any] = {"client_id": client_id, "transport": transport}
        if v5:
            kwargs["protocol"] = mqtt.MQTTv5
        else:
            kwargs["clean_session"] = clean
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.client.reconnect_delay_set(0.05, 0.3)
        self.topics = [topics] if isinstance(topics, str) else topics
        self.connected = threading.Event()

        def on_connect(client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            if not rc.is_failure:
                client.subscribe([(t, 1) for t in self.topics])
                self.connected.set()

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            with self._cond:
                self.messages.append(msg)
                self._cond.notify_all()

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.connect_async(host, port, keepalive=keepalive)
        self.client.loop_start()
        assert self.connected.wait(5), "subscriber could not connect"
        time.sleep(0.1)  # let the SUBACK arrive

    def on(self, topic: str) -> list[Any]:
        with self._cond:
            return [m for m in self.messages if m.topic == topic]

    def payloads(self, topic: str) -> list[Any]:
        out = []
        for m in self.on(topic):
            try:
                out.append(json.loads(m.payload))
            except ValueError:
                out.append(m.payload.decode())
        return out

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
        return True

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def run_child(script: str, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Run a Python snippet in a new process with the repository importable; its stderr (logging)
    goes to ``log`` (or nowhere), its stdout is a pipe for handshake lines."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    stderr = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args], env=env, stdout=subprocess.PIPE, stderr=stderr
        )
    finally:
        if log is not None:
            stderr.close()  # type: ignore[union-attr]


STATE = {
    "device_id": "dev1",
    "exercise": "squat",
    "count": 0,
    "phase": "up",
    "session": {"id": "s1", "active": True, "started": 1.0, "count": 0},
    "person": True,
    "status": "running",
    "source": "test",
}


def state(**changes: Any) -> dict[str, Any]:
    out = dict(STATE)
    out.update(changes)
    return out


def rep_event(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "index": index,
        "exercise": "squat",
        "side": "both",
        "start": index * 2.0,
        "end": index * 2.0 + 1.5,
        "duration": 1.5,
        "partial": False,
        **extra,
    }


class BlackholeProxy:
    """A TCP proxy between a client and the broker that can lose traffic like a dropped Wi-Fi link.

    ``blackhole()``: bytes already sent on open connections are silently discarded (never reach the
    broker, no reset) and new connections are closed at once; ``heal()`` forwards again for new
    connections. Unlike stopping the broker, messages in flight at that moment are really lost.
    """

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.dropping = False
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def blackhole(self) -> None:
        self.dropping = True

    def heal(self) -> None:
        for sock in self._sockets:  # the old, silent connections die for good
            try:
                sock.close()
            except OSError:
                pass
        self._sockets.clear()
        self.dropping = False

    def close(self) -> None:
        self._closed = True
        self.heal()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.dropping:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not self.dropping:
                    dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.close()
            except OSError:
                pass
