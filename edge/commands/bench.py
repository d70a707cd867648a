"""``edge-pose bench``: where the time goes, and how that compares with MediaPipe on the same machine.

For each clip: per-stage milliseconds per frame (video decode, detect, crop, landmark invoke, landmark
decode, mask, smoothing, the estimator's other work; the silhouette from a second pass), end-to-end
frames per second, the pipeline's cost per tracked frame (its whole ``process()`` call) against the
raw ``invoke()`` of the landmark model (the physical limit, sampled in tight blocks through the same
pass), and peak RSS. When MediaPipe's reference build is available (``../shared/tools/ref_setup.sh``),
it runs on the same clip in the same run and the ratio is printed. Machines are noisy: compare ratios
from one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import InputError

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGE_POSE_SHARED", REPO.parent / "shared"))
DEFAULT_CLIPS = ("squat/joelo_squat2.mp4", "squat/rjsong_squat.mp4")
DEMO_CLIP = REPO / "demo" / "nowva_squats.mp4"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "bench",
        help="per-stage timings, fps and memory, beside MediaPipe when available",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "clips", nargs="*", type=Path, help=f"videos (default: {', '.join(DEFAULT_CLIPS)} from ../shared)"
    )
    parser.add_argument("--model", default="lite", choices=["lite", "full", "heavy"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-segmentation", action="store_true")
    parser.add_argument(
        "--mask-max-side", type=int, default=640, help="mask working resolution (0 = frame size)"
    )
    parser.add_argument("--no-silhouette", action="store_true", help="leave the silhouette stage out")
    parser.add_argument(
        "--frames", type=int, default=0, help="stop after this many frames per clip (0 = all)"
    )
    parser.add_argument(
        "--decode",
        choices=["auto", "thread", "interleaved", "inline"],
        default="auto",
        help="how video decoding shares the CPU with inference: auto (as 'edge-pose process' chooses), "
        "thread (ahead, on a thread of its own), interleaved (one FFmpeg thread, between poses), "
        "inline (FFmpeg's frame threads, at the idle scheduling policy)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate edge-pose and MediaPipe this many times per clip; report the median (noisy hosts)",
    )
    parser.add_argument(
        "--reference",
        default="auto",
        help="MediaPipe reference venv (auto: $EDGEREF or the temp folder ref_setup.sh uses; none: skip)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.set_defaults(func=run)


def default_clips() -> list[Path]:
    clips = [SHARED / "footage" / c for c in DEFAULT_CLIPS]
    if all(c.is_file() for c in clips):
        return clips
    return [DEMO_CLIP]


def reference_python(choice: str) -> Path | None:
    if choice == "none":
        return None
    if choice != "auto":
        python = Path(choice) / "bin" / "python"
        if not python.is_file():
            raise InputError(
                f"--reference {choice}: no bin/python there (build it with ../shared/tools/ref_setup.sh)"
            )
        return python
    venv = os.environ.get("EDGEREF") or str(Path(tempfile.gettempdir()) / "edgeref")
    python = Path(venv) / "bin" / "python"
    return python if python.is_file() and (SHARED / "tools" / "mp_reference.py").is_file() else None


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kilobytes on Linux


def timed_invokes(model: Any, count: int) -> list[float]:
    """Seconds of each of ``count`` bare ``invoke()`` calls back to back, on the input the model holds."""
    times = []
    for _ in range(count):
        start = time.perf_counter()
        model.invoke()
        times.append(time.perf_counter() - start)
    return times


def best_invoke_batch_ms(model: Any, batches: int = 5, repeats: int = 40) -> float:
    """A model's bare ``invoke()`` time on a fixed input in a tight loop, in milliseconds.

    The lowest of ``batches`` medians of ``repeats`` invokes: a busy spell of a shared host (one second
    of it can double the time) spoils a batch, not the limit. Taken after a pass, this is the best case
    of one second of the host; ``invoke_block`` samples the limit through the pass instead.
    """
    model.set_image(np.full((*model.input_shape[1:3], 3), 127, np.uint8), 0.0, 1.0)
    for _ in range(10):
        model.invoke()
    medians = [float(np.median(timed_invokes(model, repeats))) for _ in range(batches)]
    return min(medians) * 1000


#: The landmark model's bare ``invoke()`` is sampled through the pose pass, so that the limit and the
#: tracked frames it is compared with see the same spells of a shared host: after every
#: ``INVOKE_BLOCK_EVERY``-th frame (and once at the end), a pause of ``INVOKE_BLOCK_SETTLE_S`` lets the
#: decoder's threads go idle, then ``INVOKE_BLOCK_INVOKES`` invokes run back to back, of which the first
#: ``INVOKE_BLOCK_WARMUP`` (waking the interpreter's threads after the pause) are not kept.
INVOKE_BLOCK_EVERY = 30
INVOKE_BLOCK_SETTLE_S = 0.02
INVOKE_BLOCK_INVOKES = 13
INVOKE_BLOCK_WARMUP = 3


def invoke_block(model: Any) -> list[float]:
    """One tight block of bare ``invoke()`` calls on the input the model holds, after a settling pause.

    Returns:
        Seconds of each invoke after the warm-up ones (``INVOKE_BLOCK_INVOKES - INVOKE_BLOCK_WARMUP``).
        The model's outputs are overwritten; its input is not.
    """
    time.sleep(INVOKE_BLOCK_SETTLE_S)
    return timed_invokes(model, INVOKE_BLOCK_INVOKES)[INVOKE_BLOCK_WARMUP:]


def open_clip(path: Path, args: argparse.Namespace) -> Any:
    """The clip's frame source, decoded as ``--decode`` says (auto: as ``edge-pose process`` does)."""
    from edge.sources import InterleavedSource, PrefetchingSource, VideoFileSource, schedule_decoding

    if args.decode == "auto":
        return schedule_decoding(VideoFileSource(path), args.threads)
    if args.decode == "thread":
        return PrefetchingSource(VideoFileSource(path))
    if args.decode == "interleaved":
        return InterleavedSource(VideoFileSource(path, decoder_threads=1))
    return VideoFileSource(path)


