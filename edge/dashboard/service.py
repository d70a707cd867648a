"""The dashboard as one object: broker link -> device hub -> web server.

Used by ``edge-pose dashboard`` and, when ``[dashboard] enabled``, by ``edge-pose run``::

    service = DashboardService(BrokerSettings(host="127.0.0.1"), host="127.0.0.1", port=8080)
    service.start()          # returns at once; the broker may come later
    ...
    service.stop()
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any

from edge.dashboard import topics
from edge.dashboard.broker import BrokerSettings, MqttLink, settings_from_config
from edge.dashboard.hub import DeviceHub
from edge.dashboard.server import DashboardHTTPServer
from edge.errors import ConfigError

log = logging.getLogger(__name__)


class DashboardService:
    """Serve the dashboard for every device under ``settings.topic_prefix``.

    Args:
        settings: the broker to read from and send commands to.
        host: address to listen on; loopback by default (commands need no login: see server.py).
        port: TCP port; 0 picks a free one (see ``url``).
        command_token: added to every relayed command when the daemons require one
            (``[commands] token``); the browser never sees it.
        max_reps: reps cached per device for pages that open later.

    Raises:
        ConfigError: the port cannot be bound (in use, or a privileged port).
    """

    def __init__(
        self,
        settings: BrokerSettings,
        host: str = "127.0.0.1",
        port: int = 8080,
        command_token: str = "",
        max_reps: int = 200,
    ) -> None:
        self.settings = settings
        self.hub = DeviceHub(max_reps=max_reps)
        self.link = MqttLink(
            settings,
            topics.subscriptions(settings.topic_prefix),
            on_message=self._on_message,
            on_status=self.hub.set_broker,
        )
        try:
            self.http = DashboardHTTPServer(
                (host, port), self.hub, self.send_command, settings.topic_prefix, command_token
            )
        except OSError as exc:
            raise ConfigError(
                f"dashboard.port: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_config(cls, config: Any) -> DashboardService:
        """Build from a loaded edge-pose config: ``[mqtt]``, ``[dashboard]`` host/port, ``[commands]`` token.

        This is what ``edge-pose run`` uses when ``dashboard.enabled`` is true (not started yet).
        """
        settings = replace(settings_from_config(config), client_id_prefix="edge-pose-dashboard")
        return cls(
            settings,
            host=str(config.dashboard.host),
            port=int(config.dashboard.port),
            command_token=str(getattr(config.commands, "token", "") or ""),
        )

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8080/``."""
        return self.http.url

    def start(self) -> None:
        """Start the broker link and the web server in background threads."""
        self.link.start()
        self._thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.2}, name="dashboard-http", daemon=True
        )
        self._thread.start()
        log.info(
            "dashboard at %s, reading %s/+/... from %s",
            self.url,
            self.settings.topic_prefix,
            self.settings.url,
        )

    def stop(self) -> None:
        """Close open pages, stop serving, disconnect from the broker."""
        self.http.closing.set()
        if self._thread is not None:
            self.http.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.http.server_close()
        self.link.stop()

    def send_command(self, device: str, payload: str) -> bool:
        """Publish a command (JSON text) to ``device``; False while the broker is away."""
        return self.link.publish(topics.command_topic(self.settings.topic_prefix, device), payload, qos=1)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        parsed = topics.parse(self.settings.topic_prefix, topic)
        if parsed is not None:
            self.hub.handle(parsed[0], parsed[1], payload, retained)
