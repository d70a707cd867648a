"""DeviceHub: what the dashboard remembers per device and what it tells open pages."""

from __future__ import annotations

import json

import pytest

from edge.dashboard import topics
from edge.dashboard.hub import DeviceHub


def _rep(rep_id: str, index: int) -> bytes:
    return json.dumps({"v": 1, "ts": 0, "id": rep_id, "index": index, "duration": 2.0}).encode()


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("edge-pose/gym1/state", ("gym1", "state")),
        ("edge-pose/gym1/cmd/result", ("gym1", "cmd/result")),
        ("edge-pose/gym-2_b/availability", ("gym-2_b", "availability")),
        ("edge-pose/gym1/cmd", None),  # what viewers send, not what they read
        ("edge-pose/Gym1/state", None),  # ids are lower case (CONTRACT.md)
        ("edge-pose/gym1/state/extra", None),
        ("other/gym1/state", None),
        ("edge-pose/gym1", None),
    ],
)
def test_ok__topics_parse_only_viewer_topics(topic: str, expected: tuple[str, str] | None) -> None:
    """Prevents: a device id or kind taken from a topic that is not the daemon's."""
    assert topics.parse("edge-pose", topic) == expected


def test_ok__subscriptions_cover_every_kind_with_one_wildcard_each() -> None:
    assert topics.subscriptions("p") == [f"p/+/{kind}" for kind in topics.KINDS]


def test_ok__latest_message_of_each_kind_is_kept_per_device() -> None:
    hub = DeviceHub()
    hub.handle("a", "availability", b"online", retained=True)
    hub.handle("a", "state", b'{"count": 1}')
    hub.handle("a", "state", b'{"count": 2}')
    hub.handle("b", "stats", b'{"fps": 9.5}')
    snap = hub.snapshot()
    assert list(snap["devices"]) == ["a", "b"]
    assert snap["devices"]["a"]["availability"] == "online"
    assert snap["devices"]["a"]["state"] == {"count": 2}
    assert snap["devices"]["b"]["stats"] == {"fps": 9.5}
    assert snap["devices"]["b"]["state"] is None


def test_ok__duplicate_rep_ids_are_kept_once() -> None:
    """Prevents: QoS 1 redeliveries and outbox replays showing up as extra reps in the charts."""
    hub = DeviceHub()
    assert hub.handle("a", "rep", _rep("a-1-1", 1))
    assert not hub.handle("a", "rep", _rep("a-1-1", 1))
    assert hub.handle("a", "rep", _rep("a-1-2", 2))
    assert [r["index"] for r in hub.snapshot()["devices"]["a"]["reps"]] == [1, 2]


def test_ok__rep_cache_is_bounded_and_forgets_the_oldest() -> None:
    hub = DeviceHub(max_reps=3)
    for i in range(1, 6):
        hub.handle("a", "rep", _rep(f"a-1-{i}", i))
    assert [r["index"] for r in hub.snapshot()["devices"]["a"]["reps"]] == [3, 4, 5]
    assert hub.handle("a", "rep", _rep("a-1-1", 1)), "an id dropped from the cache is no longer a duplicate"


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("state", b"{not json"),
        ("state", b"[1, 2]"),  # JSON, but not an object
        ("rep", b"42"),
        ("stats", b"\xff\xfe"),
    ],
)
def test_ok__malformed_payloads_are_counted_not_raised(kind: str, payload: bytes) -> None:
    """Prevents: one broken publisher taking the dashboard down for every device."""
    hub = DeviceHub()
    assert not hub.handle("a", kind, payload)
    assert hub.malformed == 1


def test_ok__empty_retained_payload_clears_the_cached_value() -> None:
    hub = DeviceHub()
    hub.handle("a", "state", b'{"count": 3}')
    hub.handle("a", "state", b"")
    assert hub.snapshot()["devices"]["a"]["state"] is None


def test_ok__subscriber_gets_snapshot_then_every_change_in_order() -> None:
    hub = DeviceHub()
    hub.handle("a", "state", b'{"count": 1}')
    sub, snapshot = hub.subscribe()
    assert json.loads(snapshot)["devices"]["a"]["state"] == {"count": 1}
    hub.handle("a", "state", b'{"count": 2}')
    hub.set_broker(True)
    hub.handle("a", "cmd/result", b'{"id": "x", "ok": true}')
    events = [json.loads(sub.get(0.1) or "null") for _ in range(3)]
    assert [e["type"] for e in events] == ["msg", "broker", "msg"]
    assert events[0]["data"] == {"count": 2} and events[2]["kind"] == "cmd/result"
    assert sub.get(0.01) is None


def test_ok__slow_page_sheds_poses_first_then_is_cut_off_to_resync() -> None:
    """Prevents: one stalled browser tab growing the server's memory without bound."""
    hub = DeviceHub()
    sub, _ = hub.subscribe(maxsize=4)
    for _ in range(10):
        hub.handle("a", "pose", b'{"landmarks": null}')
    assert sub.queue.qsize() == 2 and sub.shed == 8 and not sub.overflowed
    for i in range(3):
        hub.handle("a", "state", json.dumps({"count": i}).encode())
    assert sub.overflowed, (
        "a full queue of must-have events closes the stream (page reconnects to a snapshot)"
    )


def test_ok__unsubscribed_page_receives_nothing_more() -> None:
    hub = DeviceHub()
    sub, _ = hub.subscribe()
    hub.unsubscribe(sub)
    hub.handle("a", "state", b"{}")
    assert sub.get(0.01) is None and hub.subscriber_count == 0
