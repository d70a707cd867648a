"""``MqttPublisher``: the daemon's connection to an MQTT broker, over paho-mqtt 2 (imported lazily).

What it guarantees:

* **Availability.** Last Will ``offline`` (retained, QoS 1) on ``availability``; retained
  ``online`` after every successful connect; ``offline`` published by ``stop()`` itself (a clean
  DISCONNECT cancels the will). MQTT 5: a Will Delay Interval, so a reconnect within a few
  seconds does not flap ``offline``.
* **Honest connection state.** ``connected`` turns true only on a CONNACK whose reason code is a
  success (frigate sets it after a refusal too). Each kind of failure (broker unreachable,
  name not resolved, login refused, TLS certificate rejected, connection closed before CONNACK)
  is logged once as one line naming the config keys to check, never as a traceback; retries go
  on forever with exponential backoff (``reconnect_delay``).
* **No rep event is lost.** Rep events and the state go to the sqlite outbox first
  (``outbox.py``); a delivery thread sends the rows in order and deletes each one on its PUBACK.
  Rows that paho had in flight when the connection dropped are re-sent by paho itself after the
  reconnect, and nothing newer is sent before they are acknowledged, so the order holds across
  outages. After a restart every stored row is sent again (at least once; subscribers
  deduplicate on the event ``id``).
* **Bounded memory.** QoS 0 messages (pose, silhouette, stats) are dropped and counted while
  disconnected; paho's QoS 1 queue is capped (``max_queued_messages_set``).
* **Commands.** ``cmd`` is re-subscribed in every ``on_connect`` (a restarted broker forgets
  subscriptions); each command is validated and answered on ``cmd/result`` (``commands.py``).
* **Home Assistant.** The retained discovery message is published on every connect and again
  whenever Home Assistant announces ``online`` on ``<prefix>/status``.

Threads: paho's network thread runs the callbacks and the command handler; the
``edge-pose-outbox`` thread delivers outbox rows; ``publish_*`` may be called from any thread.
"""

from __future__ import annotations

import logging
import math
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.config import Config
from edge.errors import ConfigError, PublishError
from edge.mqtt import homeassistant
from edge.mqtt.commands import CommandDispatcher, CommandHandler
from edge.mqtt.outbox import Outbox, default_outbox_dir
from edge.mqtt.publisher import RateLimiter
from edge.mqtt.topics import (
    OFFLINE,
    ONLINE,
    TOPICS,
    Message,
    Topics,
    encode,
    homeassistant_status_topic,
    pose_payload,
    rep_payload,
    silhouette_payload,
    state_payload,
    stats_payload,
)

if TYPE_CHECKING:
    from edge.pose import Pose

log = logging.getLogger(__name__)

#: Rows handed to paho and not yet acknowledged, at most.
DELIVERY_WINDOW = 10
#: Cap of paho's in-memory QoS>0 queue (rows beyond it wait in the outbox instead).
MAX_PAHO_QUEUE = 1000
#: After a reconnect, how long to wait for paho's re-sent rows to be acknowledged before sending
#: them again from the outbox.
RESEND_GRACE_S = 10.0
#: Shortest interval between two state messages (CONTRACT: "at most ~5/s").
STATE_MIN_INTERVAL_S = 0.2
#: MQTT 5 Message Expiry of pose and silhouette messages, seconds.
LIVE_EXPIRY_S = 5
_CONNECT_CLOSED = "closed the connection before answering"


