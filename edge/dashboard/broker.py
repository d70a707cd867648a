"""A subscriber's connection to the MQTT broker: settings, command-line options, and a paho link.

Shared by the dashboard server and the MQTT-fed LCD (``edge-pose lcd``). Both only *read* what
the daemon publishes (CONTRACT.md) and send the odd command, so the link is small: it connects in
the background, reconnects by itself (a restarted broker forgets subscriptions, so they are made
again on every connect) and reports its state through a callback.

paho-mqtt is imported when a link starts, never when this module is imported.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

from edge.errors import ConfigError, PublishError

log = logging.getLogger(__name__)

#: Called with each message: (topic, payload bytes, retained flag).
MessageHandler = Callable[[str, bytes, bool], None]
#: Called when the link connects (True, "") or loses the broker (False, reason).
StatusHandler = Callable[[bool, str], None]


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and how to log in; the subset of CONTRACT.md's ``[mqtt]`` a subscriber needs.

    Attributes:
        host: broker host name or address.
        port: TCP port (1883 plain, 8883 TLS by convention; a WebSocket listener when
            ``transport == "websockets"``).
        transport: ``"tcp"`` or ``"websockets"``.
        protocol: ``"3.1.1"`` or ``"5"``.
        username / password: credentials; empty for anonymous.
        tls, ca_file, cert_file, key_file, tls_insecure: TLS options as in ``[mqtt]``.
        keepalive: seconds between pings; also bounds how fast a dead broker is noticed.
        topic_prefix: first topic level, ``edge-pose`` by default.
        client_id_prefix: the client id is this plus a random suffix, so several viewers coexist.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    transport: str = "tcp"
    protocol: str = "3.1.1"
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    tls_insecure: bool = False
    keepalive: int = 30
    topic_prefix: str = "edge-pose"
    client_id_prefix: str = "edge-pose-viewer"

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"mqtt.port: expected an integer in 1..65535, got {self.port!r}")
        if self.transport not in ("tcp", "websockets"):
            raise ConfigError(f"mqtt.transport: expected tcp or websockets, got {self.transport!r}")
        if self.protocol not in ("3.1.1", "5"):
            raise ConfigError(f"mqtt.protocol: expected 3.1.1 or 5, got {self.protocol!r}")
        if not self.topic_prefix or any(c in self.topic_prefix for c in "#+"):
            raise ConfigError(
                f"mqtt.topic_prefix: expected a topic without wildcards, got {self.topic_prefix!r}"
            )

    @property
    def url(self) -> str:
        """``mqtt://host:port`` (or ``mqtts``/``ws``/``wss``), for log lines; never carries credentials."""
        scheme = {"tcp": "mqtt", "websockets": "ws"}[self.transport] + ("s" if self.tls else "")
        return f"{scheme}://{self.host}:{self.port}"


# -- command line and config file ------------------------------------------------------------


