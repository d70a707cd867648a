#!/usr/bin/env python3
"""Soak benchmark: run the daemon over a looped clip for a long time; report memory growth and latency.

The daemon runs as in production (``Daemon`` + ``run_service``: capture, inference and publishing
threads; the clip played in real time like a camera, looped), with the real BlazePose pipeline or
the scripted estimator (MediaPipe's recorded poses, for a run without the model's CPU cost), the
silhouette stage, and either a publisher that rate-limits and serialises every message as the MQTT
one would but sends nothing, or (``--publisher mqtt``) the real ``MqttPublisher`` to an embedded
mosquitto. Every ``--sample-every`` seconds it samples RSS, Python's allocated blocks, frames,
skipped frames and latency.

Report (text, and JSON with ``--json``): RSS at start (after the warm-up) and at the end, the RSS
slope in MB per hour (least squares over the samples after warm-up), whole-run latency p50/p99
(capture to publish call, from the daemon's histogram), frames per second, skipped frames.

Examples::

    python scripts/soak.py --clip clip.mp4                        # 10 minutes, BlazePose lite
    python scripts/soak.py --estimator scripted --duration 60     # no model: runtime only
    python scripts/soak.py --duration 3600 --json soak.json --max-slope-mb-h 5
    python scripts/soak.py --publisher mqtt                          # through a real broker

Exit code 1 when ``--max-slope-mb-h`` is given and exceeded (or the daemon failed), else 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.camera import CameraSettings, open_camera_source  # noqa: E402
from edge.daemon import Daemon, DaemonSettings, PoseMaskSilhouettes, run_service  # noqa: E402
from edge.daemon.session import RateLimiter  # noqa: E402
from edge.health import ThermalProbe, rss_mb  # noqa: E402
from edge.pose import Pose  # noqa: E402

log = logging.getLogger("soak")

DEFAULT_CLIP = "squat/nowva_squats.mp4"


class SerialisingPublisher:
    """Publisher that does the CPU work of the MQTT one (rate limits, JSON payloads) and counts,
    without a broker."""

    def __init__(self, pose_hz: float, silhouette_hz: float) -> None:
        self._pose_limit = RateLimiter(pose_hz)
        self._silhouette_limit = RateLimiter(silhouette_hz)
        self.counts: dict[str, int] = {}
        self.bytes = 0
        self.connected = True
        self.outbox_size = 0

    def _count(self, topic: str, payload: Any) -> None:
        self.counts[topic] = self.counts.get(topic, 0) + 1
        self.bytes += len(json.dumps(payload, separators=(",", ":")))

    def start(self) -> None:
        pass

    def stop(self, timeout: float) -> None:
        pass

    def publish_state(self, state: dict[str, Any]) -> None:
        self._count("state", state)

    def publish_pose(
        self, pose: Pose | None, frame: int, t: float, image_size: tuple[int, int] | None = None
    ) -> None:
        if self._pose_limit.due(time.monotonic()):
            self._count("pose", {"frame": frame, "t": t, **(pose.to_json() if pose is not None else {})})

    def publish_rep(self, event: dict[str, Any], session: str) -> None:
        self._count("rep", {"session": session, **event})

    def publish_silhouette(self, silhouette: dict[str, Any] | None, frame: int) -> None:
        if self._silhouette_limit.due(time.monotonic()):
            self._count("silhouette", {"frame": frame, **(silhouette or {})})

    def publish_stats(self, stats: dict[str, Any]) -> None:
        self._count("stats", stats)

    def set_command_handler(self, handler: Any) -> None:
        pass


class NoReps:
    """Stand-in until ``edge.reps`` is available: counts nothing."""

    count = 0
    phase = "idle"
    exercise = "none"

    def update(self, pose: Pose | None, t: float) -> None:
        return None

    def set_exercise(self, name: str) -> None:
        self.exercise = name

    def reset(self) -> None:
        pass


@dataclass
class Sample:
    t: float
    rss_mb: float
    py_blocks: int
    frames: int
    skipped: int
    p50_ms: float | None
    p99_ms: float | None
    cpu_temp_c: float | None


@dataclass
class Sampler:
    """Samples the daemon every ``every_s`` seconds until ``stop_event``, and once more right then
    (before the daemon shuts down, so the last sample is not taken after the model was released)."""

    daemon: Daemon
    every_s: float
    stop_event: threading.Event
    samples: list[Sample] = field(default_factory=list)

    def run(self) -> None:
        thermal = ThermalProbe()
        t0 = time.monotonic()
        while True:
            self._sample(t0, thermal)
            if self.stop_event.wait(self.every_s):
                self._sample(t0, thermal)
                return

    def _sample(self, t0: float, thermal: ThermalProbe) -> None:
        recent = self.daemon.latency.recent((50.0, 99.0))
        sample = Sample(
            t=time.monotonic() - t0,
            rss_mb=rss_mb(),
            # not gc.get_objects(): the list it builds holds a reference to every object, LiteRT's
            # interpreter included, and an invoke() at that moment refuses to run ("There is at
            # least 1 reference to internal data").
            py_blocks=sys.getallocatedblocks(),
            frames=self.daemon.frames,
            skipped=self.daemon.skipped_frames,
            p50_ms=None if recent is None else recent[0],
            p99_ms=None if recent is None else recent[1],
            cpu_temp_c=thermal.read(),
        )
        self.samples.append(sample)
        log.info(
            "t=%6.0f s  rss=%6.1f MB  py_blocks=%8d  frames=%7d  skipped=%6d  p50=%s ms  p99=%s ms",
            sample.t,
            sample.rss_mb,
            sample.py_blocks,
            sample.frames,
            sample.skipped,
            _fmt(sample.p50_ms),
            _fmt(sample.p99_ms),
        )


def build_estimator(args: argparse.Namespace, clip: Path) -> Any:
    if args.estimator == "scripted":
        from edge.daemon import ScriptedPoseEstimator

        reference = Path(args.reference) if args.reference else _reference_for(clip)
        return ScriptedPoseEstimator.from_reference(reference, delay_s=args.scripted_delay_ms / 1000.0)
    from edge.blazepose import EstimatorOptions, PoseEstimator

    return PoseEstimator(
        EstimatorOptions(model=args.model, threads=args.threads, mask_max_side=320, segmentation=True)
    )


def mqtt_publisher(args: argparse.Namespace) -> tuple[Any, Any]:
    """``MqttPublisher`` to an embedded mosquitto on a free port; returns it and the broker's stop."""
    import tempfile

    from edge.config import load
    from edge.mqtt import EmbeddedBroker, MqttPublisher

    workdir = Path(tempfile.mkdtemp(prefix="edge-pose-soak-"))
    (workdir / "config.toml").write_text("")  # never read /etc/edge-pose/config.toml
    broker = EmbeddedBroker(port=0, ws_port=0)
    broker.start()
    config = load(
        workdir / "config.toml",
        env={},
        overrides={
            "device.id": "soak",
            "publish.pose_hz": args.pose_hz,
            "publish.silhouette_hz": args.silhouette_hz,
            "publish.stats_interval_s": 10,
            "publish.outbox_dir": str(workdir / "outbox"),
            "homeassistant.discovery": False,
        },
    )
    log.info("soak: publishing to the embedded broker at %s", broker.url)
    return MqttPublisher(config, broker=broker.address), broker.stop