class MqttPublisher:
    """Publishes one device's messages to an MQTT broker (see the module docstring).

    Args:
        config: the validated configuration (``mqtt``, ``publish``, ``commands``,
            ``homeassistant``, ``device`` sections).
        broker: ``(host, port)`` of the embedded broker when ``mqtt.host`` is empty; plain TCP,
            anonymous (``mqtt.transport``, TLS and credentials are for external brokers).
        outbox: an open ``Outbox`` to use (default: opened in ``start()`` in
            ``publish.outbox_dir`` or ``default_outbox_dir()``).
        reconnect_delay: (first, longest) seconds between connection attempts.
        will_delay_s: MQTT 5 Will Delay Interval (and the session outlives the socket for
            ``max(60, will_delay_s)`` s).
        clock: monotonic seconds (rate limiting).

    Raises:
        PublishError: ``mqtt.host`` is empty and no ``broker`` was given.
    """

    def __init__(
        self,
        config: Config,
        *,
        broker: tuple[str, int] | None = None,
        outbox: Outbox | None = None,
        reconnect_delay: tuple[float, float] = (1.0, 30.0),
        will_delay_s: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if broker is None and not config.mqtt.host:
            raise PublishError("mqtt.host is empty: start the embedded broker first and pass its address")
        self.config = config
        self.topics = Topics(config.mqtt.topic_prefix, config.device_id)
        self._embedded = broker is not None
        self.host, self.port = broker if broker is not None else (config.mqtt.host, config.mqtt.port)
        self._v5 = config.mqtt.protocol == "5"
        self._reconnect_delay = reconnect_delay
        self._will_delay_s = int(will_delay_s)
        self._clock = clock
        self._outbox = outbox
        self._own_outbox = outbox is None

        self._pose_limit = RateLimiter(config.publish.pose_hz, clock)
        self._silhouette_limit = RateLimiter(config.publish.silhouette_hz, clock)
        self._dispatcher = CommandDispatcher(
            config.commands.token, config.commands.enabled, self._apply_rates
        )
        self._ha_status_topic = homeassistant_status_topic(config.homeassistant.prefix)

        self._client: Any = None
        self._started = False
        self._stopping = False
        self._connected = threading.Event()
        self._conn_cond = threading.Condition()
        self._last_failure: str | None = None
        self._failures = 0
        self._waiting = False
        self._counters = {
            "published": 0,
            "dropped_offline": 0,
            "rate_limited": 0,
            "unencodable": 0,
            "rejected_by_broker": 0,
            "connects": 0,
        }

        # delivery thread state (only the delivery thread touches _inflight/_sent_upto/_barrier)
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._acks: deque[tuple[int, Any]] = deque()
        self._inflight: dict[int, int] = {}
        self._sent_upto = 0
        self._reconnected = False
        self._barrier_until: float | None = None
        self._state_lock = threading.Lock()
        self._state_slot: Message | None = None
        self._state_dirty = False
        self._last_state_sent = -math.inf
        self._pump_thread: threading.Thread | None = None
        self._pump_exit = False
        self._last_stats: Message | None = None
        self._props_cache: dict[str, Any] = {}

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the outbox, configure paho and connect in the background (returns at once).

        Raises:
            PublishError: the outbox cannot be opened, or the TLS files cannot be loaded.
            ConfigError: ``mqtt.password_file`` cannot be read.
        """
        if self._started:
            return
        if self._outbox is None:
            directory = (
                Path(self.config.publish.outbox_dir)
                if self.config.publish.outbox_dir
                else default_outbox_dir()
            )
            self._outbox = Outbox(directory, self.config.publish.outbox_max_messages)
        try:
            self._client = self._build_client()
        except BaseException:
            if self._own_outbox:
                self._outbox.close()
                self._outbox = None
            raise
        self._started = True
        self._stopping = False
        self._last_failure = None
        self._failures = 0
        # a new paho client: whatever the old one had in flight is re-sent from the outbox
        self._acks.clear()
        self._inflight.clear()
        self._sent_upto = 0
        self._reconnected = False
        self._barrier_until = None
        self._pump_exit = False
        self._pump_thread = threading.Thread(target=self._pump_main, name="edge-pose-outbox", daemon=True)
        self._pump_thread.start()
        if len(self._outbox):
            self._idle.clear()
        self._connect_async()
        self._client.loop_start()
        log.info(
            "MQTT: connecting to %s:%d as %s (MQTT %s%s)",
            self.host,
            self.port,
            self.config.client_id,
            self.config.mqtt.protocol,
            ", embedded broker" if self._embedded else "",
        )

    def connect(self, wait: bool = True, timeout: float = 10.0) -> None:
        """``start()``, and with ``wait`` block until connected.

        Raises:
            PublishError: with ``wait``, the first connection attempt failed (the message says
                why: unreachable, refused login, TLS) or nothing answered within ``timeout``.
                The publisher is stopped before raising.
        """
        self._waiting = wait
        try:
            self.start()
            if not wait:
                return
            deadline = time.monotonic() + timeout
            with self._conn_cond:
                while not self._connected.is_set() and self._last_failure is None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._conn_cond.wait(remaining)
        finally:
            self._waiting = False
        if self._connected.is_set():
            return
        reason = (
            self._last_failure or f"no answer from MQTT broker {self.host}:{self.port} within {timeout:g} s"
        )
        self.stop(timeout=0.5)
        raise PublishError(reason)

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver the state and the outbox (for at most ``timeout`` s), publish ``offline``,
        disconnect and close the outbox. Undelivered rows stay on disk for the next start."""
        if not self._started:
            return
        deadline = time.monotonic() + max(0.0, timeout)
        if self._connected.is_set():
            self._wake.set()
            self._idle.wait(max(0.0, deadline - time.monotonic()))
            try:
                info = self._client.publish(
                    self.topics.availability,
                    OFFLINE,
                    qos=1,
                    retain=True,
                    properties=self._properties("availability"),
                )
                info.wait_for_publish(max(0.05, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                pass  # the connection dropped meanwhile: the Last Will says offline instead
        self._stopping = True
        try:
            self._client.disconnect()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
        self._client.loop_stop()
        self._connected.clear()
        self._pump_exit = True
        self._wake.set()
        if self._pump_thread is not None:
            self._pump_thread.join(timeout=5.0)
        with self._state_lock:
            if self._state_dirty and self._state_slot is not None and self._outbox is not None:
                self._outbox.put(self._state_slot, latest_only=True)  # not delivered: keep it for next time
                self._state_dirty = False
        left = len(self._outbox) if self._outbox is not None else 0
        if self._own_outbox and self._outbox is not None:
            self._outbox.close()
            self._outbox = None
        self._started = False
        if left:
            log.warning(
                "MQTT stopped with %d message(s) still in the outbox; they are sent at the next start", left
            )
        else:
            log.info("MQTT stopped")

    # -- publishing -----------------------------------------------------------------------------------

    def publish_state(self, state: Mapping[str, Any]) -> None:
        message = self._message("state", encode(state_payload(state)))
        with self._state_lock:
            self._state_slot = message
            if self._connected.is_set() or self._outbox is None:  # before start(): sent on connect
                self._state_dirty = True
            else:
                self._require_outbox().put(message, latest_only=True)
                self._state_dirty = False  # the outbox row supersedes the in-memory copy
        self._idle.clear()
        self._wake.set()

    def publish_rep(self, event: Mapping[str, Any], session: str) -> str:
        payload = rep_payload(event, self.config.device_id, session)
        self._require_outbox().put(self._message("rep", encode(payload)))
        self._idle.clear()
        self._wake.set()
        return str(payload["id"])

    def publish_pose(
        self, pose: Pose | None, frame: int, t: float, image_size: tuple[int, int] | None = None
    ) -> None:
        if not self._pose_limit.allow():
            self._counters["rate_limited"] += 1
            return
        if not self._connected.is_set():
            self._counters["dropped_offline"] += 1
            return
        self._send_live("pose", lambda: pose_payload(pose, frame, t, image_size))

    def publish_silhouette(self, silhouette: Mapping[str, Any] | None, frame: int) -> None:
        if not self._silhouette_limit.allow():
            self._counters["rate_limited"] += 1
            return
        if not self._connected.is_set():
            self._counters["dropped_offline"] += 1
            return
        self._send_live("silhouette", lambda: silhouette_payload(silhouette, frame))

    def publish_stats(self, stats: Mapping[str, Any]) -> None:
        body = dict(stats)
        body.setdefault("outbox", self.outbox_size)
        message = self._message("stats", encode(stats_payload(body)))
        self._last_stats = message
        if not self._connected.is_set():
            self._counters["dropped_offline"] += 1
            return
        self._send(message)

    def set_rates(self, pose_hz: float | None = None, silhouette_hz: float | None = None) -> None:
        if pose_hz is not None:
            self._pose_limit.hz = pose_hz
        if silhouette_hz is not None:
            self._silhouette_limit.hz = silhouette_hz
        log.info(
            "publishing rates: pose %g/s, silhouette %g/s", self._pose_limit.hz, self._silhouette_limit.hz
        )

    def set_command_handler(self, handler: CommandHandler | None) -> None:
        self._dispatcher.set_handler(handler)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def outbox_size(self) -> int:
        return len(self._outbox) if self._outbox is not None else 0

    @property
    def rates(self) -> tuple[float, float]:
        """Current (pose_hz, silhouette_hz)."""
        return self._pose_limit.hz, self._silhouette_limit.hz

    @property
    def last_error(self) -> str | None:
        """The most recent connection failure, as logged (None once connected)."""
        return self._last_failure

    @property
    def counters(self) -> dict[str, int]:
        out = dict(self._counters)
        out["outbox"] = self.outbox_size
        out["outbox_dropped_reps"] = self._outbox.dropped_reps if self._outbox is not None else 0
        out["commands_accepted"] = self._dispatcher.accepted
        out["commands_refused"] = self._dispatcher.refused
        return out

    # -- helpers --------------------------------------------------------------------------------------

    def _require_outbox(self) -> Outbox:
        if self._outbox is None:
            raise PublishError("MQTT publisher is not started (call start() first)")
        return self._outbox

    def _message(self, kind: str, payload: bytes) -> Message:
        spec = TOPICS[kind]
        return Message(kind, self.topics.topic(kind), payload, spec.qos, spec.retain)

    def _send_live(self, kind: str, build: Callable[[], dict[str, Any]]) -> None:
        try:
            payload = encode(build())
        except ValueError as exc:  # NaN in a landmark array: not valid JSON
            self._counters["unencodable"] += 1
            log.debug("not publishing %s: %s", kind, exc)
            return
        self._send(self._message(kind, payload))

    def _send(self, message: Message) -> Any:
        info = self._client.publish(
            message.topic,
            message.payload,
            qos=message.qos,
            retain=message.retain,
            properties=self._properties(message.kind),
        )
        if info.rc == 0:
            self._counters["published"] += 1
        elif message.qos == 0:
            self._counters["dropped_offline"] += 1
        return info

    def _properties(self, kind: str) -> Any:
        """MQTT 5 PUBLISH properties of a message kind (None on 3.1.1); built once per kind."""
        if not self._v5:
            return None
        cached = self._props_cache.get(kind)
        if cached is None:
            cached = self._props_cache[kind] = self._build_properties(kind)
        return cached

    def _build_properties(self, kind: str) -> Any:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "text/plain" if kind == "availability" else "application/json"
        if kind in ("pose", "silhouette"):
            props.MessageExpiryInterval = LIVE_EXPIRY_S
        elif kind == "stats":
            props.MessageExpiryInterval = int(math.ceil(3 * self.config.publish.stats_interval_s))
        return props

    def _apply_rates(self, pose_hz: float | None, silhouette_hz: float | None) -> None:
        self.set_rates(pose_hz, silhouette_hz)

    # -- paho set-up ----------------------------------------------------------------------------------

    def _build_client(self) -> Any:
        import paho.mqtt.client as mqtt

        cfg = self.config.mqtt
        transport = "tcp" if self._embedded else cfg.transport
        client = _paho_client_class()(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            transport=transport,
            clean_session=None if self._v5 else True,
            reconnect_on_failure=True,
        )
        client.suppress_exceptions = True
        client.enable_logger(_paho_logger())
        client.max_queued_messages_set(MAX_PAHO_QUEUE)
        client.reconnect_delay_set(*self._reconnect_delay)
        if transport == "websockets":
            client.ws_set_options(path="/mqtt")

        will_props = None
        if self._v5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            will_props = Properties(PacketTypes.WILLMESSAGE)
            will_props.WillDelayInterval = self._will_delay_s
            will_props.ContentType = "text/plain"
        client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True, properties=will_props)

        if not self._embedded:
            if cfg.username:
                client.username_pw_set(cfg.username, self._password())
            if cfg.tls:
                self._setup_tls(client)

        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _password(self) -> str | None:
        cfg = self.config.mqtt
        if cfg.password_file:
            try:
                text = Path(cfg.password_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"mqtt.password_file: cannot read {cfg.password_file}: {exc}") from None
            return text.rstrip("\r\n")
        return cfg.password or None

    def _setup_tls(self, client: Any) -> None:
        cfg = self.config.mqtt
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cfg.ca_file or None)
        except (ssl.SSLError, OSError) as exc:
            raise PublishError(f"mqtt.ca_file: cannot load {cfg.ca_file}: {exc}") from None
        if cfg.cert_file:
            try:
                context.load_cert_chain(cfg.cert_file, cfg.key_file or None)
            except (ssl.SSLError, OSError) as exc:
                raise PublishError(
                    f"mqtt.cert_file/mqtt.key_file: cannot load the client certificate: {exc}"
                ) from None
        if cfg.tls_insecure:
            context.check_hostname = False
        client.tls_set_context(context)
        if cfg.tls_insecure:
            client.tls_insecure_set(True)

    def _connect_async(self) -> None:
        import paho.mqtt.client as mqtt

        kwargs: dict[str, Any] = {"keepalive": self.config.mqtt.keepalive}
        if self._v5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = max(60, self._will_delay_s)  # the will delay needs a session
            kwargs.update(clean_start=mqtt.MQTT_CLEAN_START_FIRST_ONLY, properties=props)
        self._client.connect_async(self.host, self.port, **kwargs)

    # -- paho callbacks (network thread) ------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        client.edge_connack = True
        if reason_code.is_failure:
            self._connected.clear()
            self._report_failure(self._describe_refusal(reason_code), error=True)
            return
        try:
            client.publish(
                self.topics.availability,
                ONLINE,
                qos=1,
                retain=True,
                properties=self._properties("availability"),
            )
            subscriptions = []
            if self.config.commands.enabled:
                subscriptions += [(topic, 1) for topic in self.topics.subscriptions()]
            if self.config.homeassistant.discovery:
                subscriptions.append((self._ha_status_topic, 1))
                self._publish_discovery(client)
            if subscriptions:
                client.subscribe(subscriptions)
            if self._last_stats is not None:
                client.publish(
                    self._last_stats.topic,
                    self._last_stats.payload,
                    qos=0,
                    retain=True,
                    properties=self._properties("stats"),
                )
        except Exception:  # noqa: BLE001 - never let a callback kill paho's thread
            log.exception("MQTT on_connect failed")
        with self._state_lock:
            if self._state_slot is not None:
                self._state_dirty = True  # a restarted broker may have lost the retained state
        self._counters["connects"] += 1
        if self._failures:
            log.warning(
                "MQTT: connected to %s:%d after %d failed attempt(s)", self.host, self.port, self._failures
            )
        else:
            log.info("MQTT: connected to %s:%d", self.host, self.port)
        self._reconnected = True  # before _connected: see _pump_once
        with self._conn_cond:
            self._failures = 0
            self._last_failure = None
            self._connected.set()
            self._conn_cond.notify_all()
        self._idle.clear()
        self._wake.set()

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        exc = getattr(client, "edge_last_error", None)
        tls = self.config.mqtt.tls and not self._embedded
        message = describe_connect_error(exc, self.host, self.port, tls)
        self._report_failure(message, error=message.startswith("TLS"))

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        if self._stopping:
            return
        if was_connected:
            log.warning(
                "MQTT: lost the connection to %s:%d (%s); reconnecting, rep events wait in the outbox",
                self.host,
                self.port,
                reason_code,
            )
        elif not getattr(client, "edge_connack", True):
            hint = (
                "" if self.config.mqtt.tls or self._embedded else " (a TLS port without mqtt.tls? a proxy?)"
            )
            self._report_failure(f"MQTT broker {self.host}:{self.port} {_CONNECT_CLOSED}{hint}", error=True)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        self._acks.append((mid, reason_code))
        self._wake.set()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        for code in reason_codes:
            if code.is_failure:
                log.error(
                    "MQTT: the broker refused a subscription (%s): commands or Home Assistant "
                    "re-announcements will not arrive; check the broker's ACL",
                    code,
                )

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            if message.topic == self.topics.cmd:
                self._handle_command(client, message)
            elif message.topic == self._ha_status_topic and message.payload.strip() == ONLINE.encode():
                log.info("Home Assistant is online: re-publishing discovery")
                self._publish_discovery(client)
        except Exception:  # noqa: BLE001
            log.exception("MQTT message handling failed on %s", message.topic)

    def _handle_command(self, client: Any, message: Any) -> None:
        payload = bytes(message.payload)
        if message.retain:  # left on the broker: it would run again at every reconnect
            result = self._dispatcher.refuse(
                payload, "retained commands are ignored (publish commands without retain)"
            )
        else:
            result = self._dispatcher.handle(payload)
        client.publish(
            self.topics.cmd_result,
            encode(result),
            qos=1,
            retain=False,
            properties=self._properties("cmd_result"),
        )

    def _publish_discovery(self, client: Any) -> None:
        if not self.config.homeassistant.discovery:
            return
        payload = homeassistant.discovery_payload(self.config, self.topics)
        client.publish(
            homeassistant.discovery_topic(self.config),
            encode(payload),
            qos=1,
            retain=True,
            properties=self._properties("discovery"),
        )

    def _report_failure(self, message: str, error: bool = False) -> None:
        with self._conn_cond:
            self._failures += 1
            repeated = message == self._last_failure
            self._last_failure = message
            self._conn_cond.notify_all()
        if repeated or self._waiting:  # a connect(wait=True) caller reports it (PublishError)
            log.debug("%s (attempt %d)", message, self._failures)
        else:
            log.log(
                logging.ERROR if error else logging.WARNING,
                "%s; retrying (up to every %g s)",
                message,
                self._reconnect_delay[1],
            )

    def _describe_refusal(self, reason_code: Any) -> str:
        where = f"MQTT broker {self.host}:{self.port}"
        text = str(reason_code)
        value = getattr(reason_code, "value", None)
        if value in (0x86, 0x87, 0x8C) or text in ("Not authorized", "Bad user name or password"):
            return f"{where} refused the login: {text} (check mqtt.username and mqtt.password_file)"
        if value == 0x84 or text == "Unsupported protocol version":
            return f"{where} refused the connection: {text} (try mqtt.protocol = '3.1.1')"
        if value == 0x85 or text == "Client identifier not valid":
            return f"{where} refused the connection: {text} (mqtt.client_id)"
        return f"{where} refused the connection: {text}"

    # -- delivery thread ----------------------------------------------------------------------------

    def _pump_main(self) -> None:
        wait: float | None = None
        while True:
            self._wake.wait(timeout=wait if wait is not None else 1.0)
            self._wake.clear()
            if self._pump_exit:
                return
            try:
                wait = self._pump_once()
            except Exception:  # noqa: BLE001 - keep delivering whatever happens
                log.exception("MQTT outbox delivery failed; retrying")
                wait = 1.0

    def _pump_once(self) -> float | None:
        """One delivery round; returns how long to sleep at most before the next round."""
        outbox = self._outbox
        if outbox is None:
            return None
        acked: list[int] = []
        while self._acks:
            mid, reason_code = self._acks.popleft()
            row_id = self._inflight.pop(mid, None)
            if row_id is None:
                continue
            if reason_code is not None and getattr(reason_code, "is_failure", False):
                self._counters["rejected_by_broker"] += 1
                log.error("MQTT: the broker rejected outbox message %d (%s); dropped it", row_id, reason_code)
            else:
                self._counters["published"] += 1
            acked.append(row_id)
        outbox.delete(acked)

        now = time.monotonic()
        if not self._connected.is_set():
            return None
        # on_connect sets _reconnected before _connected, so a round that sees the connection
        # also sees the reconnect: rows paho had in flight are re-sent by paho after on_connect,
        # and nothing newer may overtake them.
        if self._reconnected:
            self._reconnected = False
            if self._inflight:
                self._barrier_until = now + RESEND_GRACE_S
        if self._barrier_until is not None:
            if not self._inflight:
                self._barrier_until = None
            elif now >= self._barrier_until:
                log.warning(
                    "MQTT: %d message(s) sent before the reconnect were not acknowledged; sending "
                    "them again (subscribers deduplicate rep events by id)",
                    len(self._inflight),
                )
                self._sent_upto = min(self._inflight.values()) - 1
                self._inflight.clear()
                self._barrier_until = None
            else:
                return self._barrier_until - now

        import paho.mqtt.client as mqtt

        backlog = False
        while len(self._inflight) < DELIVERY_WINDOW and self._connected.is_set():
            rows = outbox.peek(self._sent_upto, DELIVERY_WINDOW - len(self._inflight))
            if not rows:
                break
            for row in rows:
                info = self._client.publish(
                    row.message.topic,
                    row.message.payload,
                    qos=max(1, row.message.qos),
                    retain=row.message.retain,
                    properties=self._properties(row.message.kind),
                )
                if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    self._inflight[info.mid] = row.id  # paho keeps it and re-sends after a reconnect
                    self._sent_upto = row.id
                else:
                    backlog = True  # paho's queue is full: try again shortly
                    break
            if backlog:
                break
        unsent = backlog or bool(outbox.peek(self._sent_upto, 1))

        wait: float | None = 0.05 if backlog else None
        with self._state_lock:
            if self._state_dirty and not unsent and self._connected.is_set():
                due = self._last_state_sent + STATE_MIN_INTERVAL_S - now
                if due <= 0:
                    assert self._state_slot is not None
                    info = self._send(self._state_slot)
                    if info.rc == 0:
                        self._state_dirty = False
                        self._last_state_sent = now
                    else:
                        wait = 0.05
                else:
                    wait = due if wait is None else min(wait, due)
            idle = not self._inflight and not unsent and not self._state_dirty
        if idle:
            self._idle.set()
        else:
            self._idle.clear()
        return wait


def describe_connect_error(exc: BaseException | None, host: str, port: int, tls: bool = False) -> str:
    """One line for a failed TCP/TLS/WebSocket connection attempt, naming the keys to check."""
    where = f"MQTT broker {host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS: the certificate of {where} was not accepted: {exc.verify_message} "
            "(mqtt.ca_file; mqtt.tls_insecure skips only the host name check)"
        )
    if isinstance(exc, ssl.SSLError) or (tls and isinstance(exc, (ConnectionResetError, EOFError))):
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        return f"TLS handshake with {where} failed: {reason} (is it a TLS port? mqtt.port, mqtt.tls)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the MQTT broker host {host!r} (mqtt.host): {exc.strerror}"
    if isinstance(exc, ConnectionRefusedError):
        return f"{where} refused the connection: nothing listens there (mqtt.host, mqtt.port)"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"{where} did not answer (timeout)"
    if exc is not None and type(exc).__name__ == "WebsocketConnectionError":
        return f"WebSocket handshake with {where} failed: {exc} (mqtt.transport, mqtt.port)"
    if exc is None:
        return f"cannot connect to {where}"
    return f"cannot connect to {where}: {exc}"


