"""The dashboard's web server: static page, Server-Sent Events, and a command relay.

Standard library only (``ThreadingHTTPServer``): the page needs one event stream and one POST,
which does not justify a web framework on a Raspberry Pi. Routes:

``GET /``                    the page (``static/index.html``)
``GET /static/<file>``       the page's scripts, styles and vendored libraries
``GET /api/config``          topic prefix, skeleton (``POSE_CONNECTIONS`` and landmark names), exercises
``GET /api/snapshot``        every device's cached state (``DeviceHub.snapshot``)
``GET /api/events``          Server-Sent Events: a snapshot, then live messages and broker status
``POST /api/devices/<id>/cmd``  body ``{"cmd": ..., ...}``: published to ``<prefix>/<id>/cmd``;
                             the reply arrives on the event stream (``cmd/result``)
``GET /healthz``             ``{"ok": true, "broker": bool, "devices": n, "pages": n}``

The browser never needs broker credentials: the server holds them (and the command token).
Because anyone who can reach the port can send commands, the server listens on loopback unless
told otherwise, and refuses cross-site POSTs (JSON content type and same-origin ``Origin`` only).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from edge import __version__
from edge.dashboard.hub import DeviceHub
from edge.dashboard.topics import COMMANDS, DEVICE_ID
from edge.landmarks import POSE_CONNECTIONS, PoseLandmark

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Exercises offered when ``edge.reps`` cannot list them (it is optional to the dashboard).
FALLBACK_EXERCISES = (
    "auto",
    "squat",
    "pushup",
    "bicep_curl",
    "shoulder_press",
    "lunge",
    "situp",
    "jumping_jack",
)

#: Publishes a command payload to a device; returns False when the broker is not reachable.
CommandSink = Callable[[str, str], bool]

#: Joints below this visibility are not drawn; equals ``edge.drawing.VISIBILITY_THRESHOLD`` (a test
#: holds them together) without importing OpenCV into a process that only serves JSON.
VISIBILITY_THRESHOLD = 0.5

_MAX_BODY = 4096
_HEARTBEAT_S = 15.0
_MAX_PAGES = 32


def skeleton_json() -> dict[str, Any]:
    """The skeleton as the page draws it: names, edges, left-side joints, visibility floor."""
    return {
        "names": [landmark.name for landmark in PoseLandmark],
        "connections": sorted([int(a), int(b)] for a, b in POSE_CONNECTIONS),
        "left": [int(lm) for lm in PoseLandmark if lm.name.startswith("LEFT") or lm.name == "MOUTH_LEFT"],
        "min_visibility": VISIBILITY_THRESHOLD,
    }


def exercise_names() -> list[str]:
    """Exercises the daemon knows, from ``edge.reps`` when available."""
    try:
        from edge.reps import exercise_names as names  # type: ignore[attr-defined]

        return ["auto", *[n for n in names() if n != "auto"]]
    except (ImportError, AttributeError):
        return list(FALLBACK_EXERCISES)


class DashboardHTTPServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` carrying the hub, the command sink and the page settings."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        hub: DeviceHub,
        send_command: CommandSink,
        topic_prefix: str,
        command_token: str = "",
        static_dir: Path = STATIC_DIR,
    ) -> None:
        self.hub = hub
        self.send_command = send_command
        self.topic_prefix = topic_prefix
        self.command_token = command_token
        self.static_dir = static_dir.resolve()
        self.closing = threading.Event()
        self.page_slots = threading.BoundedSemaphore(_MAX_PAGES)
        super().__init__(address, DashboardHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}/"

    def config_json(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "topic_prefix": self.topic_prefix,
            "skeleton": skeleton_json(),
            "exercises": exercise_names(),
            "commands": sorted(COMMANDS),
        }


class DashboardHandler(BaseHTTPRequestHandler):
    """One request. Errors are JSON ``{"error": "<one line>"}`` with a fitting status."""

    server: DashboardHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = f"edge-pose-dashboard/{__version__}"

    # -- routing -------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send_file(self.server.static_dir / "index.html")
        elif path.startswith("/static/"):
            self._send_static(unquote(path[len("/static/") :]))
        elif path == "/api/events":
            self._stream_events()
        elif path == "/api/snapshot":
            self._send_json(self.server.hub.snapshot())
        elif path == "/api/config":
            self._send_json(self.server.config_json())
        elif path == "/healthz":
            hub = self.server.hub
            self._send_json(
                {
                    "ok": True,
                    "broker": hub.broker_connected,
                    "devices": len(hub.devices()),
                    "pages": hub.subscriber_count,
                }
            )
        else:
            self._send_error(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["api", "devices"] and parts[3] == "cmd":
            self._relay_command(parts[2])
        else:
            self._send_error(HTTPStatus.NOT_FOUND, f"no such endpoint: {self.path}")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s " + format, self.address_string(), *args)

    # -- commands ------------------------------------------------------------------------------

    def _relay_command(self, device: str) -> None:
        if not DEVICE_ID.match(device):
            return self._send_error(HTTPStatus.BAD_REQUEST, f"bad device id {device!r}")
        if not self._same_origin():
            return self._send_error(HTTPStatus.FORBIDDEN, "cross-origin command refused")
        if self.headers.get_content_type() != "application/json":
            return self._send_error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the command as application/json")
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= _MAX_BODY:
            return self._send_error(HTTPStatus.BAD_REQUEST, f"command body must be 1..{_MAX_BODY} bytes")
        try:
            command = json.loads(self.rfile.read(length))
        except ValueError:
            return self._send_error(HTTPStatus.BAD_REQUEST, "command body is not JSON")
        if not isinstance(command, dict) or command.get("cmd") not in COMMANDS:
            return self._send_error(
                HTTPStatus.BAD_REQUEST, f"'cmd' must be one of {', '.join(sorted(COMMANDS))}"
            )
        command = {k: v for k, v in command.items() if k != "token"}
        command.setdefault("id", f"dash-{secrets.token_hex(4)}")
        if not isinstance(command["id"], str) or len(command["id"]) > 64:
            return self._send_error(HTTPStatus.BAD_REQUEST, "'id' must be a string of at most 64 characters")
        if self.server.command_token:
            command["token"] = self.server.command_token
        if not self.server.send_command(device, json.dumps(command)):
            return self._send_error(HTTPStatus.SERVICE_UNAVAILABLE, "broker not connected; command not sent")
        self._send_json({"id": command["id"], "sent": True}, HTTPStatus.ACCEPTED)

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            return True  # not a browser (curl, tests); browsers always send Origin on POST
        return urlsplit(origin).netloc == self.headers.get("Host", "")

    # -- Server-Sent Events --------------------------------------------------------------------

    def _stream_events(self) -> None:
        server = self.server
        if not server.page_slots.acquire(blocking=False):
            return self._send_error(HTTPStatus.SERVICE_UNAVAILABLE, f"too many open pages (max {_MAX_PAGES})")
        subscription, snapshot = server.hub.subscribe()
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Accel-Buffering", "no")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self._write_event(snapshot, retry_ms=2000)
            while not server.closing.is_set() and not subscription.overflowed:
                event = subscription.get(timeout=1.0)
                if event is not None:
                    self._write_event(event)
                elif server.closing.wait(0):
                    break
                else:
                    self._heartbeat()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the page went away
        finally:
            server.hub.unsubscribe(subscription)
            server.page_slots.release()
            if subscription.overflowed:
                log.info("page %s fell behind; closed its stream so it resyncs", self.address_string())

    _last_beat = 0.0

    def _heartbeat(self) -> None:
        """Write an SSE comment now and then, so a vanished page is noticed (write fails)."""
        now = time.monotonic()
        if now - self._last_beat >= _HEARTBEAT_S:
            self._last_beat = now
            self.wfile.write(b": ping\n\n")
            self.wfile.flush()

    def _write_event(self, data: str, retry_ms: int | None = None) -> None:
        head = f"retry: {retry_ms}\n" if retry_ms else ""
        self.wfile.write(f"{head}data: {data}\n\n".encode())
        self.wfile.flush()

    # -- files and JSON ------------------------------------------------------------------------

    def _send_static(self, relative: str) -> None:
        root = self.server.static_dir
        target = (root / relative).resolve()
        if root not in target.parents or not target.is_file():
            return self._send_error(HTTPStatus.NOT_FOUND, f"no such file: {relative}")
        self._send_file(target)

    def _send_file(self, path: Path) -> None:
        try:
            body = path.read_bytes()
        except OSError:
            return self._send_error(HTTPStatus.NOT_FOUND, f"no such file: {path.name}")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self._security_headers()
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        body = json.dumps(data, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self._security_headers()
        self.end_headers()
        self.wfile.write(body)

    def _send_error(self, status: HTTPStatus, message: str) -> None:
        self._send_json({"error": message}, status)

    def _security_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