def add_broker_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config`` and the broker options shared by ``dashboard`` and ``lcd``.

    Every option defaults to None, meaning "take it from the config file, else the default", so
    ``broker_settings`` can apply the precedence defaults < file < command line.
    """
    group = parser.add_argument_group("broker (default: the [mqtt] section of --config, else localhost:1883)")
    group.add_argument("--config", metavar="PATH", help="edge-pose config file (TOML) to take defaults from")
    group.add_argument("--mqtt-host", metavar="HOST", help="broker host")
    group.add_argument("--mqtt-port", metavar="PORT", type=int, help="broker port")
    group.add_argument("--transport", choices=("tcp", "websockets"), help="MQTT transport")
    group.add_argument("--mqtt-protocol", choices=("3.1.1", "5"), help="MQTT protocol version")
    group.add_argument("--username", help="broker user name")
    group.add_argument("--password-file", metavar="PATH", help="file holding the broker password (one line)")
    group.add_argument("--tls", action="store_true", default=None, help="connect with TLS")
    group.add_argument("--ca-file", metavar="PATH", help="CA certificate(s) to verify the broker with")
    group.add_argument("--cert-file", metavar="PATH", help="client certificate (TLS client auth)")
    group.add_argument("--key-file", metavar="PATH", help="client key (TLS client auth)")
    group.add_argument(
        "--tls-insecure", action="store_true", default=None, help="do not check the broker's host name"
    )
    group.add_argument("--topic-prefix", metavar="PREFIX", help="first topic level (default edge-pose)")


def load_config(path: str | None) -> Any | None:
    """Load the edge-pose configuration through ``edge.config`` (defaults < file < environment).

    Without a path, ``edge.config`` reads its default location when that file exists.

    Returns:
        The validated config object, or None when this build has no ``edge.config`` and no path
        was given (built-in defaults apply).

    Raises:
        ConfigError: the file is invalid, or a path was given but this build cannot read configs.
    """
    try:
        config_module = importlib.import_module("edge.config")  # lands with the mqtt work
    except ImportError as exc:
        if path:
            raise ConfigError(f"--config: this build cannot read config files yet ({exc})") from None
        return None
    return config_module.load(Path(path) if path else None)


def read_password_file(path: str, option: str = "--password-file") -> str:
    """Return the first line of a password file (systemd ``LoadCredential=`` style).

    Raises:
        ConfigError: the file cannot be read; the message names ``option``.
    """
    try:
        return Path(os.path.expandvars(path)).read_text(encoding="utf-8").splitlines()[0].strip()
    except IndexError:
        return ""
    except OSError as exc:
        raise ConfigError(f"{option}: cannot read {path!r}: {exc.strerror or exc}") from None


def settings_from_config(config: Any) -> BrokerSettings:
    """Map a loaded config's ``[mqtt]`` section onto ``BrokerSettings``.

    An empty ``mqtt.host`` means the daemon runs its embedded broker on loopback, so a viewer on
    the same machine connects to ``127.0.0.1:mqtt.embedded_port``.
    """
    mqtt = config.mqtt
    host = str(mqtt.host or "")
    port = int(mqtt.port if host else getattr(mqtt, "embedded_port", 1883))
    password = str(getattr(mqtt, "password", "") or "")
    password_file = str(getattr(mqtt, "password_file", "") or "")
    if not password and password_file:
        password = read_password_file(password_file, "mqtt.password_file")
    return BrokerSettings(
        host=host or "127.0.0.1",
        port=port,
        transport=str(getattr(mqtt, "transport", "tcp")),
        protocol=str(getattr(mqtt, "protocol", "3.1.1")),
        username=str(getattr(mqtt, "username", "") or ""),
        password=password,
        tls=bool(getattr(mqtt, "tls", False)),
        ca_file=str(getattr(mqtt, "ca_file", "") or ""),
        cert_file=str(getattr(mqtt, "cert_file", "") or ""),
        key_file=str(getattr(mqtt, "key_file", "") or ""),
        tls_insecure=bool(getattr(mqtt, "tls_insecure", False)),
        keepalive=int(getattr(mqtt, "keepalive", 30)),
        topic_prefix=str(getattr(mqtt, "topic_prefix", "edge-pose")),
    )


def broker_settings(args: argparse.Namespace, config: Any | None, client_id_prefix: str) -> BrokerSettings:
    """Combine defaults < config file < command line into ``BrokerSettings``.

    Raises:
        ConfigError: a value is invalid or the password file cannot be read.
    """
    base = settings_from_config(config) if config is not None else BrokerSettings()
    overrides: dict[str, Any] = {"client_id_prefix": client_id_prefix}
    for option, name in (
        ("mqtt_host", "host"),
        ("mqtt_port", "port"),
        ("transport", "transport"),
        ("mqtt_protocol", "protocol"),
        ("username", "username"),
        ("tls", "tls"),
        ("ca_file", "ca_file"),
        ("cert_file", "cert_file"),
        ("key_file", "key_file"),
        ("tls_insecure", "tls_insecure"),
        ("topic_prefix", "topic_prefix"),
    ):
        value = getattr(args, option, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "password_file", None):
        overrides["password"] = read_password_file(args.password_file)
    known = {f.name for f in fields(BrokerSettings)}
    return replace(base, **{k: v for k, v in overrides.items() if k in known})


# -- the link ------------------------------------------------------------------------------


class MqttLink:
    """A background paho client that subscribes to ``topics`` and hands every message to a callback.

    Callbacks run on paho's network thread: keep them short and never block in them.

    Args:
        settings: where the broker is.
        topics: subscriptions (wildcards allowed), made again on every (re)connect.
        on_message: called with (topic, payload, retained) for each message.
        on_status: called with (connected, reason) when the connection comes or goes.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        topics: Sequence[str],
        on_message: MessageHandler,
        on_status: StatusHandler | None = None,
    ) -> None:
        self.settings = settings
        self.topics = tuple(topics)
        self._on_message = on_message
        self._on_status = on_status or (lambda connected, reason: None)
        self._client: Any = None
        self._connected = threading.Event()
        self.client_id = f"{settings.client_id_prefix}-{secrets.token_hex(3)}"

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._connected.is_set()

    def start(self) -> None:
        """Connect in the background; returns at once, retrying with back-off while the broker is down.

        Raises:
            PublishError: paho-mqtt is not installed or rejects the TLS files.
        """
        try:
            import paho.mqtt.client as mqtt
        except ImportError as exc:
            raise PublishError(f"paho-mqtt >= 2 is needed to reach the broker ({exc})") from None
        s = self.settings
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if s.protocol == "5" else mqtt.MQTTv311,
            transport=cast(Literal["tcp", "websockets"], s.transport),
        )
        if s.username:
            client.username_pw_set(s.username, s.password or None)
        if s.tls:
            try:
                client.tls_set(
                    ca_certs=s.ca_file or None, certfile=s.cert_file or None, keyfile=s.key_file or None
                )
            except (OSError, ValueError) as exc:
                raise PublishError(f"mqtt.tls: cannot load the TLS files: {exc}") from None
            client.tls_insecure_set(s.tls_insecure)
        client.reconnect_delay_set(min_delay=1, max_delay=8)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_connect_fail = self._handle_connect_fail
        client.on_message = self._handle_message
        self._client = client
        log.info("connecting to %s as %s", s.url, self.client_id)
        client.connect_async(s.host, s.port, keepalive=s.keepalive)
        client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        client, self._client = self._client, None
        if client is None:
            return
        self._connected.clear()  # first, so that our own disconnection is not reported as a lost broker
        client.disconnect()
        client.loop_stop()

    def wait_connected(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for the connection; return whether it is up."""
        return self._connected.wait(timeout)

    def publish(self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False) -> bool:
        """Publish if connected; return False (and send nothing) while the broker is away.

        Commands are not queued across an outage on purpose: a "reset" that arrives a minute
        later would surprise whoever pressed it.
        """
        client = self._client
        if client is None or not self.connected:
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain)
        return bool(info.rc == 0)

    # paho callbacks (network thread) -------------------------------------------------------

    def _handle_connect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.warning("broker %s refused the connection: %s", self.settings.url, reason_code)
            self._connected.clear()
            self._on_status(False, f"refused: {reason_code}")
            return
        client.subscribe([(topic, 1) for topic in self.topics])
        self._connected.set()
        log.info("connected to %s", self.settings.url)
        self._on_status(True, "")

    def _handle_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected:
            log.warning("lost the broker %s (%s); reconnecting", self.settings.url, reason_code)
        self._on_status(False, str(reason_code))

    def _handle_connect_fail(self, client: Any, userdata: Any) -> None:
        log.debug("broker %s unreachable; retrying", self.settings.url)
        self._on_status(False, "unreachable")

    def _handle_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            self._on_message(message.topic, bytes(message.payload), bool(message.retain))
        except Exception:  # a bad message must never kill paho's network thread
            log.exception("error handling a message on %s", message.topic)