class _PahoRetryNoise(logging.Filter):
    """paho 2.2 logs ``Client is not connected ...`` at ERROR after every failed reconnect attempt,
    and ``failed to receive on socket`` on every dropped connection; we log each failure once
    ourselves (with the config keys to check), so those lines are debug detail."""

    _NOISE = ("Client is not connected", "failed to receive on socket")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and str(record.msg).startswith(self._NOISE):
            if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def _paho_logger() -> logging.Logger:
    logger = logging.getLogger("edge.mqtt.paho")
    if not any(isinstance(f, _PahoRetryNoise) for f in logger.filters):
        logger.addFilter(_PahoRetryNoise())
    return logger


_CLIENT_CLASS: Any = None


def _paho_client_class() -> Any:
    """paho's ``Client`` with ``reconnect()`` remembering why a connection attempt failed.

    paho swallows the ``OSError`` of a failed attempt and only calls ``on_connect_fail()``
    without it; the exception says whether it was DNS, a refused port or a TLS certificate.
    """
    global _CLIENT_CLASS
    if _CLIENT_CLASS is None:
        import paho.mqtt.client as mqtt

        class _Client(mqtt.Client):  # type: ignore[misc]
            edge_last_error: BaseException | None = None
            edge_connack: bool = True

            def reconnect(self) -> Any:
                self.edge_connack = False
                try:
                    result = super().reconnect()
                except OSError as exc:
                    self.edge_last_error = exc
                    self.edge_connack = True  # reported by on_connect_fail, not on_disconnect
                    raise
                self.edge_last_error = None
                return result

        _CLIENT_CLASS = _Client
    return _CLIENT_CLASS
