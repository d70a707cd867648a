"""The daemon's threads: capture -> inference -> publishing, plus an optional display feeder.

::

    capture thread        inference thread                       publishing thread
    source.read() ──► FrameSlot ──► estimate ─► reps ─► Outgoing ──► publisher.publish_*()
     (retries,         (newest      silhouette (rate-    (bounded:     latency = publish call
      backoff)          frame;      limited), state      rep FIFO,     - capture time; stats
                        skipped     changes, watchdog    latest-value  every interval, STATUS=
                        counted)                          slots)
                                      └─► LatestValue ──► display thread ──► display.show()

* Inference always takes the newest frame; frames overwritten in the slot are counted as skipped.
  For files played as fast as possible (``lossless``) the capture thread waits instead: every
  frame is processed, so counts are deterministic.
* Neither a slow broker nor a slow LCD can slow inference: they sit behind bounded queues and
  latest-value slots in their own threads.
* Commands (``CommandHandler``) arrive on the MQTT client's thread; they take the same lock as the
  per-frame rep-counter update, so they apply between two frames.
* The systemd watchdog is pinged from the inference loop, only while frames are processed (or
  while the camera is reported down and the capture thread is demonstrably retrying), and only
  while the publishing thread is alive: a hung camera, model or publisher gets the service restarted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.camera.status import SourceStatus
from edge.daemon.handoff import END, CapturedFrame, FrameSlot, LatestValue
from edge.daemon.metrics import LatencyRecorder, RateMeter
from edge.daemon.outgoing import Batch, Outgoing, PoseMessage, RepMessage, SilhouetteMessage
from edge.daemon.protocols import (
    DisplaySink,
    Notifier,
    PoseEstimatorLike,
    Publisher,
    RepCounterLike,
    SilhouetteStage,
)
from edge.daemon.session import RateLimiter, Session, parse_rate
from edge.errors import CameraError, CommandError, EdgeError, ModelError
from edge.health import ThermalProbe, rss_mb
from edge.pose import Pose
from edge.sources import Frame, FrameSource

log = logging.getLogger(__name__)

#: ``state.status`` values (CONTRACT.md).
STARTING, RUNNING, CAMERA_ERROR, STOPPING = "starting", "running", "camera_error", "stopping"


@dataclass(frozen=True)
class DaemonSettings:
    """How the runtime behaves; the composition root fills it from the configuration.

    Attributes:
        device_id: ``device.id``.
        source_label: ``state.source``, e.g. ``picamera2 0`` (no credentials).
        exercise: ``reps.exercise``; ``state.exercise`` shows it until ``auto`` has recognised one.
        lossless: process every frame (files played as fast as possible) instead of the newest.
        pose_hz: ``publish.pose_hz`` (0 = off); changeable by command.
        silhouette_hz: ``publish.silhouette_hz`` (0 = off); changeable by command.
        stats_interval_s: ``publish.stats_interval_s``.
        model: ``pose.model`` for the stats message.
        delegate: ``pose.delegate`` for the stats message.
        state_min_interval_s: ``state`` changes are coalesced to at most one message per this.
        heartbeat_stale_s: a thread silent for longer counts as hung (no watchdog ping).
        max_consecutive_errors: inference failing this many frames in a row stops the daemon
            with an error (systemd restarts it).
        max_pose_hz: highest ``pose_hz`` that ``set_rates`` accepts (``edge.config.POSE_HZ_MAX``).
        max_silhouette_hz: highest ``silhouette_hz`` (``edge.config.SILHOUETTE_HZ_MAX``).
        rep_capacity: rep events held while the publisher is stuck.
    """

    device_id: str = "edge-pose"
    source_label: str = ""
    exercise: str = "auto"
    lossless: bool = False
    pose_hz: float = 10.0
    silhouette_hz: float = 2.0
    stats_interval_s: float = 10.0
    model: str = "lite"
    delegate: str = "cpu"
    state_min_interval_s: float = 0.2
    heartbeat_stale_s: float = 5.0
    max_consecutive_errors: int = 100
    max_pose_hz: float = 60.0
    max_silhouette_hz: float = 30.0
    rep_capacity: int = 1000


class _NullNotifier:
    def ready(self, status: str = "") -> None:
        pass

    def status(self, text: str) -> None:
        pass

    def watchdog(self, force: bool = False) -> bool:
        return False

    def stopping(self, status: str = "") -> None:
        pass


class Daemon:
    """Runs the pipeline over a frame source in threads and serves the MQTT commands.

    The daemon does not own its components: the composition root starts the publisher before
    ``start()`` and stops it (and closes the estimator) after ``stop()``. The capture thread owns
    the source and closes it.

    Args:
        source: frames; a live source should be a ``ReconnectingSource`` whose status callback is
            ``on_source_status``.
        estimator: the pose estimator.
        counter: the rep counter.
        publisher: where results go.
        settings: behaviour.
        silhouette: optional silhouette stage.
        display: optional LCD sink.
        notifier: systemd notifications (watchdog pings come from here).
        thermal: CPU temperature probe.
        clock: monotonic clock (s).
        wall: Unix time (s).
    """

    def __init__(
        self,
        source: FrameSource,
        estimator: PoseEstimatorLike,
        counter: RepCounterLike,
        publisher: Publisher,
        settings: DaemonSettings = DaemonSettings(),
        *,
        silhouette: SilhouetteStage | None = None,
        display: DisplaySink | None = None,
        notifier: Notifier | None = None,
        thermal: ThermalProbe | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._source = source
        self._estimator = estimator
        self._counter = counter
        self._publisher = publisher
        self._silhouette = silhouette
        self._display = display
        self.notifier: Notifier = notifier or _NullNotifier()
        self._thermal = thermal or ThermalProbe()
        self._clock = clock
        self._wall = wall

        self._slot = FrameSlot(lossless=settings.lossless)
        self._outgoing = Outgoing(settings.rep_capacity)
        self._display_slot: LatestValue[tuple[Frame, Pose | None, dict[str, Any], float]] = LatestValue()
        self.latency = LatencyRecorder()

        # state guarded by _lock (shared with command handlers on the MQTT thread)
        self._lock = threading.RLock()
        self._session = Session.begin(active=True, now=wall())
        self._exercise = settings.exercise
        self._status = STARTING
        self._person = False
        self._pose_hz = float(settings.pose_hz)
        self._silhouette_rate = RateLimiter(settings.silhouette_hz)
        self._last_state_key: tuple[Any, ...] | None = None

        self._stop_capture = threading.Event()
        self._stop_inference = threading.Event()
        self._stop_display = threading.Event()
        self._stop_publish = threading.Event()
        self._first_result = threading.Event()
        self.finished = threading.Event()
        self.error: EdgeError | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = False

        now = clock()
        self._started_at = now
        self._capture_beat = now
        self._publisher_beat = now
        self._camera_down = False
        self._pose_seen_t = float("-inf")  # stream time of the last pose / silhouette
        self._silhouette_seen_t = float("-inf")
        self._consecutive_errors = 0
        self.frames = 0
        self.inference_errors = 0
        self._fps = RateMeter(now)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the threads (publishing first, capture last) and publish the initial state."""
        if self._threads:
            raise RuntimeError("daemon already started")
        self._push_state(force=True)
        specs: list[tuple[str, Callable[[], None]]] = [
            ("edge-publish", self._publish_loop),
            ("edge-inference", self._inference_loop),
        ]
        if self._display is not None:
            specs.append(("edge-display", self._display_loop))
        specs.append(("edge-capture", self._capture_loop))
        for name, target in specs:
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def wait_started(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait until the first frame was processed, the camera reported an error, or the daemon ended.

        Returns:
            True when frames flow.
        """
        deadline = self._clock() + timeout
        while self._clock() < deadline:
            if self._first_result.wait(0.05):
                return True
            if self._camera_down or self.finished.is_set() or (stop is not None and stop.is_set()):
                return False
        return self._first_result.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop capture, finish the in-flight frame, publish the final state; within ``timeout`` s.

        The publisher itself is not stopped (the composition root stops it next, which flushes its
        outbox and publishes ``offline``).
        """
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._status = STOPPING
        self._push_state()
        deadline = self._clock() + timeout
        self._stop_capture.set()
        self._join("edge-capture", deadline - 0.5 * timeout)
        self._stop_inference.set()
        self._slot.close()
        self._join("edge-inference", deadline - 0.25 * timeout)
        self._stop_display.set()
        self._display_slot.wake()
        self._join("edge-display", deadline - 0.2 * timeout)
        self._stop_publish.set()
        self._outgoing.wake()
        self._join("edge-publish", deadline)

    def _join(self, name: str, deadline: float) -> None:
        for thread in self._threads:
            if thread.name == name:
                thread.join(max(0.0, deadline - self._clock()))
                if thread.is_alive():
                    log.warning("%s thread did not stop in time; abandoning it", name)

    # -- CommandHandler (called from the MQTT client's thread) ------------------------------

    def reset(self) -> None:
        """Counter to zero; a new session id (rep indices restart, so ids stay unique)."""
        with self._lock:
            self._counter.reset()
            self._session = Session.begin(active=self._session.active, now=self._wall())
        log.info("reset: session %s", self._session.id)
        self._push_state()

    def set_exercise(self, name: str) -> None:
        """Count another exercise (or ``auto``) from now on, in a new session."""
        if not isinstance(name, str) or not name:
            raise CommandError(f"exercise: expected a name, got {name!r}")
        with self._lock:
            try:
                self._counter.set_exercise(name)
                self._exercise = name
            except CommandError:
                raise
            except EdgeError as exc:
                raise CommandError(f"exercise: {exc}") from None
            except (ValueError, KeyError) as exc:
                raise CommandError(f"exercise: unknown {name!r} ({exc})") from None
            self._session = Session.begin(active=self._session.active, now=self._wall())
        log.info("exercise set to %s: session %s", name, self._session.id)
        self._push_state()

    def start_session(self) -> None:
        """A new active session: counter to zero, new id, start time now."""
        with self._lock:
            self._counter.reset()
            self._session = Session.begin(active=True, now=self._wall())
        log.info("session %s started", self._session.id)
        self._push_state()

    def stop_session(self) -> None:
        """End the session: its count freezes; reps are still detected and published."""
        with self._lock:
            self._session.active = False
        log.info("session %s stopped after %d reps", self._session.id, self._session.count)
        self._push_state()

    def set_rates(self, pose_hz: float | None, silhouette_hz: float | None) -> None:
        """New publishing rates (messages per second, 0 = off); None keeps a rate."""
        pose = parse_rate("pose_hz", pose_hz, self.settings.max_pose_hz)
        silhouette = parse_rate("silhouette_hz", silhouette_hz, self.settings.max_silhouette_hz)
        with self._lock:
            if pose is not None:
                self._pose_hz = pose
            if silhouette is not None:
                self._silhouette_rate.set_rate(silhouette)
        log.info("rates: pose %.3g Hz, silhouette %.3g Hz", self._pose_hz, self._silhouette_rate.hz)

    def state(self) -> dict[str, Any]:
        """The ``state`` payload (without ``v``/``ts``, which the publisher adds)."""
        with self._lock:
            return self._state_locked()

    @property
    def rates(self) -> tuple[float, float]:
        """(pose_hz, silhouette_hz) in force."""
        return self._pose_hz, self._silhouette_rate.hz

    # -- source status (called from the capture thread) -------------------------------------

    def on_source_status(self, status: SourceStatus) -> None:
        """``StatusCallback`` for the live source: ``camera_error`` on MQTT while it is down."""
        with self._lock:
            self._camera_down = not status.ok
            if self._status != STOPPING:
                if not status.ok:
                    self._status = CAMERA_ERROR
                elif self._status == CAMERA_ERROR:
                    self._status = RUNNING if self._first_result.is_set() else STARTING
        self._push_state()

    # -- metrics ---------------------------------------------------------------------------

    @property
    def skipped_frames(self) -> int:
        return self._slot.skipped

    def stats(self) -> dict[str, Any]:
        """The ``stats`` payload (without ``v``/``ts``); ``fps`` is over the last stats interval."""
        now = self._clock()
        recent = self.latency.recent((50.0, 99.0))
        return {
            "fps": round(self._fps.rate, 2),
            "latency_ms": {
                "p50": None if recent is None else round(recent[0], 2),
                "p99": None if recent is None else round(recent[1], 2),
            },
            "frames": self.frames,
            "skipped_frames": self._slot.skipped,
            "cpu_temp_c": self._thermal.read(),
            "rss_mb": round(rss_mb(), 1),
            "uptime_s": round(now - self._started_at, 1),
            "outbox": _outbox_size(self._publisher),
            "model": self.settings.model,
            "delegate": self.settings.delegate,
        }

    def status_line(self) -> str:
        """One line for ``systemctl status``: status, fps, reps."""
        with self._lock:
            status, count = self._status, self._counter.count
        return (
            f"{status}: {self._fps.rate:.1f} fps, {count} reps, "
            f"{self.frames} frames, {self._slot.skipped} skipped"
        )

    # -- threads ---------------------------------------------------------------------------

    def _capture_loop(self) -> None:
        captured = 0
        try:
            while not self._stop_capture.is_set():
                self._capture_beat = self._clock()
                try:
                    frame = self._source.read()
                except CameraError as exc:
                    # the source logs and reports changes itself; keep retrying, stay responsive
                    log.debug("capture: %s", exc)
                    self._stop_capture.wait(0.01)
                    continue
                if frame is None:
                    log.info("source ended after %d frames", captured)
                    break
                captured += 1
                now = self._clock()
                self._capture_beat = now
                if not self._slot.put(CapturedFrame(frame, now), stop=self._stop_capture):
                    break
        except EdgeError as exc:
            self._fail(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must end the daemon visibly, not hang it
            log.exception("capture thread failed")
            self._fail(CameraError(f"capture failed: {type(exc).__name__}: {exc}"))
        finally:
            self._slot.close()
            try:
                self._source.close()
            except Exception as exc:  # noqa: BLE001
                log.warning("closing the source failed: %s", exc)

    def _inference_loop(self) -> None:
        ended = False
        try:
            while not self._stop_inference.is_set():
                item = self._slot.get(timeout=0.25)
                if item is END:
                    ended = True
                    break
                if item is None:
                    self._ping(progress=False)
                    continue
                assert isinstance(item, CapturedFrame)
                self._process(item)
        except EdgeError as exc:
            self._fail(exc)
        except Exception as exc:  # noqa: BLE001
            log.exception("inference thread failed")
            self._fail(ModelError(f"inference failed: {type(exc).__name__}: {exc}"))
        finally:
            self._outgoing.wake()
            if ended:
                self.finished.set()

    def _process(self, item: CapturedFrame) -> None:
        frame = item.frame
        try:
            pose = self._estimator.process(frame)
        except Exception as exc:  # noqa: BLE001 - one bad frame must not stop the service
            self._consecutive_errors += 1
            self.inference_errors += 1
            if self._consecutive_errors == 1 or self.inference_errors % 100 == 0:
                log.warning(
                    "pose estimation failed on frame %d (%d errors so far): %s",
                    frame.index,
                    self.inference_errors,
                    exc,
                )
            if self._consecutive_errors >= self.settings.max_consecutive_errors:
                raise ModelError(
                    f"pose estimation failed on {self._consecutive_errors} frames in a row; last error: {exc}"
                ) from None
            return
        self._consecutive_errors = 0
        t = frame.timestamp
        with self._lock:
            event = self._counter.update(pose, t)
            self._person = pose is not None
            if self._status == STARTING:
                self._status = RUNNING
            if event is not None:
                event_json = event.to_json()
                if self._session.active and not event_json.get("partial"):
                    self._session.count += 1
                self._outgoing.put_rep(RepMessage(event_json, self._session.id, item.captured_at))
            if pose is not None:
                self._pose_seen_t = t
            # every frame's pose is offered (the publisher keeps publish.pose_hz on its own clock);
            # after the person left, nulls are offered for a while so that one gets through
            offer_pose = self._pose_hz > 0 and t - self._pose_seen_t <= _null_window(self._pose_hz)
            silhouette_hz = self._silhouette_rate.hz
            silhouette_due = (
                self._silhouette is not None
                and (pose is not None or t - self._silhouette_seen_t <= _null_window(silhouette_hz))
                and self._silhouette_rate.due(t)
            )
        self._push_state()
        if offer_pose:
            self._outgoing.put_pose(PoseMessage(pose, frame.index, t, item.captured_at, frame.size))
        if silhouette_due and self._silhouette is not None:
            try:
                silhouette = self._silhouette.compute(frame, pose)
            except Exception as exc:  # noqa: BLE001
                log.warning("silhouette failed on frame %d: %s", frame.index, exc)
                silhouette = None
            if silhouette is not None:
                self._silhouette_seen_t = t
            self._outgoing.put_silhouette(SilhouetteMessage(silhouette, frame.index, item.captured_at))
        if self._display is not None:
            self._display_slot.put((frame, pose, self.state(), self._fps.rate))
        self.frames += 1
        self._first_result.set()
        self._ping(progress=True)

    def _ping(self, progress: bool) -> None:
        now = self._clock()
        stale = self.settings.heartbeat_stale_s
        if now - self._publisher_beat > stale:
            return  # the publishing thread is stuck: let systemd restart us
        if progress or (self._camera_down and now - self._capture_beat < stale):
            self.notifier.watchdog()

    def _publish_loop(self) -> None:
        settings = self.settings
        next_stats = self._clock() + settings.stats_interval_s
        last_state = float("-inf")
        while True:
            now = self._clock()
            self._publisher_beat = now
            stopping = self._stop_publish.is_set()
            state_ok = stopping or now - last_state >= settings.state_min_interval_s
            timeout = 0.0 if stopping else min(1.0, max(0.0, next_stats - now))
            if not state_ok and self._outgoing.state_pending:
                timeout = min(timeout, last_state + settings.state_min_interval_s - now)
            self._outgoing.wait(max(0.0, timeout), include_state=state_ok)
            now = self._clock()
            state_ok = state_ok or now - last_state >= settings.state_min_interval_s
            batch = self._outgoing.take(include_state=state_ok)
            if batch.state is not None:
                last_state = now
            self._deliver(batch)
            if now >= next_stats:
                next_stats = max(next_stats + settings.stats_interval_s, now)
                self._publish_stats()
            if stopping and not self._outgoing.wait(0.0, include_state=True):
                self._publish_stats()
                return

    def _deliver(self, batch: Batch) -> None:
        publisher = self._publisher
        for rep in batch.reps:
            self.latency.record(self._clock() - rep.captured_at)
            _call(publisher.publish_rep, rep.event, rep.session)
        if batch.state is not None:
            _call(publisher.publish_state, batch.state)
        if batch.pose is not None:
            message = batch.pose
            self.latency.record(self._clock() - message.captured_at)
            _call(publisher.publish_pose, message.pose, message.frame, message.t, message.image_size)
        if batch.silhouette is not None:
            sil = batch.silhouette
            self.latency.record(self._clock() - sil.captured_at)
            _call(publisher.publish_silhouette, sil.silhouette, sil.frame)

    def _publish_stats(self) -> None:
        self._fps.sample(self.frames, self._clock())
        stats = self.stats()
        _call(self._publisher.publish_stats, stats)
        self.notifier.status(self.status_line())

    def _display_loop(self) -> None:
        display = self._display
        assert display is not None
        failures = 0
        while not self._stop_display.is_set():
            item = self._display_slot.take(timeout=0.5)
            if item is None:
                continue
            try:
                display.show(*item)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - a broken LCD must not stop the counter
                failures += 1
                if failures == 1:
                    log.warning("display failed: %s", exc)

    # -- state -----------------------------------------------------------------------------

    def _state_locked(self) -> dict[str, Any]:
        counter = self._counter
        return {
            "device_id": self.settings.device_id,
            "exercise": counter.exercise or self._exercise,
            "count": int(counter.count),
            "phase": counter.phase,
            "session": self._session.to_json(),
            "person": self._person,
            "status": self._status,
            "source": self.settings.source_label,
        }

    def _push_state(self, force: bool = False) -> None:
        """Queue the state if anything in it changed since the last one queued."""
        with self._lock:
            counter = self._counter
            session = self._session
            key = (
                counter.exercise or self._exercise,
                counter.count,
                counter.phase,
                session.id,
                session.active,
                session.count,
                self._person,
                self._status,
            )
            if not force and key == self._last_state_key:
                return
            self._last_state_key = key
            state = self._state_locked()
        self._outgoing.put_state(state)

    def _fail(self, exc: EdgeError) -> None:
        if self.error is None:
            self.error = exc
            log.error("%s", exc)
        self.finished.set()


def _null_window(hz: float) -> float:
    """Seconds during which "nobody" is still offered after the last person (>= 2.5 periods)."""
    return max(1.0, 2.5 / hz) if hz > 0 else 0.0


def _call(method: Callable[..., Any], *args: Any) -> None:
    try:
        method(*args)
    except Exception as exc:  # noqa: BLE001 - the publisher logs its own errors; never kill the loop
        log.warning("%s failed: %s", getattr(method, "__name__", "publish"), exc)


def _outbox_size(publisher: Publisher) -> int:
    try:
        return int(publisher.outbox_size)
    except Exception:  # noqa: BLE001
        return 0