def decoding_name(source: Any) -> str:
    from edge.sources import InterleavedSource, PrefetchingSource

    if isinstance(source, InterleavedSource):
        return "between poses"
    return "on its own thread" if isinstance(source, PrefetchingSource) else "inline"


def bench_pass(path: Path, args: argparse.Namespace, *, silhouettes: bool) -> dict[str, Any]:
    """One pass over a clip: frames, wall time, per-stage seconds, tracked-frame costs, the estimator.

    Without silhouettes, the pass also samples the landmark model's bare ``invoke()`` (``invoke_block``)
    after every ``INVOKE_BLOCK_EVERY``-th frame and at the end: the blocks' time is left out of the wall
    time, and the frame after each block out of the tracked-frame costs.
    """
    from edge.blazepose import STAGES, EstimatorOptions, PoseEstimator
    from edge.silhouette import SilhouetteExtractor
    from edge.sources import decode_next

    estimator = PoseEstimator(
        EstimatorOptions(
            model=args.model,
            threads=args.threads,
            segmentation=not args.no_segmentation,
            mask_max_side=args.mask_max_side,
        )
    )
    extractor = SilhouetteExtractor() if silhouettes else None
    sample_invokes = not silhouettes
    source = open_clip(path, args)
    decode = silhouette = blocks = estimating = 0.0
    frames = 0
    tracked_costs: list[float] = []  # seconds of the whole ``process()`` call, per tracked frame
    invoke_samples: list[float] = []  # seconds of bare invokes, sampled through the pass
    after_block = False
    size: list[int] | None = None
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        frame = source.read()
        decode += time.perf_counter() - t0
        if frame is None or (args.frames and frames >= args.frames):
            break
        size = size or list(frame.size)
        detections_before = estimator.detections_run
        before = time.perf_counter()
        pose = estimator.process(frame)
        cost = time.perf_counter() - before
        estimating += cost
        frames += 1
        if estimator.detections_run == detections_before and pose is not None and not after_block:
            tracked_costs.append(cost)
        after_block = sample_invokes and frames % INVOKE_BLOCK_EVERY == 0
        if after_block:  # before the next frame's decoding starts
            t1 = time.perf_counter()
            invoke_samples += invoke_block(estimator.landmarker.model)
            blocks += time.perf_counter() - t1
        decode_next(source)
        if extractor is not None and pose is not None and pose.mask is not None:
            t1 = time.perf_counter()
            extractor.extract(pose.mask, pose.landmarks)
            silhouette += time.perf_counter() - t1
    wall = time.perf_counter() - start - blocks
    source.close()
    if sample_invokes:
        invoke_samples += invoke_block(estimator.landmarker.model)
    stages = {"decode (wait)": decode} | {s: estimator.stage_seconds.get(s, 0.0) for s in STAGES}
    # The estimator's own work between its stages (checks, bookkeeping, handing the next crop's plan to
    # its worker thread, building the ``Pose``): part of every frame's cost, so it is shown too.
    stages["other"] = max(0.0, estimating - sum(stages[s] for s in STAGES))
    return {
        "size": size,
        "frames": frames,
        "wall": wall,
        "stages": stages,
        "silhouette": silhouette,
        "tracked_costs": tracked_costs,
        "invoke_samples": invoke_samples,
        "estimator": estimator,
        "decoding": decoding_name(source),
    }


