"""``edge-pose process INPUT``: run the pipeline over a video file, an image or a folder of images.

The output files are a contract other tools read (see README "Batch processing"): ``--out`` JSON lines,
one object per frame; ``--masks`` an ``.npz`` of person masks at the input resolution; ``--annotate``
a video with the skeleton and the silhouette drawn. On success one JSON summary line goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.errors import InputError
from edge.models import LANDMARK_MODELS


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "process",
        help="run pose estimation over a video, an image or a folder of images",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", type=Path, help="video file, image file, or folder of images")
    parser.add_argument("--out", type=Path, metavar="FILE.jsonl", help="write one JSON object per frame here")
    parser.add_argument(
        "--masks", type=Path, metavar="FILE.npz", help="write person masks (uint8 0..255) here"
    )
    parser.add_argument(
        "--mask-every", type=int, default=1, metavar="N", help="masks of frames with frame %% N == 0"
    )
    parser.add_argument(
        "--static", action="store_true", help="static-image mode: detect on every frame, no smoothing"
    )
    parser.add_argument("--no-segmentation", action="store_true", help="skip the person mask and silhouettes")
    parser.add_argument(
        "--model", choices=sorted(LANDMARK_MODELS), default="lite", help="landmark model (default lite)"
    )
    parser.add_argument(
        "--annotate", type=Path, metavar="OUT.mp4", help="write the video with skeleton and silhouette"
    )
    parser.add_argument(
        "--mask-max-side",
        type=int,
        metavar="PX",
        help="mask working resolution (long side; 0 = input size); input size with --masks, else 640",
    )
    parser.add_argument(
        "--max-frames", type=int, default=0, metavar="N", help="stop after N frames (0 = all)"
    )
    parser.add_argument(
        "--exercise",
        metavar="NAME",
        help='count repetitions: an exercise name or \'auto\' (adds "reps" and "rep" to the records)',
    )
    parser.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    parser.add_argument("--backend", default="auto", choices=["auto", "litert", "tflite-runtime"])
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", dest="progress", action="store_true", default=None, help="always show progress"
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from edge.batch import Annotator, BatchStats, JsonlWriter, MaskArchiveWriter, ProgressBar
    from edge.blazepose import EstimatorOptions, PoseEstimator
    from edge.reps import RepCounter
    from edge.silhouette import SilhouetteExtractor
    from edge.sources import ImageFilesSource, decode_next, open_source, schedule_decoding

    if args.mask_every < 1:
        raise InputError(f"--mask-every must be at least 1, got {args.mask_every}")
    if args.max_frames < 0:
        raise InputError(f"--max-frames must be 0 (all) or more, got {args.max_frames}")
    if args.masks and args.no_segmentation:
        raise InputError("--masks needs the segmentation mask; drop --no-segmentation")
    counter = RepCounter(args.exercise) if args.exercise else None  # an unknown name fails before any work
    opened = open_source(args.input)
    images = isinstance(opened, ImageFilesSource)
    if isinstance(opened, ImageFilesSource) and args.masks:  # fail before any work, not at an odd image
        opened.require_one_size("--masks: a mask archive holds masks of one size")
    source = schedule_decoding(opened, args.threads)
    mask_max_side = args.mask_max_side
    if mask_max_side is None:
        mask_max_side = 0 if args.masks else 640
    options = EstimatorOptions(
        model=args.model,
        static_image_mode=args.static or images,  # unrelated stills: no tracking, no smoothing
        segmentation=not args.no_segmentation,
        mask_max_side=mask_max_side,
        threads=args.threads,
        backend=args.backend,
    )
    estimator = PoseEstimator(options)
    extractor = None if args.no_segmentation else SilhouetteExtractor()
    records = JsonlWriter(args.out) if args.out else None
    masks = MaskArchiveWriter(args.masks) if args.masks else None
    annotator = Annotator(args.annotate, source.fps) if args.annotate else None
    show = args.progress if args.progress is not None else sys.stderr.isatty() and source.frame_count != 1
    total = min(source.frame_count, args.max_frames) if args.max_frames else source.frame_count
    bar = ProgressBar(total) if show else None
    stats = BatchStats()
    start = time.perf_counter()
    try:
        while (frame := source.read()) is not None and not (
            args.max_frames and stats.frames >= args.max_frames
        ):
            pose = estimator.process(frame)
            decode_next(source)  # the next frame decodes while this one is written out
            record: dict[str, Any] = {"frame": frame.index, "t": round(frame.timestamp, 4)}
            if images:
                record["file"] = frame.name
            record["pose"] = pose.to_json() if pose is not None else None
            if counter is not None:
                event = counter.update(pose, frame.timestamp)
                record["reps"] = counter.snapshot()
                if event is not None:
                    record["rep"] = event.to_json()
            silhouette = None
            if pose is not None:
                stats.poses += 1
                if extractor is not None and pose.mask is not None:
                    silhouette = extractor.extract(pose.mask, pose.landmarks)
                    if silhouette is not None:
                        record["silhouette"] = silhouette.to_json()
            if records is not None:
                records.write(record)
            if masks is not None and frame.index % args.mask_every == 0:
                width, height = frame.size
                probability = pose.mask_at(width, height) if pose is not None else None
                if probability is None:
                    masks.write(frame.index, np.zeros((height, width), np.uint8))
                else:
                    masks.write(frame.index, (probability * 255.0 + 0.5).astype(np.uint8))
            if annotator is not None:
                annotator.write(frame.image, pose, silhouette)
            stats.frames += 1
            if bar is not None:
                bar.update(stats.frames)
    finally:
        source.close()
        for sink in (records, masks, annotator):
            if sink is not None:
                sink.close()
        if bar is not None:
            bar.close()
    stats.seconds = time.perf_counter() - start
    if counter is not None:
        stats.extra["reps"] = counter.snapshot()
    print(json.dumps(stats.summary(args.input)))
    return 0
