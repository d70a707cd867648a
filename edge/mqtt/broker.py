"""The embedded broker: with ``mqtt.host`` empty, ``edge-pose run`` brings its own MQTT broker.

Choice: Debian's ``mosquitto`` binary, run as a managed child process with a generated
configuration, rather than ``amqtt`` in-process:

* it is the broker people deploy (and the one the tests run against), so the demo behaves like
  production: MQTT 5 (Will Delay, Message Expiry, reason codes), correct QoS and retained
  semantics, WebSockets for the browser dashboard;
* amqtt 0.12 speaks MQTT 3.1.1 only, delivers QoS 0 publishes as QoS 1, sends retained messages
  twice over WebSockets, binds ``0.0.0.0`` by default and needs an asyncio loop thread inside the
  daemon (research notes, ecosystem.md section 3.6);
* a separate process costs ~2 MB of RAM and keeps broker work off the daemon's Python threads.
The price is one apt package (``mosquitto``), which the install script adds; when it is missing,
``start()`` says so in one line. A fallback to amqtt would double what the contract tests must
cover for no gain in the supported setup (Raspberry Pi OS / Debian), so there is none.

Both listeners are loopback-only. The WebSocket listener is bound by the interface name ``lo``:
mosquitto 2.0.11 (Debian 12) passes the listener address to libwebsockets, which binds to an
*interface*, so ``listener 9001 127.0.0.1`` there listens on every address (checked with ``ss``:
``*:9001``; eclipse-mosquitto/mosquitto#3045, #2085) while ``listener 9001 lo`` gives
``127.0.0.1:9001`` only. ``start()`` verifies the bound addresses in ``/proc/net/tcp*`` and
warns if a listener is reachable from the network anyway.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from edge.errors import PublishError

if TYPE_CHECKING:
    from edge.config import Config

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 5.0


def find_mosquitto() -> str | None:
    """Path of the ``mosquitto`` binary (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that nothing listens on right now (for tests and ``port=0``)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class EmbeddedBroker:
    """A mosquitto child process listening on loopback only.

    Args:
        port: MQTT port (``mqtt.embedded_port``); 0 picks a free one.
        ws_port: WebSocket port for browsers (``mqtt.embedded_ws_port``); 0 = no WebSocket listener.
        binary: mosquitto executable (default: found on PATH or in /usr/sbin).
        extra_config: additional mosquitto.conf lines (tests).

    Example:
        >>> broker = EmbeddedBroker(1883, 9001)
        >>> broker.start()       # raises PublishError with one clear line on failure
        >>> broker.url           # 'mqtt://127.0.0.1:1883'
        >>> broker.stop()
    """

    def __init__(
        self, port: int = 1883, ws_port: int = 9001, *, binary: str | None = None, extra_config: str = ""
    ) -> None:
        self._requested = (port, ws_port)
        self._port = port
        self._ws_port = ws_port
        self._binary = binary
        self._extra = extra_config
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._reader: threading.Thread | None = None
        self._output: list[str] = []

    @classmethod
    def from_config(cls, config: Config) -> EmbeddedBroker:
        """The broker ``mqtt.embedded_port``/``mqtt.embedded_ws_port`` describe (not started)."""
        return cls(config.mqtt.embedded_port, config.mqtt.embedded_ws_port)

    @property
    def port(self) -> int:
        return self._port

    @property
    def ws_port(self) -> int:
        return self._ws_port

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` to pass to ``MqttPublisher(broker=...)``."""
        return LOOPBACK, self._port

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self._port}"

    @property
    def ws_url(self) -> str | None:
        return f"ws://{LOOPBACK}:{self._ws_port}/mqtt" if self._ws_port else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def config_text(self) -> str:
        lines = [
            "# generated by edge-pose (embedded broker); loopback only",
            "per_listener_settings false",
            "allow_anonymous true",
            "persistence false",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages false",
            f"listener {self._port} {LOOPBACK}",
            "protocol mqtt",
        ]
        if self._ws_port:
            lines += [f"listener {self._ws_port} lo", "protocol websockets"]
        if os.geteuid() == 0:
            # Started by root, mosquitto would switch to its own user, and any change of credentials
            # clears the parent-death signal: the broker would outlive a killed daemon. It keeps our
            # user instead (root, as the daemon; loopback only).
            lines.append("user root")
        if self._extra:
            lines.append(self._extra)
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Start mosquitto and wait until its ports accept connections.

        Call it from a thread that lives as long as the broker (the main thread): the child is
        started with ``setpriv --pdeathsig``, which signals it when the *starting thread* ends.

        Raises:
            PublishError: mosquitto is not installed, a port is taken, or it did not start.
        """
        if self.running:
            return
        binary = self._binary or find_mosquitto()
        if binary is None:
            raise PublishError(
                "mqtt.host is empty, so edge-pose starts its own MQTT broker, but 'mosquitto' is not "
                "installed: apt install mosquitto, or set mqtt.host to an existing broker"
            )
        port, ws_port = self._requested
        self._port = port or free_port()
        self._ws_port = ws_port
        for key, value in (("mqtt.embedded_port", self._port), ("mqtt.embedded_ws_port", self._ws_port)):
            if value and port_in_use(value):
                raise PublishError(
                    f"{key}: port {value} on {LOOPBACK} is already in use (another broker? "
                    f"`ss -ltnp | grep :{value}`); choose another port or set mqtt.host"
                )
        self._dir = tempfile.TemporaryDirectory(prefix="edge-pose-broker-")
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(self.config_text(), encoding="utf-8")
        command = [binary, "-c", str(conf)]
        setpriv = shutil.which("setpriv")
        if setpriv:  # the broker dies with us even after a SIGKILL (util-linux >= 2.33; see "user root")
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        try:
            # A session of its own: Ctrl-C in a terminal signals the whole foreground process group,
            # and the broker must outlive the daemon's orderly stop (which flushes the last messages
            # and then stops it); pdeathsig still ends it if we die.
            self._proc = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            self._cleanup()
            raise PublishError(f"cannot run {binary}: {exc.strerror}") from None
        self._output = []
        self._reader = threading.Thread(target=self._read_output, name="edge-pose-broker-log", daemon=True)
        self._reader.start()
        if not self._wait_ready():
            output = " | ".join(self._output[-3:]) or "no output"
            self.stop()
            raise PublishError(f"the embedded MQTT broker did not start on {LOOPBACK}:{self._port}: {output}")
        self._check_exposure()
        log.info(
            "embedded MQTT broker (mosquitto, pid %d) on %s%s",
            self._proc.pid,
            self.url,
            f" and {self.ws_url}" if self._ws_port else "",
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop mosquitto (SIGTERM, then SIGKILL after ``timeout``); idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._reader is not None:
            self._reader.join(timeout=1.0)
            self._reader = None
        self._cleanup()

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------------------------

    def _cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def _read_output(self) -> None:
        proc = self._proc
        if proc is None or proc.stdout is None:
            return
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            text = line.split(": ", 1)[1] if ": " in line[:14] else line  # drop mosquitto's timestamp
            self._output.append(text)
            del self._output[:-20]
            level = logging.WARNING if ("rror" in text or "arning" in text) else logging.DEBUG
            if "should not be run as root" in text:  # our choice when we are root (see config_text)
                level = logging.DEBUG
            log.log(level, "mosquitto: %s", text)

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        ports = [self._port] + ([self._ws_port] if self._ws_port else [])
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                time.sleep(0.05)  # let the reader collect the last lines
                return False
            if all(_accepts(LOOPBACK, p) for p in ports):
                return True
            time.sleep(0.02)
        return False

    def _check_exposure(self) -> None:
        for key, port in (("mqtt.embedded_port", self._port), ("mqtt.embedded_ws_port", self._ws_port)):
            if not port:
                continue
            exposed = [a for a in listening_addresses(port) if not _is_loopback(a)]
            if exposed:
                log.warning(
                    "%s: the embedded broker's port %d is reachable from the network (bound to %s) "
                    "although it should be loopback-only; firewall it",
                    key,
                    port,
                    ", ".join(exposed),
                )


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def listening_addresses(port: int) -> list[str]:
    """Local addresses with a TCP socket listening on ``port`` (Linux ``/proc/net/tcp*``; [] elsewhere)."""
    found: list[str] = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 4 or parts[3] != "0A":  # 0A = LISTEN
                continue
            address, _, port_hex = parts[1].partition(":")
            if int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(address)
            if sys.byteorder == "little":  # /proc prints each 32-bit word in host byte order
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            words = raw
            found.append(socket.inet_ntop(family, words))
    return found


def _is_loopback(address: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
