"""A stand-in daemon for dashboard and LCD tests: plays MediaPipe's reference output for a clip as
CONTRACT.md payloads into a real broker, and answers commands.

Until ``edge-pose run`` is on main this is what publishes: ``availability`` (retained, LWT
``offline``), ``state`` (retained), ``pose`` at ``pose_hz`` from the reference landmarks, ``silhouette``
at 2 Hz from the reference masks (``edge.silhouette``), ``stats`` (retained), and one ``rep`` per
labelled repetition
(labels.tsv ``reps``). Rep timing and range of motion come from the clip's own joint angle (the
deepest ``reps`` minima of the knee or elbow angle), so the charts show real tempo; the *count* is
the human label, so what the page must show is known.

Runs ``speed`` times faster than the clip (stream time is still the clip's).
"""

from __future__ import annotations

import csv
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.landmarks import PoseLandmark as L
from edge.silhouette import SilhouetteExtractor

#: The joint whose angle drives each exercise's reps: (outer, vertex, outer) per side.
JOINTS: dict[str, tuple[tuple[L, L, L], tuple[L, L, L]]] = {
    "squat": ((L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)),
    "lunge": ((L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE)),
    "pushup": (
        (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
        (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    ),
    "bicep_curl": (
        (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
        (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    ),
    "shoulder_press": (
        (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
        (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    ),
    "situp": ((L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE), (L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE)),
}
EXERCISES = ("auto", *JOINTS)


@dataclass(frozen=True)
class Rep:
    index: int
    start: float
    bottom: float
    end: float
    rom_min: float
    rom_max: float
    angle_name: str


def clip_label(shared: Path, clip: str) -> tuple[str, int]:
    """(exercise, reps) of a clip from ``footage/labels.tsv``."""
    with (shared / "footage" / "labels.tsv").open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["clip"] == clip:
                return row["exercise"], int(row["reps"])
    raise KeyError(f"{clip} has no row in labels.tsv")


def joint_angle(landmarks: np.ndarray, image_size: tuple[int, int], joint: tuple[L, L, L]) -> np.ndarray:
    """(N,) angle in degrees at ``joint[1]`` in pixel space; NaN where a landmark is missing."""
    xy = landmarks[:, :, :2] * np.asarray(image_size, np.float32)
    a, b, c = (xy[:, int(j)] for j in joint)
    u, v = a - b, c - b
    cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1) + 1e-9)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def find_reps(t: np.ndarray, angle: np.ndarray, count: int, name: str) -> list[Rep]:
    """The ``count`` deepest, well-separated minima of ``angle`` as reps (start/end at the maxima between)."""
    filled = np.interp(np.arange(len(angle)), np.flatnonzero(np.isfinite(angle)), angle[np.isfinite(angle)])
    k = max(1, int(round(0.15 / max(1e-3, float(np.median(np.diff(t)))))))
    smooth = np.convolve(np.pad(filled, k, mode="edge"), np.ones(2 * k + 1) / (2 * k + 1), mode="valid")
    gap = 0.5 * (t[-1] - t[0]) / max(count, 1)
    bottoms: list[int] = []
    for i in np.argsort(smooth):
        if all(abs(t[i] - t[j]) >= gap for j in bottoms):
            bottoms.append(int(i))
        if len(bottoms) == count:
            break
    bottoms.sort()
    reps = []
    for n, b in enumerate(bottoms):
        lo = bottoms[n - 1] if n else 0
        hi = bottoms[n + 1] if n + 1 < len(bottoms) else len(t) - 1
        start = lo + int(np.argmax(smooth[lo : b + 1]))
        end = b + int(np.argmax(smooth[b : hi + 1]))
        window = filled[start : end + 1]
        reps.append(
            Rep(
                n + 1,
                float(t[start]),
                float(t[b]),
                float(t[end]),
                float(window.min()),
                float(window.max()),
                name,
            )
        )
    return reps


class ReferenceDevice:
    """Publish a clip's reference poses, reps, state and stats as device ``device_id`` would.

    Args:
        port: broker TCP port on 127.0.0.1.
        device_id: the device's id in topics.
        shared: the shared data folder.
        clip: path under ``footage/`` (and ``reference/`` with ``.npz``).
        speed: wall-clock speed-up of the replay.
        pose_hz: rate of ``pose`` messages in stream time.
        answer_commands: subscribe to ``cmd`` and answer on ``cmd/result`` like the daemon.
    """

    def __init__(
        self,
        port: int,
        device_id: str,
        shared: Path,
        clip: str,
        speed: float = 4.0,
        pose_hz: float = 10.0,
        prefix: str = "edge-pose",
        answer_commands: bool = True,
        loop: bool = False,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.device_id, self.clip, self.speed, self.pose_hz, self.loop = device_id, clip, speed, pose_hz, loop
        self.base = f"{prefix}/{device_id}"
        self.exercise, self.expected_count = clip_label(shared, clip)
        ref = np.load(shared / "reference" / Path(clip).with_suffix(".npz"))
        self.landmarks, self.t = ref["landmarks"], ref["t"]
        self.size = (int(ref["size"][0]), int(ref["size"][1]))
        self.masks, self.mask_frames = ref["masks"], ref["mask_frames"]
        joints = JOINTS[self.exercise]
        vis = [np.nansum(self.landmarks[:, [int(j) for j in side], 3]) for side in joints]
        joint = joints[int(np.argmax(vis))]
        self.angle = joint_angle(self.landmarks, self.size, joint)
        self.reps = find_reps(self.t, self.angle, self.expected_count, joint[1].name.lower())
        self.extractor = SilhouetteExtractor()
        self.count = 0
        self.session = 1
        self.commands: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._state_exercise = self.exercise
        self._phase = "up"
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ref-{device_id}")
        client.will_set(f"{self.base}/availability", "offline", qos=1, retain=True)
        client.reconnect_delay_set(1, 2)
        if answer_commands:
            client.message_callback_add(f"{self.base}/cmd", self._on_command)
        client.on_connect = self._on_connect
        self.client = client
        self.port = port
        self._thread = threading.Thread(target=self._run, name=f"ref-{device_id}", daemon=True)
        self._answer = answer_commands

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ReferenceDevice:
        self.client.connect("127.0.0.1", self.port, keepalive=5)
        self.client.loop_start()
        self._thread.start()
        return self

    def wait_done(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def stop(self, offline: bool = True) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if offline:
            self.client.publish(f"{self.base}/availability", "offline", qos=1, retain=True).wait_for_publish(
                2
            )
        self.client.disconnect()
        self.client.loop_stop()

    # -- publishing ------------------------------------------------------------------------------

    def _pub(self, kind: str, payload: dict[str, Any] | str, qos: int = 0, retain: bool = False) -> None:
        if isinstance(payload, dict):
            payload = json.dumps({"v": 1, "ts": time.time(), **payload})
        self.client.publish(f"{self.base}/{kind}", payload, qos=qos, retain=retain)

    def state(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "exercise": self._state_exercise,
            "count": self.count,
            "phase": self._phase,
            "session": {"id": str(self.session), "active": True, "started": 0.0, "count": self.count},
            "person": True,
            "status": "running",
            "source": self.clip,
        }

    def _publish_state(self) -> None:
        with self._lock:
            state = self.state()
        self._pub("state", state, qos=1, retain=True)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        client.publish(f"{self.base}/availability", "online", qos=1, retain=True)
        if self._answer:
            client.subscribe(f"{self.base}/cmd", qos=1)
        self._publish_state()

    def _run(self) -> None:
        t0 = time.monotonic()
        duration = float(self.t[-1])
        pose_step, sil_step, stats_step = 1.0 / self.pose_hz, 0.5, 2.0
        next_pose = next_sil = next_stats = 0.0
        reps = list(self.reps)
        while not self._stop.is_set():
            now = (time.monotonic() - t0) * self.speed
            if now > duration:
                if not self.loop:
                    break
                t0, now, next_pose, next_sil, next_stats, reps = (
                    time.monotonic(),
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    list(self.reps),
                )
                with self._lock:
                    self.count = 0
                    self.session += 1
                self._publish_state()
            frame = min(int(np.searchsorted(self.t, now)), len(self.t) - 1)
            if now >= next_pose:
                next_pose += pose_step
                self._publish_pose(frame)
            if now >= next_sil:
                next_sil += sil_step
                self._publish_silhouette(frame)
            if now >= next_stats:
                next_stats += stats_step
                self._publish_stats(frame, now)
            while reps and reps[0].end <= now:
                self._publish_rep(reps.pop(0))
            phase = "down" if any(r.start <= now < r.bottom for r in reps[:1]) else "up"
            if phase != self._phase:
                self._phase = phase
                self._publish_state()
            self._stop.wait(0.01)
        for rep in reps:  # whatever is left when stopped early or at the very end
            if rep.end <= float(self.t[-1]) and not self._stop.is_set():
                self._publish_rep(rep)
        self._phase = "up"
        self._publish_state()
        self._done.set()

    def _publish_pose(self, frame: int) -> None:
        lm = self.landmarks[frame]
        landmarks = None if np.isnan(lm).any() else np.round(lm.astype(np.float64), 4).tolist()
        self._pub(
            "pose",
            {
                "frame": frame,
                "t": round(float(self.t[frame]), 3),
                "image_size": list(self.size),
                "score": None if landmarks is None else 0.99,
                "landmarks": landmarks,
                "world": None,
            },
        )

    def _publish_silhouette(self, frame: int) -> None:
        i = int(np.searchsorted(self.mask_frames, frame, side="right")) - 1
        if i < 0:
            return
        mask_frame = int(self.mask_frames[i])
        silhouette = self.extractor.extract(self.masks[i], self.landmarks[mask_frame])
        if silhouette is not None:
            self._pub("silhouette", {"frame": frame, **silhouette.to_json()})

    def _publish_stats(self, frame: int, now: float) -> None:
        fps = (len(self.t) - 1) / float(self.t[-1])
        self._pub(
            "stats",
            {
                "fps": round(fps, 1),
                "latency_ms": {"p50": 41.0, "p99": 63.0},
                "frames": frame + 1,
                "skipped_frames": 0,
                "cpu_temp_c": None,
                "rss_mb": 80.0,
                "uptime_s": round(now, 1),
                "outbox": 0,
                "model": "mediapipe-ref",
                "delegate": "cpu",
            },
            retain=True,
        )

    def _publish_rep(self, rep: Rep) -> None:
        with self._lock:
            self.count += 1
            index, session = self.count, self.session
        self._pub(
            "rep",
            {
                "id": f"{self.device_id}-{session}-{index}",
                "device_id": self.device_id,
                "session": str(session),
                "index": index,
                "exercise": self.exercise,
                "side": "both",
                "start": round(rep.start, 3),
                "end": round(rep.end, 3),
                "duration": round(rep.end - rep.start, 3),
                "concentric": round(rep.end - rep.bottom, 3),
                "eccentric": round(rep.bottom - rep.start, 3),
                "rom_min": round(rep.rom_min, 1),
                "rom_max": round(rep.rom_max, 1),
                "angle_name": rep.angle_name,
                "flags": [],
                "partial": False,
            },
            qos=1,
        )
        self._publish_state()

    # -- commands --------------------------------------------------------------------------------

    def _on_command(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            command = json.loads(message.payload)
        except ValueError:
            command = None
        ok, error = True, None
        name = command.get("cmd") if isinstance(command, dict) else None
        if not isinstance(command, dict):
            ok, error = False, "malformed command"
        elif name == "reset":
            with self._lock:
                self.count = 0
                self.session += 1
        elif name == "set_exercise":
            if command.get("exercise") in EXERCISES:
                self._state_exercise = command["exercise"]
            else:
                ok, error = False, f"unknown exercise {command.get('exercise')!r}"
        else:
            ok, error = False, f"unknown command {name!r}"
        if isinstance(command, dict):
            self.commands.append(command)
        with self._lock:
            state = self.state()
        self._pub(
            "cmd/result",
            {
                "id": command.get("id") if isinstance(command, dict) else None,
                "cmd": name,
                "ok": ok,
                "error": error,
                "state": state,
            },
            qos=1,
        )
        self._pub("state", state, qos=1, retain=True)
