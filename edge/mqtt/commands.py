"""Commands received on ``<prefix>/<device>/cmd``: parsed, validated, dispatched, answered.

A command is a JSON object ``{"id": "any string", "cmd": "reset" | "set_exercise" |
"start_session" | "stop_session" | "set_rates", "exercise": ..., "pose_hz": ...,
"silhouette_hz": ..., "token": ...}``. Every command gets exactly one answer on ``cmd/result``:
``{"v", "ts", "id", "cmd", "ok", "error", "state"}``. A malformed, unknown, oversized or
unauthorised command is answered with ``ok: false`` and an error, and changes nothing: the handler
is called only with a fully validated command.

The daemon implements ``CommandHandler``. Its methods are called from the MQTT client's network
thread, one command at a time: they must be thread-safe with respect to the daemon's own loop and
return quickly (set a flag, do not block on I/O).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from edge.config import POSE_HZ_MAX, SILHOUETTE_HZ_MAX
from edge.errors import CommandError, EdgeError
from edge.mqtt.topics import command_result_payload

log = logging.getLogger(__name__)

#: Largest accepted command payload in bytes (commands are tiny; anything bigger is garbage).
MAX_COMMAND_BYTES = 4096
MAX_ID_CHARS = 128

#: Command name -> the arguments it takes (beyond id, cmd, token).
COMMANDS: dict[str, tuple[str, ...]] = {
    "reset": (),
    "set_exercise": ("exercise",),
    "start_session": (),
    "stop_session": (),
    "set_rates": ("pose_hz", "silhouette_hz"),
}
_COMMON_FIELDS = ("id", "cmd", "token")
_EXERCISE_RE = re.compile(r"[a-z_]{1,64}")


class CommandHandler(Protocol):
    """What the daemon does for each command. Raise ``ConfigError``/``CommandError`` to refuse one
    (the message goes into the error reply); other exceptions are bugs (logged with a traceback,
    answered as an internal error)."""

    def reset(self) -> None: ...

    def set_exercise(self, name: str) -> None: ...

    def start_session(self) -> None: ...

    def stop_session(self) -> None: ...

    def set_rates(self, pose_hz: float | None, silhouette_hz: float | None) -> None: ...

    def state(self) -> dict[str, Any]:
        """The current state payload body (``topics.STATE_KEYS``), echoed in every result."""
        ...


@dataclass(frozen=True)
class Command:
    """A validated command. ``id`` is echoed in the result (any JSON string, or None)."""

    cmd: str
    id: str | None = None
    exercise: str | None = None
    pose_hz: float | None = None
    silhouette_hz: float | None = None


def parse_command(payload: bytes, token: str = "") -> Command:
    """Validate one ``cmd`` payload.

    Args:
        payload: the raw MQTT payload.
        token: ``commands.token``; when non-empty the command must carry the same ``"token"``.

    Raises:
        CommandError: one line saying what is wrong (size, JSON, unknown command or field,
            argument type or range, missing or wrong token).
    """
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandError(f"command too large ({len(payload)} bytes, at most {MAX_COMMAND_BYTES})")
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CommandError("command is not valid JSON") from None
    if not isinstance(data, dict):
        raise CommandError('command must be a JSON object like {"cmd": "reset"}')

    if token:
        given = data.get("token")
        if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
            raise CommandError("unauthorised: missing or wrong token")

    command_id = data.get("id")
    if command_id is not None and (not isinstance(command_id, str) or len(command_id) > MAX_ID_CHARS):
        raise CommandError(f"'id' must be a string of at most {MAX_ID_CHARS} characters")

    cmd = data.get("cmd")
    if not isinstance(cmd, str) or cmd not in COMMANDS:
        raise CommandError(f"unknown command {cmd!r}; expected one of {', '.join(COMMANDS)}")
    allowed = COMMANDS[cmd]
    for key in data:
        if key in _COMMON_FIELDS:
            continue
        if key not in {arg for args in COMMANDS.values() for arg in args}:
            raise CommandError(f"unknown field {key!r}")
        if key not in allowed:
            raise CommandError(f"{cmd!r} takes no {key!r}")

    if cmd == "set_exercise":
        exercise = data.get("exercise")
        if not isinstance(exercise, str) or not _EXERCISE_RE.fullmatch(exercise):
            raise CommandError("'exercise' must be an exercise name of a-z and '_'")
        return Command(cmd, command_id, exercise=exercise)
    if cmd == "set_rates":
        if data.get("pose_hz") is None and data.get("silhouette_hz") is None:
            raise CommandError("'set_rates' needs 'pose_hz' and/or 'silhouette_hz'")
        pose_hz = _rate(data, "pose_hz", POSE_HZ_MAX)
        silhouette_hz = _rate(data, "silhouette_hz", SILHOUETTE_HZ_MAX)
        return Command(cmd, command_id, pose_hz=pose_hz, silhouette_hz=silhouette_hz)
    return Command(cmd, command_id)


def _rate(data: Mapping[str, Any], key: str, hi: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0.0 <= value <= hi
    ):
        raise CommandError(f"{key!r} must be a number in 0..{hi:g} (per second; 0 = off)")
    return float(value)


def _echo_id(payload: bytes) -> tuple[Any, str | None]:
    """Best-effort ``id`` and ``cmd`` of a payload that failed validation, for the error reply."""
    try:
        data = json.loads(payload.decode("utf-8")) if len(payload) <= MAX_COMMAND_BYTES else None
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        return None, None
    command_id = data.get("id")
    if not isinstance(command_id, (str, int, float)) or isinstance(command_id, bool):
        command_id = None
    elif isinstance(command_id, str):
        command_id = command_id[:MAX_ID_CHARS]
    cmd = data.get("cmd")
    return command_id, cmd if isinstance(cmd, str) and cmd in COMMANDS else None


class CommandDispatcher:
    """Turns a raw ``cmd`` payload into a handler call and a ``cmd/result`` payload.

    Args:
        token: ``commands.token`` ("" = no token required).
        enabled: ``commands.enabled``; when false every command is refused.
        on_set_rates: called after the handler accepted ``set_rates`` (the publisher applies the
            new rates to its own rate limiter there).
    """

    def __init__(
        self,
        token: str = "",
        enabled: bool = True,
        on_set_rates: Any = None,
    ) -> None:
        self._token = token
        self._enabled = enabled
        self._on_set_rates = on_set_rates
        self._handler: CommandHandler | None = None
        self.accepted = 0
        self.refused = 0

    def set_handler(self, handler: CommandHandler | None) -> None:
        self._handler = handler

    def handle(self, payload: bytes) -> dict[str, Any]:
        """Validate and run one command; returns the ``cmd/result`` payload. Never raises."""
        try:
            if not self._enabled:
                raise CommandError("commands are disabled on this device (commands.enabled = false)")
            command = parse_command(payload, self._token)
        except CommandError as exc:
            command_id, cmd = _echo_id(payload)
            self.refused += 1
            log.warning("refused MQTT command: %s", exc)
            return command_result_payload(command_id, cmd, False, str(exc), self._state())
        error = self._run(command)
        if error is None:
            self.accepted += 1
            log.info("MQTT command %s done (id %s)", command.cmd, command.id)
        else:
            self.refused += 1
            log.warning("MQTT command %s failed: %s", command.cmd, error)
        return command_result_payload(command.id, command.cmd, error is None, error, self._state())

    def refuse(self, payload: bytes, reason: str) -> dict[str, Any]:
        """The error reply for a command refused before parsing (e.g. a retained one)."""
        command_id, cmd = _echo_id(payload)
        self.refused += 1
        log.warning("refused MQTT command: %s", reason)
        return command_result_payload(command_id, cmd, False, reason, self._state())

    def _run(self, command: Command) -> str | None:
        handler = self._handler
        if handler is None:
            return "the device is not ready for commands yet"
        try:
            if command.cmd == "reset":
                handler.reset()
            elif command.cmd == "set_exercise":
                assert command.exercise is not None
                handler.set_exercise(command.exercise)
            elif command.cmd == "start_session":
                handler.start_session()
            elif command.cmd == "stop_session":
                handler.stop_session()
            elif command.cmd == "set_rates":
                handler.set_rates(command.pose_hz, command.silhouette_hz)
                if self._on_set_rates is not None:
                    self._on_set_rates(command.pose_hz, command.silhouette_hz)
        except EdgeError as exc:
            return str(exc)
        except Exception as exc:  # a bug in the handler must not kill the MQTT thread
            log.exception("command handler failed on %s", command.cmd)
            return f"internal error: {type(exc).__name__}: {exc}"
        return None

    def _state(self) -> dict[str, Any] | None:
        if self._handler is None:
            return None
        try:
            return dict(self._handler.state())
        except Exception:  # noqa: BLE001 - a broken state() must not prevent the answer
            log.exception("command handler state() failed")
            return None
