"""Commands from MQTT (reset, set_exercise, sessions, set_rates): applied between frames, thread-safe."""

from __future__ import annotations

import random
import threading
import time

import pytest
from doubles import EveryFramePose, ListSource, RecordingPublisher, ScriptedRepCounter

from edge.daemon import Daemon, DaemonSettings
from edge.errors import CommandError


def idle_daemon(
    rep_times: list[float] | None = None,
) -> tuple[Daemon, ScriptedRepCounter, RecordingPublisher]:
    counter = ScriptedRepCounter(rep_times or [])
    publisher = RecordingPublisher()
    daemon = Daemon(ListSource(0), EveryFramePose(), counter, publisher, DaemonSettings(device_id="gym1"))
    return daemon, counter, publisher


def test_ok__state_has_the_contract_shape() -> None:
    """cmd/result embeds state(); dashboards parse it."""
    daemon, _, _ = idle_daemon()
    state = daemon.state()
    assert state == {
        "device_id": "gym1",
        "exercise": "squat",
        "count": 0,
        "phase": "idle",
        "session": state["session"],
        "person": False,
        "status": "starting",
        "source": "",
    }
    assert set(state["session"]) == {"id", "active", "started", "count"}
    assert state["session"]["active"] is True and abs(state["session"]["started"] - time.time()) < 5


def test_ok__start_session_resets_the_count_under_a_new_id() -> None:
    """A new set starts at zero, and its rep ids (device-session-index) cannot collide with the last set's."""
    daemon, counter, _ = idle_daemon()
    counter.count = 7
    old = daemon.state()["session"]["id"]
    daemon.start_session()
    state = daemon.state()
    assert state["count"] == 0 and state["session"]["id"] != old and state["session"]["active"] is True


def test_ok__reset_keeps_the_session_state_but_changes_the_id() -> None:
    """reset restarts rep indices at 1, so the session id must change or ids would repeat."""
    daemon, counter, _ = idle_daemon()
    daemon.stop_session()
    counter.count = 3
    old = daemon.state()["session"]["id"]
    daemon.reset()
    state = daemon.state()
    assert state["count"] == 0 and state["session"]["id"] != old and state["session"]["active"] is False


def test_ok__set_exercise_changes_the_counter_and_the_session() -> None:
    daemon, counter, _ = idle_daemon()
    old = daemon.state()["session"]["id"]
    daemon.set_exercise("pushup")
    assert counter.exercise == "pushup"
    assert daemon.state()["exercise"] == "pushup" and daemon.state()["session"]["id"] != old


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("jumping_jacks_9000", "exercise: unknown exercise 'jumping_jacks_9000'; expected one of"),
        ("", "exercise: expected a name, got ''"),
        (None, "exercise: expected a name, got None"),
        (7, "exercise: expected a name, got 7"),
    ],
)
def test_fail__unknown_exercise_is_refused_and_changes_nothing(name: object, message: str) -> None:
    """A bad command answers ok=false with one line; counter and session stay as they were."""
    daemon, counter, _ = idle_daemon()
    before = daemon.state()
    with pytest.raises(CommandError, match=message):
        daemon.set_exercise(name)  # type: ignore[arg-type]
    assert daemon.state() == before and counter.exercise == "squat"


def test_ok__set_rates_changes_one_rate_at_a_time() -> None:
    daemon, _, _ = idle_daemon()
    daemon.set_rates(5, None)
    assert daemon.rates == (5.0, 2.0)
    daemon.set_rates(None, 0)
    assert daemon.rates == (5.0, 0.0)
    with pytest.raises(CommandError, match="silhouette_hz"):
        daemon.set_rates(1, -2)
    assert daemon.rates == (5.0, 0.0)  # the valid half of a bad command is not applied either


def test_ok__commands_publish_the_new_state() -> None:
    """Subscribers see the effect of a command on the retained state topic."""
    daemon, _, publisher = idle_daemon()
    daemon.start()
    try:
        daemon.set_exercise("pushup")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not any(s["exercise"] == "pushup" for s in publisher.states()):
            time.sleep(0.02)
        assert any(s["exercise"] == "pushup" for s in publisher.states())
    finally:
        daemon.stop(2.0)


def test_ok__stop_session_freezes_its_count_but_reps_still_go_out(runner) -> None:
    """After stop_session the person may keep moving: reps are still published (never lost), but
    the finished session's count no longer changes."""
    counter = ScriptedRepCounter([0.5, 1.0, 1.5, 2.0])
    publisher = RecordingPublisher()
    source = ListSource(75, fps=30, realtime=True)  # 2.5 s
    daemon = Daemon(source, EveryFramePose(), counter, publisher, DaemonSettings())
    stop, join = runner.start(daemon, publisher)
    while counter.count < 2:
        time.sleep(0.01)
    daemon.stop_session()
    assert join(10.0) == 0
    state = publisher.states()[-1]
    assert state["count"] == 4 and state["session"]["count"] == 2 and state["session"]["active"] is False
    assert len(publisher.of("rep")) == 4


def test_ok__commands_racing_the_frame_loop_stay_consistent(runner) -> None:
    """Commands arrive on paho's thread while frames are processed: no exception, no torn state, and
    every rep is published under the session that was current when it was counted."""
    counter = ScriptedRepCounter([0.1 * k for k in range(1, 30)])
    publisher = RecordingPublisher()
    daemon = Daemon(
        ListSource(90, fps=30, realtime=True), EveryFramePose(), counter, publisher, DaemonSettings()
    )
    errors: list[BaseException] = []
    sessions: list[str] = []

    def hammer() -> None:
        rng = random.Random(3)
        while not daemon.finished.is_set():
            try:
                action = rng.choice(["reset", "start", "stop", "exercise", "rates", "state"])
                if action == "reset":
                    daemon.reset()
                elif action == "start":
                    daemon.start_session()
                elif action == "stop":
                    daemon.stop_session()
                elif action == "exercise":
                    daemon.set_exercise(rng.choice(["squat", "pushup"]))
                elif action == "rates":
                    daemon.set_rates(rng.choice([0, 5, 10]), rng.choice([0, 2]))
                state = daemon.state()
                sessions.append(state["session"]["id"])
                assert 0 <= state["session"]["count"] <= state["count"] or not state["session"]["active"]
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
            time.sleep(0.005)

    thread = threading.Thread(target=hammer)
    _, join = runner.start(daemon, publisher)
    thread.start()
    assert join(15.0) == 0
    thread.join(2.0)
    assert errors == []
    reps = publisher.of("rep")
    assert reps, "reps must still be counted while commands fly"
    assert {c.args[1] for c in reps} <= set(sessions) | {publisher.states()[0]["session"]["id"]}
    # within one session, indices only go up (a reset always opens a new session)
    last: dict[str, int] = {}
    for call in reps:
        event, session = call.args
        assert event["index"] > last.get(session, 0)
        last[session] = event["index"]