def bench_clip(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Bench one clip: the pose pipeline as MediaPipe's reference runs it (pose and mask), then, unless
    left out, the same with silhouettes in a second pass.

    Two passes, because decoding between poses overlaps the silhouette stage: one pass could not
    tell the pose pipeline's frame rate by subtracting the silhouette's time.
    """
    pose_pass = bench_pass(path, args, silhouettes=False)
    estimator, frames = pose_pass.pop("estimator"), max(pose_pass["frames"], 1)
    best_batch = best_invoke_batch_ms(estimator.landmarker.model)
    detector_runs = estimator.detections_run
    estimator.close()  # one model in memory at a time: the peak is the pose pipeline's
    del estimator
    peak_rss = peak_rss_mb()
    per_frame = {name: seconds / frames * 1000 for name, seconds in pose_pass["stages"].items()}
    fps = pose_pass["frames"] / pose_pass["wall"] if pose_pass["wall"] > 0 else 0.0
    fps_with_silhouette = None
    if not (args.no_segmentation or args.no_silhouette):
        silhouette_pass = bench_pass(path, args, silhouettes=True)
        silhouette_pass.pop("estimator").close()
        per_frame["silhouette"] = silhouette_pass["silhouette"] / max(silhouette_pass["frames"], 1) * 1000
        if silhouette_pass["wall"] > 0:
            fps_with_silhouette = silhouette_pass["frames"] / silhouette_pass["wall"]
    # Cost of a tracked frame: the whole ``process()`` call of a frame that tracking took without the
    # detector (every pose stage and the estimator's work between them; not the video decoding). The
    # median over tracked frames against the median of the invokes sampled through the same pass: the
    # typical frame against the typical invoke at the same times. (Against the best batch after the
    # pass, the ratio also carries the host's spells: the best second of the host against all of them.)
    # The mean follows every busy spell of the host.
    tracked_costs = pose_pass["tracked_costs"]
    limit = float(np.median(pose_pass["invoke_samples"])) * 1000
    detect_per_call = pose_pass["stages"]["detect"] / max(detector_runs, 1)
    pipeline_ms = float(np.median(tracked_costs)) * 1000 if tracked_costs else 0.0
    mean_ms = float(np.mean(tracked_costs)) * 1000 if tracked_costs else 0.0
    return {
        "clip": str(path),
        "size": pose_pass["size"],
        "frames": pose_pass["frames"],
        "detector_runs": detector_runs,
        "decoding": pose_pass["decoding"],
        "fps": fps,
        "fps_with_silhouette": fps_with_silhouette,
        "stage_ms": per_frame,
        "detect_ms_per_run": detect_per_call * 1000,
        "tracked_frames": len(tracked_costs),
        "tracked_frame_ms": pipeline_ms,
        "tracked_frame_mean_ms": mean_ms,
        "invoke_ms": limit,
        "invoke_samples": len(pose_pass["invoke_samples"]),
        "invoke_best_batch_ms": best_batch,
        "tracked_over_invoke": pipeline_ms / limit if limit else None,
        "tracked_over_best_batch": pipeline_ms / best_batch if best_batch else None,
        "peak_rss_mb": peak_rss,
    }


#: Runs the reference script as ``__main__``, then writes the process's own peak RSS (``VmHWM``, kB) to
#: the file named by its first argument. ``ru_maxrss`` would not do: a child spawned by vfork and exec
#: inherits the parent's peak at the exec, so a reference smaller than this process would show our size.
_PEAK_RSS_WRAPPER = """
import runpy, sys
peak_file, sys.argv = sys.argv[1], sys.argv[2:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    try:
        with open("/proc/self/status") as status:
            peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
        with open(peak_file, "w") as out:
            out.write(peak)
    except (OSError, StopIteration):
        pass
"""


#: MediaPipe's ``model_complexity`` for each of our landmark models (the same .tflite files).
MODEL_COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


def run_reference(
    python: Path,
    clip: Path,
    frames: int,
    script: Path = SHARED / "tools" / "mp_reference.py",
    *,
    model: str = "lite",
    segmentation: bool = True,
) -> dict[str, Any] | None:
    """Run MediaPipe's reference (``script`` in the ``python`` of its venv) on a clip, with the same
    landmark model (``model``: lite, full or heavy) and segmentation choice as the edge-pose side.

    Returns:
        Its result line (``fps`` among others) plus ``peak_rss_mb``, its own peak resident memory in MB
        (None where ``/proc`` does not tell); None when it fails.
    """
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak_kb"
        command = [str(python), "-c", _PEAK_RSS_WRAPPER, str(peak_file), str(script), str(clip)]
        command += ["--out", str(Path(tmp) / "ref.npz"), "--complexity", str(MODEL_COMPLEXITY[model])]
        if not segmentation:
            command.append("--no-segmentation")
        if frames:
            command += ["--max-frames", str(frames)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log.warning("MediaPipe reference failed on %s: %s", clip, done.stderr.strip().splitlines()[-1:])
            return None
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        peak = peak_file.read_text().strip() if peak_file.is_file() else ""
        result["peak_rss_mb"] = int(peak) / 1024.0 if peak.isdigit() else None
        return result


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median edge-pose/MediaPipe ratio (or median fps without MediaPipe), with every
    round's figures under ``rounds`` and ``tracked_over_invoke_median``, the median over the rounds of
    the tracked frame against the raw invoke (each round's own ratio: a busy spell can halve or double
    one round's limit or tracked frame, and the round with the median fps need not be a typical one);
    ``tracked_over_best_batch_median`` likewise against each round's best batch after its pass."""
    if len(rounds) == 1:
        return rounds[0]

    def key(row: dict[str, Any]) -> float:
        ref = row.get("mediapipe")
        return float(row["fps"] / ref["fps"]) if ref else float(row["fps"])

    ordered = sorted(rounds, key=key)
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rounds"] = [
        {
            "fps": r["fps"],
            "mediapipe_fps": (r.get("mediapipe") or {}).get("fps"),
            "ratio": key(r) if r.get("mediapipe") else None,
            "tracked_over_invoke": r["tracked_over_invoke"],
            "tracked_over_best_batch": r.get("tracked_over_best_batch"),
        }
        for r in rounds
    ]
    for statistic in ("tracked_over_invoke", "tracked_over_best_batch"):
        ratios = [r[statistic] for r in rounds if r.get(statistic)]
        chosen[f"{statistic}_median"] = float(np.median(ratios)) if ratios else None
    return chosen


def print_report(rows: list[dict[str, Any]], out: Any = sys.stdout) -> None:
    for row in rows:
        width, height = row["size"] or (0, 0)
        print(
            f"\n{Path(row['clip']).name} ({width}x{height}, {row['frames']} frames, "
            f"detector ran {row['detector_runs']}x, "
            f"decoded {row.get('decoding', 'inline')})",
            file=out,
        )
        for stage, ms in row["stage_ms"].items():
            print(f"  {stage:16s} {ms:7.3f} ms/frame", file=out)
        print(f"  {'detector (per run)':16s} {row['detect_ms_per_run']:7.3f} ms", file=out)
        print(
            f"  tracked frame {row['tracked_frame_ms']:.2f} ms (median; mean "
            f"{row['tracked_frame_mean_ms']:.2f}) = {row['tracked_over_invoke']:.2f} x raw landmark invoke "
            f"({row['invoke_ms']:.2f} ms, median of {row['invoke_samples']} through the pass); "
            f"{row['tracked_over_best_batch']:.2f} x its best batch after it "
            f"({row['invoke_best_batch_ms']:.2f} ms)",
            file=out,
        )
        with_silhouettes = row.get("fps_with_silhouette")
        extra = f" ({with_silhouettes:.1f} with silhouettes)" if with_silhouettes else ""
        print(
            f"  edge-pose      {row['fps']:7.1f} fps{extra}   peak RSS {row['peak_rss_mb']:.0f} MB",
            file=out,
        )
        ref = row.get("mediapipe")
        if len(row.get("rounds", [])) > 1:
            ratios = [r["ratio"] for r in row["rounds"] if r["ratio"]]
            if ratios:
                print(
                    f"  rounds: edge-pose/MediaPipe {', '.join(f'{r:.2f}' for r in ratios)} (median shown)",
                    file=out,
                )
            for statistic, name in (
                ("tracked_over_invoke", "raw invoke"),
                ("tracked_over_best_batch", "best invoke batch"),
            ):
                ratios = [r[statistic] for r in row["rounds"] if r.get(statistic)]
                if ratios and row.get(f"{statistic}_median"):
                    print(
                        f"  rounds: tracked frame / {name} {', '.join(f'{r:.2f}' for r in ratios)} "
                        f"(median {row[f'{statistic}_median']:.2f})",
                        file=out,
                    )
        if ref:
            rss = f"   peak RSS {ref['peak_rss_mb']:.0f} MB" if ref.get("peak_rss_mb") else ""
            print(
                f"  MediaPipe      {ref['fps']:7.1f} fps{rss}   "
                f"-> edge-pose is {row['fps'] / ref['fps']:.2f}x",
                file=out,
            )
        else:
            print("  MediaPipe      not run (no reference build; see ../shared/tools/ref_setup.sh)", file=out)


def run(args: argparse.Namespace) -> int:
    clips = args.clips or default_clips()
    for clip in clips:
        if not clip.is_file():
            raise InputError(f"{clip}: no such video")
    if args.rounds < 1:
        raise InputError(f"--rounds must be at least 1, got {args.rounds}")
    reference = reference_python(args.reference)
    rows = []
    for clip in clips:
        rounds = []
        for _ in range(args.rounds):  # alternate, so that a busy spell on the host hits both sides
            row = bench_clip(clip, args)
            if reference is not None:
                row["mediapipe"] = run_reference(
                    reference, clip, args.frames, model=args.model, segmentation=not args.no_segmentation
                )
            rounds.append(row)
        rows.append(median_round(rounds))
    print_report(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0
