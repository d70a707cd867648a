"""Command validation and dispatch: malformed, unknown or unauthorised commands change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mqtt_helpers import STATE

from edge.errors import CommandError, ConfigError
from edge.mqtt.commands import MAX_COMMAND_BYTES, Command, CommandDispatcher, parse_command


class RecordingHandler:
    """A CommandHandler that records calls; ``fail`` makes a method raise."""

    def __init__(self, fail: dict[str, BaseException] | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail or {}
        self.count = 3

    def _call(self, name: str, *args: Any) -> None:
        if name in self.fail:
            raise self.fail[name]
        self.calls.append((name, *args))

    def reset(self) -> None:
        self._call("reset")
        self.count = 0

    def set_exercise(self, name: str) -> None:
        self._call("set_exercise", name)

    def start_session(self) -> None:
        self._call("start_session")

    def stop_session(self) -> None:
        self._call("stop_session")

    def set_rates(self, pose_hz: float | None, silhouette_hz: float | None) -> None:
        self._call("set_rates", pose_hz, silhouette_hz)

    def state(self) -> dict[str, Any]:
        return {**STATE, "count": self.count}


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


VALID = [
    ({"cmd": "reset"}, Command("reset")),
    ({"cmd": "reset", "id": "r1"}, Command("reset", "r1")),
    ({"cmd": "set_exercise", "exercise": "pushup"}, Command("set_exercise", exercise="pushup")),
    ({"cmd": "start_session"}, Command("start_session")),
    ({"cmd": "stop_session", "id": ""}, Command("stop_session", "")),
    ({"cmd": "set_rates", "pose_hz": 5}, Command("set_rates", pose_hz=5.0)),
    ({"cmd": "set_rates", "silhouette_hz": 0, "pose_hz": None}, Command("set_rates", silhouette_hz=0.0)),
]


@pytest.mark.parametrize(("payload", "expected"), VALID, ids=[json.dumps(p) for p, _ in VALID])
def test_ok__valid_commands(payload: dict, expected: Command) -> None:
    assert parse_command(raw(payload)) == expected


INVALID = [
    (b"reset", "command is not valid JSON"),
    (b"\xff\xfe", "command is not valid JSON"),
    (raw(["reset"]), "command must be a JSON object"),
    (raw({}), "unknown command None"),
    (raw({"cmd": "reboot"}), "unknown command 'reboot'"),
    (raw({"cmd": 1}), "unknown command 1"),
    (raw({"cmd": "reset", "force": True}), "unknown field 'force'"),
    (raw({"cmd": "reset", "exercise": "squat"}), "'reset' takes no 'exercise'"),
    (raw({"cmd": "set_exercise"}), "'exercise' must be an exercise name"),
    (raw({"cmd": "set_exercise", "exercise": "Squat; rm -rf"}), "'exercise' must be an exercise name"),
    (raw({"cmd": "set_exercise", "exercise": 3}), "'exercise' must be an exercise name"),
    (raw({"cmd": "set_rates"}), "'set_rates' needs 'pose_hz' and/or 'silhouette_hz'"),
    (raw({"cmd": "set_rates", "pose_hz": "fast"}), "'pose_hz' must be a number in 0..60"),
    (raw({"cmd": "set_rates", "pose_hz": True}), "'pose_hz' must be a number in 0..60"),
    (raw({"cmd": "set_rates", "pose_hz": 1000}), "'pose_hz' must be a number in 0..60"),
    (raw({"cmd": "set_rates", "silhouette_hz": -1}), "'silhouette_hz' must be a number in 0..30"),
    (b'{"cmd": "set_rates", "pose_hz": NaN}', "'pose_hz' must be a number"),
    (raw({"cmd": "reset", "id": 5}), "'id' must be a string"),
    (raw({"cmd": "reset", "id": "x" * 200}), "'id' must be a string of at most 128"),
    (b" " * (MAX_COMMAND_BYTES + 1), "command too large"),
]


@pytest.mark.parametrize(("payload", "expected"), INVALID, ids=[e for _, e in INVALID])
def test_fail__invalid_commands(payload: bytes, expected: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_command(payload)
    assert str(info.value).startswith(expected), str(info.value)


@pytest.mark.parametrize("token", [None, "wrong", 1234, ""])
def test_fail__token_required_when_configured(token: Any) -> None:
    payload = {"cmd": "reset"} if token is None else {"cmd": "reset", "token": token}
    with pytest.raises(CommandError, match="^unauthorised: missing or wrong token$"):
        parse_command(raw(payload), token="s3cret")


def test_ok__token_accepted_and_ignored_when_not_configured() -> None:
    assert parse_command(raw({"cmd": "reset", "token": "s3cret"}), token="s3cret") == Command("reset")
    assert parse_command(raw({"cmd": "reset", "token": "anything"})) == Command("reset")


@pytest.mark.parametrize(("payload", "error"), [(p, e) for p, e in INVALID[:12]])
def test_fail__dispatcher_answers_invalid_commands_without_calling_the_handler(
    payload: bytes, error: str
) -> None:
    """A malformed command gets an error reply and changes nothing."""
    handler = RecordingHandler()
    dispatcher = CommandDispatcher()
    dispatcher.set_handler(handler)
    result = dispatcher.handle(payload)
    assert result["ok"] is False and result["error"].startswith(error)
    assert result["state"]["count"] == 3  # echoed, unchanged
    assert handler.calls == []
    assert dispatcher.refused == 1 and dispatcher.accepted == 0


def test_ok__dispatcher_echoes_id_and_cmd_of_refused_commands() -> None:
    dispatcher = CommandDispatcher(token="t")
    dispatcher.set_handler(RecordingHandler())
    result = dispatcher.handle(raw({"cmd": "reset", "id": "abc"}))
    assert (result["id"], result["cmd"], result["ok"]) == ("abc", "reset", False)
    assert result["error"] == "unauthorised: missing or wrong token"
    assert dispatcher.handle(b"garbage")["id"] is None


def test_ok__dispatcher_runs_valid_commands() -> None:
    handler = RecordingHandler()
    applied: list[tuple[Any, Any]] = []
    dispatcher = CommandDispatcher(on_set_rates=lambda p, s: applied.append((p, s)))
    dispatcher.set_handler(handler)
    result = dispatcher.handle(raw({"cmd": "reset", "id": "1"}))
    assert result["ok"] is True and result["error"] is None and result["state"]["count"] == 0
    dispatcher.handle(raw({"cmd": "set_exercise", "exercise": "pushup"}))
    dispatcher.handle(raw({"cmd": "set_rates", "pose_hz": 2}))
    dispatcher.handle(raw({"cmd": "start_session"}))
    dispatcher.handle(raw({"cmd": "stop_session"}))
    assert handler.calls == [
        ("reset",),
        ("set_exercise", "pushup"),
        ("set_rates", 2.0, None),
        ("start_session",),
        ("stop_session",),
    ]
    assert applied == [(2.0, None)]


def test_fail__handler_refusal_becomes_error_reply() -> None:
    """set_exercise("unknown") raising ConfigError is a refused command, not a crash."""
    handler = RecordingHandler(fail={"set_exercise": ConfigError("reps.exercise: unknown exercise 'curl'")})
    applied: list[Any] = []
    dispatcher = CommandDispatcher(on_set_rates=lambda *a: applied.append(a))
    dispatcher.set_handler(handler)
    result = dispatcher.handle(raw({"cmd": "set_exercise", "exercise": "curl"}))
    assert result == {
        **result,
        "ok": False,
        "error": "reps.exercise: unknown exercise 'curl'",
        "cmd": "set_exercise",
    }
    handler.fail["set_rates"] = CommandError("rates are locked")
    assert dispatcher.handle(raw({"cmd": "set_rates", "pose_hz": 1}))["error"] == "rates are locked"
    assert applied == [], "a refused set_rates must not change the publisher's rates"


def test_fail__handler_bug_is_answered_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A bug in the daemon's handler must not kill paho's network thread."""
    dispatcher = CommandDispatcher()
    dispatcher.set_handler(RecordingHandler(fail={"reset": ZeroDivisionError("oops")}))
    result = dispatcher.handle(raw({"cmd": "reset"}))
    assert result["ok"] is False and result["error"] == "internal error: ZeroDivisionError: oops"
    assert "command handler failed" in caplog.text


def test_fail__no_handler_or_disabled() -> None:
    assert (
        CommandDispatcher().handle(raw({"cmd": "reset"}))["error"]
        == "the device is not ready for commands yet"
    )
    disabled = CommandDispatcher(enabled=False)
    handler = RecordingHandler()
    disabled.set_handler(handler)
    result = disabled.handle(raw({"cmd": "reset", "id": "x"}))
    assert result["ok"] is False and "commands.enabled = false" in result["error"] and result["id"] == "x"
    assert handler.calls == []
