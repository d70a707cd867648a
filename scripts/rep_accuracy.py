#!/usr/bin/env python3
"""Measure repetition counting against the human labels of the shared footage.

Runs ``RepCounter`` over every labelled clip of a supported exercise, with the labelled exercise
given explicitly and with ``auto``, each on the clip and on its mirror image, and prints the
per-clip table, the acceptance figures (exact on >= 90 % and within one on all, per column),
auto's recognition accuracy and confusion, and the counter's cost in milliseconds per frame.

Where the pose streams come from:

* default: the MediaPipe reference (``<shared>/reference/<clip>.npz``); the mirror image is the
  geometric mirror of those poses (``Pose.mirrored``).
* ``--streams DIR``: edge-pose's own poses of the clip and of the video flipped left-right before
  pose estimation, ``DIR/normal/<clip>.jsonl`` and ``DIR/mirrored/<clip>.jsonl`` (JSON lines as
  ``edge-pose process`` writes them, e.g. ``DIR/normal/squat/nowva_squats.jsonl``). This is what a
  mirrored camera delivers, and the figures the README quotes.
* ``--jsonl DIR``: one folder of pipeline streams, mirrored geometrically.

    python scripts/rep_accuracy.py                          # labelled clips, reference poses
    python scripts/rep_accuracy.py --streams /tmp/streams   # pipeline, normal and flipped videos
    python scripts/rep_accuracy.py --streams /tmp/streams --all   # also unlabelled clips
    python scripts/rep_accuracy.py --events squat/nowva_squats.mp4 --exercise squat
    python scripts/rep_accuracy.py --streams /tmp/streams --events pushup/joelo_pushup.mp4 --mirror
    python scripts/rep_accuracy.py --all --write-table tests/reps/expected_counts.tsv
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.errors import EdgeError, InputError  # noqa: E402
from edge.reps import RepCounter  # noqa: E402
from edge.reps.evaluation import (  # noqa: E402
    ClipResult,
    CounterCost,
    evaluate_pair,
    guess_exercise,
    meets_bar,
    read_labels,
    score,
    write_table,
)
from edge.reps.exercises import EXERCISES  # noqa: E402
from edge.reps.streams import Stream, load_stream, mirrored  # noqa: E402

COLUMNS = ("explicit", "explicit_mirrored", "auto", "auto_mirrored")


def _stream_path(args: argparse.Namespace, clip: str, flipped: bool = False) -> Path:
    """Where the pose stream of ``clip`` (or of its flipped video, with ``--streams``) is."""
    stem = clip.rsplit(".", 1)[0]
    if args.streams:
        return Path(args.streams) / ("mirrored" if flipped else "normal") / f"{stem}.jsonl"
    if args.jsonl:
        return Path(args.jsonl) / f"{stem}.jsonl"
    return Path(args.shared) / "reference" / f"{stem}.npz"


def _streams(args: argparse.Namespace, clip: str) -> tuple[Stream, Stream] | None:
    """The clip's stream and its mirror image's, None if a file is missing."""
    path = _stream_path(args, clip)
    if not path.exists():
        return None
    normal = load_stream(path)
    if not args.streams:
        return normal, mirrored(normal)
    flipped_path = _stream_path(args, clip, flipped=True)
    return (normal, load_stream(flipped_path)) if flipped_path.exists() else None


def _clips(args: argparse.Namespace) -> list[tuple[str, str, int, int]]:
    """(clip, exercise, reps, reps_max) to measure; reps -1 for unlabelled clips."""
    labels = read_labels(Path(args.shared) / "footage" / "labels.tsv")
    rows = [(lab.clip, lab.exercise, lab.reps, lab.reps_max) for lab in labels if lab.supported or args.all]
    if args.all:
        known = {lab.clip for lab in labels}
        if args.streams:
            root, suffix = Path(args.streams) / "normal", ".jsonl"
        elif args.jsonl:
            root, suffix = Path(args.jsonl), ".jsonl"
        else:
            root, suffix = Path(args.shared) / "reference", ".npz"
        for path in sorted(root.glob(f"*/*{suffix}")):
            clip = f"{path.parent.name}/{path.stem}.mp4"
            if path.parent.name != "stills" and clip not in known:
                rows.append((clip, guess_exercise(clip), -1, -1))
    return rows


def _mark(result: ClipResult, count: int) -> str:
    if not result.labelled or result.exercise not in EXERCISES:
        return " "
    if result.reps <= count <= result.reps_max:
        return " "
    return "~" if result.reps - 1 <= count <= result.reps_max + 1 else "!"


def _print_table(results: list[ClipResult]) -> None:
    head = ("clip", "label", "reps", "count", "mirror", "auto", "mirror")
    print("{:52} {:15} {:>7} {:>6} {:>6}  {:>5} {:>6}  auto exercise".format(*head))
    for r in results:
        reps = f"{r.reps}-{r.reps_max}" if r.labelled else "-"
        count = "-" if r.count < 0 else f"{r.count}{_mark(r, r.count)}"
        mirror = "-" if r.mirrored_count < 0 else f"{r.mirrored_count}{_mark(r, r.mirrored_count)}"
        auto_ex = (
            r.auto_exercise
            if r.auto_exercise == r.auto_mirrored_exercise
            else (f"{r.auto_exercise} / mirrored {r.auto_mirrored_exercise}")
        )
        auto = f"{r.auto_count}{_mark(r, r.auto_count)}"
        auto_mirror = f"{r.auto_mirrored_count}{_mark(r, r.auto_mirrored_count)}"
        cells = (r.clip, r.exercise, reps, count, mirror, auto, auto_mirror, auto_ex)
        print("{:52} {:15} {:>7} {:>6} {:>6}  {:>5} {:>6}  {}".format(*cells))
    print("(~ off by one, ! off by more, against reps..reps_max)")


def _print_summary(results: list[ClipResult], source: str) -> None:
    s = score(results)
    if not s.clips:
        return
    n = s.clips
    print(f"\nLabelled clips of supported exercises measured: {n} ({source})")
    for key in COLUMNS:
        verdict = "meets the bar" if meets_bar(s, key) else "BELOW THE BAR"
        print(
            f"  {key:18} exact {s.exact[key]:>2}/{n} ({100 * s.exact[key] / n:5.1f}%)   "
            f"within one {s.within_one[key]:>2}/{n} ({100 * s.within_one[key] / n:5.1f}%)   {verdict}"
        )
    settled = f"{s.recognised}/{n} clips, {s.recognised_mirrored}/{n} mirrored"
    print(f"  auto settled on the labelled exercise: {settled}")
    wrong = {k: v for k, v in s.confusion.items() if k[0] != k[1]}
    if wrong:
        print(
            "  confusions (label -> auto, normal videos): "
            + ", ".join(f"{a} -> {b} x{c}" for (a, b), c in sorted(wrong.items()))
        )


def _print_events(args: argparse.Namespace) -> None:
    streams = _streams(args, args.events)
    if streams is None:
        raise InputError(
            f"no pose stream for {args.events} at {_stream_path(args, args.events, args.mirror)}"
        )
    counter = RepCounter(args.exercise)
    for pose, t in streams[1] if args.mirror else streams[0]:
        event = counter.update(pose, t)
        if event is not None:
            print(event.to_json())
    print(f"final: {counter.snapshot()}")


def main(argv: list[str] | None = None) -> int:
    default_shared = os.environ.get("EDGE_POSE_SHARED", str(REPO.parent / "shared"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=default_shared, help="shared data folder (default: %(default)s)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--streams",
        metavar="DIR",
        help="pipeline streams: DIR/normal/<clip>.jsonl and DIR/mirrored/<clip>.jsonl",
    )
    source.add_argument("--jsonl", metavar="DIR", help="read DIR/<clip>.jsonl, mirrored geometrically")
    parser.add_argument("--all", action="store_true", help="also unlabelled clips and unsupported exercises")
    parser.add_argument(
        "--write-table",
        "--write-expected",
        dest="write_table",
        metavar="TSV",
        help="write the per-clip table",
    )
    parser.add_argument("--events", metavar="CLIP", help="print the rep events of one clip, e.g. squat/x.mp4")
    parser.add_argument("--exercise", default="auto", help="exercise for --events (default: auto)")
    parser.add_argument("--mirror", action="store_true", help="with --events: the mirror image")
    args = parser.parse_args(argv)
    try:
        if args.events:
            _print_events(args)
            return 0
        results, missing = [], []
        cost = CounterCost()
        for clip, exercise, reps, reps_max in _clips(args):
            streams = _streams(args, clip)
            if streams is None:
                missing.append(clip)
                continue
            results.append(evaluate_pair(clip, exercise, *streams, reps, reps_max, cost=cost))
        if missing:
            print(f"(no pose stream for {len(missing)} clips, left out: {', '.join(missing)})")
        _print_table(results)
        if args.streams:
            origin = f"pipeline poses from {args.streams}; mirrored = video flipped before pose estimation"
        elif args.jsonl:
            origin = f"pipeline poses from {args.jsonl}; mirrored = poses mirrored geometrically"
        else:
            origin = "MediaPipe reference poses; mirrored = poses mirrored geometrically"
        _print_summary(results, origin)
        print(
            f"\nCounter cost on this machine: explicit {cost.ms_per_frame('explicit'):.3f} ms/frame, "
            f"auto {cost.ms_per_frame('auto'):.3f} ms/frame"
        )
        if args.write_table:
            write_table(Path(args.write_table), results)
    except EdgeError as exc:
        print(f"rep_accuracy: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
