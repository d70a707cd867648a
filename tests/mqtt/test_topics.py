"""The topic table and payload builders: the MQTT contract in code (CONTRACT.md "MQTT topics")."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from mqtt_helpers import STATE, rep_event

from edge.mqtt.topics import (
    TOPICS,
    Topics,
    command_result_payload,
    encode,
    homeassistant_discovery_topic,
    homeassistant_status_topic,
    pose_payload,
    rep_id,
    rep_payload,
    silhouette_payload,
    state_payload,
    stats_payload,
)
from edge.pose import Pose


def make_pose() -> Pose:
    rng = np.random.default_rng(0)
    landmarks = rng.random((33, 5)).astype(np.float32)
    world = rng.standard_normal((33, 3)).astype(np.float32)
    return Pose(landmarks=landmarks, world=world, score=0.93, image_size=(640, 480), timestamp=1.0)


def test_ok__complete_topic_set_is_locked() -> None:
    """Any change to a topic name, QoS or retain flag breaks subscribers: it must be deliberate
    (update CONTRACT.md, the dashboard and this test together)."""
    topics = Topics("edge-pose", "gym1")
    assert topics.all() == {
        "availability": "edge-pose/gym1/availability",
        "state": "edge-pose/gym1/state",
        "pose": "edge-pose/gym1/pose",
        "rep": "edge-pose/gym1/rep",
        "silhouette": "edge-pose/gym1/silhouette",
        "stats": "edge-pose/gym1/stats",
        "cmd": "edge-pose/gym1/cmd",
        "cmd_result": "edge-pose/gym1/cmd/result",
    }
    assert {k: (s.qos, s.retain) for k, s in TOPICS.items()} == {
        "availability": (1, True),
        "state": (1, True),
        "pose": (0, False),
        "rep": (1, False),
        "silhouette": (0, False),
        "stats": (0, True),
        "cmd": (1, False),
        "cmd_result": (1, False),
    }
    assert topics.subscriptions() == ["edge-pose/gym1/cmd"]
    assert (
        topics.availability,
        topics.state,
        topics.pose,
        topics.rep,
        topics.silhouette,
        topics.stats,
        topics.cmd,
        topics.cmd_result,
    ) == tuple(topics.all().values())
    assert (
        homeassistant_discovery_topic("homeassistant", "gym1") == "homeassistant/device/edgepose_gym1/config"
    )
    assert homeassistant_status_topic("homeassistant") == "homeassistant/status"


def test_ok__every_payload_has_version_and_timestamp() -> None:
    before = time.time()
    payloads = [
        state_payload(STATE),
        pose_payload(None, 1, 0.1, (640, 480)),
        rep_payload(rep_event(0), "dev1", "s1"),
        silhouette_payload(None, 3),
        stats_payload({"fps": 9.5}),
        command_result_payload("a", "reset", True, None, STATE),
    ]
    for payload in payloads:
        assert payload["v"] == 1
        assert before - 1 <= payload["ts"] <= time.time() + 1
        json.loads(encode(payload))  # valid JSON


def test_ok__state_payload_shape() -> None:
    payload = state_payload(STATE, ts=12.5)
    assert list(payload) == [
        "v",
        "ts",
        "device_id",
        "exercise",
        "count",
        "phase",
        "session",
        "person",
        "status",
        "source",
    ]
    assert payload["session"] == {"id": "s1", "active": True, "started": 1.0, "count": 0}


@pytest.mark.parametrize(
    "change", [{"count": None, "_drop": "count"}, {"status": "sleeping"}, {"session": {"id": "s"}}]
)
def test_fail__state_payload_rejects_incomplete_state(change: dict) -> None:
    """The daemon's state body must match the contract; a missing key is caught in its unit tests."""
    state = dict(STATE)
    drop = change.pop("_drop", None)
    state.update(change)
    if drop:
        del state[drop]
    with pytest.raises(ValueError):
        state_payload(state)


def test_ok__pose_payload_with_and_without_person() -> None:
    pose = make_pose()
    payload = pose_payload(pose, frame=7, t=0.233333, ts=1.0)
    assert payload["frame"] == 7 and payload["t"] == 0.2333 and payload["image_size"] == [640, 480]
    assert np.asarray(payload["landmarks"]).shape == (33, 5) and np.asarray(payload["world"]).shape == (33, 3)
    np.testing.assert_allclose(payload["landmarks"], pose.landmarks, atol=6e-5)
    assert payload["score"] == pytest.approx(0.93)
    empty = pose_payload(None, frame=8, t=0.3, image_size=(640, 480))
    assert empty["landmarks"] is None and empty["world"] is None and empty["score"] is None
    assert empty["image_size"] == [640, 480]
    assert len(encode(payload)) < 3000, "a pose message should stay small (10 per second on a Pi)"


def test_fail__nan_pose_is_not_encoded() -> None:
    """NaN is not JSON; encode refuses it instead of emitting a payload browsers cannot parse."""
    pose = make_pose()
    pose.landmarks[0, 0] = math.nan
    with pytest.raises(ValueError):
        encode(pose_payload(pose, 1, 0.0))


def test_ok__rep_payload_id_and_precedence() -> None:
    payload = rep_payload(rep_event(4, v=99, id="spoof", ts=-1), "dev1", "s7", ts=5.0)
    assert payload["id"] == "dev1-s7-4" and payload["v"] == 1 and payload["ts"] == 5.0
    assert payload["device_id"] == "dev1" and payload["session"] == "s7"
    assert payload["index"] == 4 and payload["exercise"] == "squat" and payload["duration"] == 1.5
    assert rep_payload(rep_event(4, partial=True), "dev1", "s7")["id"] == "dev1-s7-4p"
    assert rep_id("d", "s", 0) == "d-s-0"
    with pytest.raises(ValueError):
        rep_payload({"exercise": "squat"}, "dev1", "s1")


def test_ok__silhouette_and_stats_and_result_payloads() -> None:
    sil = silhouette_payload({"polygon": [[0.1, 0.2]], "area": 0.3, "frame": -1}, frame=9)
    assert sil["frame"] == 9 and sil["polygon"] == [[0.1, 0.2]] and sil["area"] == 0.3
    assert silhouette_payload(None, 10)["polygon"] is None
    assert stats_payload({"fps": 14.8, "v": 7})["v"] == 1
    result = command_result_payload(None, None, False, "command is not valid JSON", None)
    assert {k: result[k] for k in ("id", "cmd", "ok", "error", "state")} == {
        "id": None,
        "cmd": None,
        "ok": False,
        "error": "command is not valid JSON",
        "state": None,
    }
