"""The sqlite outbox: durable, ordered, bounded, one process at a time."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.errors import PublishError
from edge.mqtt.outbox import FILENAME, Outbox, default_outbox_dir
from edge.mqtt.topics import Message


def rep(i: int) -> Message:
    return Message("rep", "edge-pose/d/rep", f'{{"id":"d-s-{i}"}}'.encode(), 1, False)


def state(i: int) -> Message:
    return Message("state", "edge-pose/d/state", f'{{"count":{i}}}'.encode(), 1, True)


def test_ok__order_survives_reopen(tmp_path: Path) -> None:
    """A daemon restart must deliver the stored reps in their original order."""
    with Outbox(tmp_path) as box:
        ids = [box.put(rep(i)) for i in range(5)]
        box.delete(ids[:2])
    with Outbox(tmp_path) as box:
        rows = box.peek()
        assert [r.message.payload for r in rows] == [rep(i).payload for i in (2, 3, 4)]
        assert [r.id for r in rows] == ids[2:]
        assert len(box) == 3
        later = box.put(rep(5))
        assert later > ids[-1], "ids must keep growing across restarts (AUTOINCREMENT)"
        assert [r.id for r in box.peek(after_id=ids[3], limit=10)] == [ids[4], later]
        assert rows[0].message == rep(2)


def test_ok__latest_only_keeps_newest_state(tmp_path: Path) -> None:
    with Outbox(tmp_path) as box:
        box.put(state(1), latest_only=True)
        box.put(rep(0))
        box.put(state(2), latest_only=True)
        kinds = [(r.message.kind, r.message.payload) for r in box.peek()]
        assert kinds == [("rep", rep(0).payload), ("state", state(2).payload)]
        assert len(box) == 2


def test_ok__full_outbox_drops_state_first_then_oldest_rep_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Bounded disk use; a rep is dropped only when nothing else is left, and never silently."""
    with Outbox(tmp_path, max_messages=3) as box:
        box.put(rep(0))
        box.put(state(1), latest_only=True)
        box.put(rep(1))
        with caplog.at_level(logging.WARNING):
            box.put(rep(2))  # full: the state goes
        assert [r.message.kind for r in box.peek()] == ["rep", "rep", "rep"]
        assert box.dropped_other == 1 and box.dropped_reps == 0
        with caplog.at_level(logging.ERROR):
            box.put(rep(3))  # full of reps: the oldest rep goes, with an error line
        assert [r.message.payload for r in box.peek()] == [rep(i).payload for i in (1, 2, 3)]
        assert box.dropped_reps == 1
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "dropped the oldest rep event" in errors[0].getMessage()
        assert "d-s-0" in errors[0].getMessage()


def test_fail__second_outbox_on_same_folder(tmp_path: Path) -> None:
    """Two daemons on one outbox would send every rep twice."""
    with Outbox(tmp_path):
        with pytest.raises(PublishError, match="in use by another edge-pose process"):
            Outbox(tmp_path)
    Outbox(tmp_path).close()  # released on close


def test_fail__unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PublishError, match="^publish.outbox_dir: cannot create"):
        Outbox(blocker / "sub")


def test_ok__damaged_database_is_set_aside_not_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILENAME).write_bytes(b"this is not a database" * 100)
    with Outbox(tmp_path) as box:
        assert len(box) == 0
        box.put(rep(0))
    aside = list(tmp_path.glob(f"{FILENAME}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    assert "is damaged" in caplog.text


def test_ok__default_folder_precedence(tmp_path: Path) -> None:
    assert default_outbox_dir({"STATE_DIRECTORY": f"{tmp_path}/a:{tmp_path}/b"}) == tmp_path / "a"
    xdg = default_outbox_dir({"XDG_STATE_HOME": str(tmp_path)})
    assert xdg in (Path("/var/lib/edge-pose"), tmp_path / "edge-pose")