def build_counter(exercise: str) -> Any:
    try:
        from edge.reps import RepCounter  # type: ignore[attr-defined]
    except ImportError:
        log.warning("edge.reps is not available: counting no reps")
        return NoReps()
    return RepCounter(exercise=exercise) if exercise else RepCounter()


def slope_mb_per_hour(samples: list[Sample]) -> float | None:
    """Least-squares slope of RSS over time, MB per hour (None with fewer than 3 samples)."""
    if len(samples) < 3:
        return None
    t = np.array([s.t for s in samples]) / 3600.0
    rss = np.array([s.rss_mb for s in samples])
    return float(np.polyfit(t, rss, 1)[0])


def report(
    args: argparse.Namespace,
    daemon: Daemon,
    samples: list[Sample],
    elapsed: float,
    publisher: Any,
    clip: Path,
) -> dict[str, Any]:
    warm = [s for s in samples if s.t >= args.warmup] or samples
    lifetime = daemon.latency.lifetime((50.0, 99.0))
    frames = daemon.frames
    return {
        "clip": str(clip),
        "estimator": args.estimator,
        "model": args.model if args.estimator == "blazepose" else None,
        "duration_s": round(elapsed, 1),
        "warmup_s": args.warmup,
        "frames": frames,
        "fps": round(frames / elapsed, 2) if elapsed > 0 else None,
        "skipped_frames": daemon.skipped_frames,
        "skipped_ratio": round(daemon.skipped_frames / max(1, frames + daemon.skipped_frames), 4),
        "latency_ms": {
            "p50": None if lifetime is None else round(lifetime[0], 2),
            "p99": None if lifetime is None else round(lifetime[1], 2),
            "max": round(daemon.latency.max_ms, 2),
            "samples": daemon.latency.count,
        },
        "rss_mb": {
            "start": round(warm[0].rss_mb, 1),
            "end": round(warm[-1].rss_mb, 1),
            "max": round(max(s.rss_mb for s in samples), 1),
            "slope_mb_per_h": _round(slope_mb_per_hour(warm), 3),
        },
        "py_blocks": {"start": warm[0].py_blocks, "end": warm[-1].py_blocks},
        "cpu_temp_c": {"max": max((s.cpu_temp_c for s in samples if s.cpu_temp_c is not None), default=None)},
        "reps": daemon.state()["count"],
        "published": dict(getattr(publisher, "counts", None) or getattr(publisher, "counters", {})),
        "inference_errors": daemon.inference_errors,
        "error": None if daemon.error is None else str(daemon.error),
        "samples": [vars(s) for s in samples] if args.json else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", help=f"video to loop (default: the shared footage's {DEFAULT_CLIP})")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds to run (default 600)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds excluded from the RSS slope (default: 10%% of the duration, <= 60)",
    )
    parser.add_argument(
        "--sample-every", type=float, default=None, help="seconds between samples (default ~60 samples)"
    )
    parser.add_argument("--estimator", choices=("blazepose", "scripted"), default="blazepose")
    parser.add_argument("--reference", help="scripted: MediaPipe reference .npz (default: the clip's)")
    parser.add_argument(
        "--scripted-delay-ms", type=float, default=0.0, help="scripted: inference time to simulate"
    )
    parser.add_argument("--model", default="lite", help="blazepose: lite | full | heavy")
    parser.add_argument("--threads", type=int, default=2, help="blazepose: XNNPACK threads")
    parser.add_argument("--exercise", default="", help="rep counter exercise (default: the counter's own)")
    parser.add_argument("--fast", action="store_true", help="play the clip as fast as possible (lossless)")
    parser.add_argument("--pose-hz", type=float, default=10.0)
    parser.add_argument("--silhouette-hz", type=float, default=2.0)
    parser.add_argument(
        "--publisher",
        choices=("serialise", "mqtt"),
        default="serialise",
        help="serialise: build the JSON payloads, send nothing; mqtt: the real MqttPublisher to an "
        "embedded mosquitto on a free loopback port (needs the mosquitto package)",
    )
    parser.add_argument("--json", help="also write the report (with all samples) to this file")
    parser.add_argument("--max-slope-mb-h", type=float, default=None, help="fail when RSS grows faster")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log.setLevel(logging.INFO)
    if args.warmup is None:
        args.warmup = min(60.0, 0.1 * args.duration)
    every = args.sample_every or max(1.0, args.duration / 60.0)

    clip = Path(args.clip) if args.clip else _shared() / "footage" / DEFAULT_CLIP
    if not clip.is_file():
        parser.error(f"{clip}: no such clip (give --clip)")
    opened = open_camera_source(CameraSettings(uri=str(clip), realtime=not args.fast, loop=True))
    estimator = build_estimator(args, clip)
    from edge.silhouette import SilhouetteExtractor

    closers: list[Any] = [estimator.close]
    if args.publisher == "mqtt":
        publisher, stop_broker = mqtt_publisher(args)
        closers.append(stop_broker)
    else:
        publisher = SerialisingPublisher(args.pose_hz, args.silhouette_hz)
    daemon = Daemon(
        opened.source,
        estimator,
        build_counter(args.exercise),
        publisher,
        DaemonSettings(
            device_id="soak",
            source_label=opened.label,
            lossless=opened.lossless,
            pose_hz=args.pose_hz,
            silhouette_hz=args.silhouette_hz,
            stats_interval_s=10.0,
            model=args.model,
        ),
        silhouette=PoseMaskSilhouettes(SilhouetteExtractor()),
    )
    stop = threading.Event()
    sampler = Sampler(daemon, every, stop)
    sampling = threading.Thread(target=sampler.run, name="soak-sampler", daemon=True)
    timer = threading.Timer(args.duration, stop.set)
    timer.daemon = True
    log.info(
        "soak: %s for %.0f s (%s estimator), sampling every %.0f s",
        clip.name,
        args.duration,
        args.estimator,
        every,
    )
    t0 = time.monotonic()
    sampling.start()
    timer.start()
    code = run_service(daemon, publisher, closers=closers, stop_event=stop)
    elapsed = time.monotonic() - t0
    timer.cancel()
    stop.set()  # also when the daemon ended by itself
    sampling.join(5.0)
    result = report(args, daemon, sampler.samples, elapsed, publisher, clip)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    result.pop("samples", None)
    print(_text(result))
    slope = result["rss_mb"]["slope_mb_per_h"]
    if code != 0:
        return 1
    if args.max_slope_mb_h is not None and slope is not None and slope > args.max_slope_mb_h:
        print(f"FAIL: RSS grows {slope:.2f} MB/h > {args.max_slope_mb_h} MB/h", file=sys.stderr)
        return 1
    return 0


def _text(r: dict[str, Any]) -> str:
    lat, rss = r["latency_ms"], r["rss_mb"]
    return "\n".join(
        [
            f"clip            {r['clip']}",
            f"estimator       {r['estimator']}{' ' + r['model'] if r['model'] else ''}",
            f"duration        {r['duration_s']} s (warm-up {r['warmup_s']:.0f} s)",
            f"frames          {r['frames']}  ({r['fps']} fps)",
            f"skipped frames  {r['skipped_frames']}  ({100 * r['skipped_ratio']:.1f} %)",
            f"latency         p50 {_fmt(lat['p50'])} ms, p99 {_fmt(lat['p99'])} ms, "
            f"max {_fmt(lat['max'])} ms ({lat['samples']} publish calls)",
            f"RSS             {rss['start']} -> {rss['end']} MB (max {rss['max']}), "
            f"slope {_fmt(rss['slope_mb_per_h'])} MB/h",
            f"python blocks   {r['py_blocks']['start']} -> {r['py_blocks']['end']} (sys.getallocatedblocks)",
            f"cpu temp max    {_fmt(r['cpu_temp_c']['max'])} C",
            f"reps counted    {r['reps']}",
            f"published       {r['published']}",
            f"errors          {r['inference_errors']} inference errors; {r['error'] or 'no fatal error'}",
        ]
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _shared() -> Path:
    return Path(os.environ.get("EDGE_POSE_SHARED", REPO.parent / "shared"))


def _reference_for(clip: Path) -> Path:
    footage = _shared() / "footage"
    try:
        relative = clip.resolve().relative_to(footage.resolve())
    except ValueError:
        relative = Path(DEFAULT_CLIP) if clip.name == Path(DEFAULT_CLIP).name else Path(clip.name)
    return (_shared() / "reference" / relative).with_suffix(".npz")


if __name__ == "__main__":
    sys.exit(main())
