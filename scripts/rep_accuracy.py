#!/usr/bin/env python3
"""Measure repetition counting against the human labels of the shared footage.

Runs ``RepCounter`` over every labelled clip of a supported exercise, with the labelled exercise
given explicitly and with ``auto``, each on the clip and on its mirror image, and prints the
per-clip table, the acceptance figures and auto's confusion.

The pose stream of each clip comes from the MediaPipe reference (``<shared>/reference/<clip>.npz``,
the default) or from the JSON lines ``edge-pose process`` wrote (``--jsonl DIR``: reads
``DIR/<clip>.jsonl``, e.g. ``DIR/squat/nowva_squats.jsonl``).

    python scripts/rep_accuracy.py                      # labelled clips, reference poses
    python scripts/rep_accuracy.py --all                # also unlabelled / unsupported clips
    python scripts/rep_accuracy.py --jsonl out/         # the pipeline's own output
    python scripts/rep_accuracy.py --events squat/nowva_squats.mp4 --exercise squat
    python scripts/rep_accuracy.py --write-expected tests/reps/expected_counts.tsv --all
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.errors import EdgeError  # noqa: E402
from edge.reps import RepCounter  # noqa: E402
from edge.reps.evaluation import (  # noqa: E402
    ClipResult,
    evaluate,
    guess_exercise,
    read_labels,
    score,
    write_table,
)
from edge.reps.exercises import EXERCISES  # noqa: E402
from edge.reps.streams import load_stream, mirrored  # noqa: E402


def _stream_path(args: argparse.Namespace, clip: str) -> Path:
    stem = clip.rsplit(".", 1)[0]
    if args.jsonl:
        return Path(args.jsonl) / f"{stem}.jsonl"
    return Path(args.shared) / "reference" / f"{stem}.npz"


def _clips(args: argparse.Namespace) -> list[tuple[str, str, int, int]]:
    """(clip, exercise, reps, reps_max) to measure; reps -1 for unlabelled clips."""
    labels = read_labels(Path(args.shared) / "footage" / "labels.tsv")
    rows = [(lab.clip, lab.exercise, lab.reps, lab.reps_max) for lab in labels if lab.supported or args.all]
    if args.all:
        known = {lab.clip for lab in labels}
        root = Path(args.jsonl) if args.jsonl else Path(args.shared) / "reference"
        suffix = ".jsonl" if args.jsonl else ".npz"
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


def _print_summary(results: list[ClipResult]) -> None:
    s = score(results)
    if not s.clips:
        return
    n = s.clips
    print(f"\nLabelled clips of supported exercises measured: {n}")
    for key in ("explicit", "explicit_mirrored", "auto", "auto_mirrored"):
        print(
            f"  {key:18} exact {s.exact[key]:>2}/{n} ({100 * s.exact[key] / n:5.1f}%)   "
            f"within one {s.within_one[key]:>2}/{n} ({100 * s.within_one[key] / n:5.1f}%)"
        )
    settled = f"{s.recognised}/{n} clips, {s.recognised_mirrored}/{n} mirrored"
    print(f"  auto settled on the labelled exercise: {settled}")
    wrong = {k: v for k, v in s.confusion.items() if k[0] != k[1]}
    if wrong:
        print(
            "  confusions (label -> auto): "
            + ", ".join(f"{a} -> {b} x{c}" for (a, b), c in sorted(wrong.items()))
        )


def _print_events(args: argparse.Namespace) -> None:
    stream = load_stream(_stream_path(args, args.events))
    if args.mirror:
        stream = mirrored(stream)
    counter = RepCounter(args.exercise)
    for pose, t in stream:
        event = counter.update(pose, t)
        if event is not None:
            print(event.to_json())
    print(f"final: {counter.snapshot()}")


def main(argv: list[str] | None = None) -> int:
    default_shared = os.environ.get("EDGE_POSE_SHARED", str(REPO.parent / "shared"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=default_shared, help="shared data folder (default: %(default)s)")
    parser.add_argument("--jsonl", metavar="DIR", help="read DIR/<clip>.jsonl (edge-pose process output)")
    parser.add_argument("--all", action="store_true", help="also unlabelled clips and unsupported exercises")
    parser.add_argument("--write-expected", metavar="TSV", help="write the per-clip table to TSV")
    parser.add_argument("--events", metavar="CLIP", help="print the rep events of one clip, e.g. squat/x.mp4")
    parser.add_argument("--exercise", default="auto", help="exercise for --events (default: auto)")
    parser.add_argument("--mirror", action="store_true", help="with --events: the mirrored clip")
    args = parser.parse_args(argv)
    try:
        if args.events:
            _print_events(args)
            return 0
        results, missing = [], []
        for clip, exercise, reps, reps_max in _clips(args):
            path = _stream_path(args, clip)
            if not path.exists():
                missing.append(clip)
                continue
            results.append(evaluate(clip, exercise, load_stream(path), reps, reps_max))
        if missing:
            print(f"(no pose stream for {len(missing)} clips, left out: {', '.join(missing)})")
        _print_table(results)
        _print_summary(results)
        if args.write_expected:
            write_table(Path(args.write_expected), results)
    except EdgeError as exc:
        print(f"rep_accuracy: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
