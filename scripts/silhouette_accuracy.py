#!/usr/bin/env python3
"""How well our silhouettes match MediaPipe's person masks, clip by clip.

For every clip of the MediaPipe reference (``../shared/reference/<category>/<clip>.npz``: ``mask_frames``,
``masks`` uint8 0..255 with the long side <= 320, made with INTER_AREA from MediaPipe's full-size mask),
take our person mask for the same frames, shrink it the same way to the reference's size, run
``SilhouetteExtractor`` on it (threshold, person component, hole filling) and compare:

* ``iou``: our silhouette's binary mask vs the reference thresholded at 0.5 (the number that matters);
* ``iou_raw``: our mask merely thresholded at 0.5 vs the same (so ``iou - iou_raw`` is what cleanup changes).

Where our masks come from (one of):

* ``--masks DIR``: the pipeline's output,
  ``edge-pose process --masks DIR/<category>/<clip>.npz --mask-every 10``
  (``mask_frames`` (K,), ``masks`` (K, H, W) uint8 0..255 at input resolution), same layout as the reference;
* ``--self``: the reference masks themselves (``iou_raw`` is 1; ``iou`` measures cleanup alone);
* ``--selfie general|landscape``: Selfie Segmentation run on the footage (a cross-model figure).

The pose's torso landmarks (from the reference) choose the person's component unless ``--no-landmarks``.

    python scripts/silhouette_accuracy.py --self
    python scripts/silhouette_accuracy.py --selfie general --json selfie.json
    python scripts/silhouette_accuracy.py --masks out/masks
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edge.errors import EdgeError  # noqa: E402
from edge.selfie import SelfieSegmenter  # noqa: E402  (loads the TFLite runtime only when a model loads)
from edge.silhouette import SilhouetteExtractor  # noqa: E402

DEFAULT_SHARED = Path(os.environ.get("EDGE_POSE_SHARED", REPO.parent / "shared"))


@dataclass
class ClipResult:
    clip: str
    frames: int
    iou: float
    iou_min: float
    iou_raw: float
    missing: int  # frames where the extractor returned no silhouette


def iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    """Intersection over union; 1 when both are empty."""
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def shrink_to(mask: npt.NDArray[np.uint8], shape: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Resize a uint8 mask to the reference's (h, w) with INTER_AREA, as the reference was made."""
    if mask.shape == shape:
        return mask
    return np.asarray(cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_AREA))


_segmenters: dict[str, SelfieSegmenter] = {}  # one loaded model per variant for the whole run


def selfie_masks(
    footage: Path, frames: npt.NDArray[np.int64], variant: str
) -> Iterator[tuple[int, npt.NDArray[np.uint8]]]:
    """Selfie Segmentation masks (uint8 0..255, input resolution) of the given frames of a clip or still."""
    from edge.sources import open_source

    segmenter = _segmenters.setdefault(variant, SelfieSegmenter(variant))
    wanted = set(int(i) for i in frames)
    source = open_source(footage)
    try:
        while wanted:
            frame = source.read()
            if frame is None:
                break
            if frame.index in wanted:
                wanted.discard(frame.index)
                probability = segmenter.segment(frame.image)
                yield frame.index, (np.clip(probability, 0.0, 1.0) * 255).astype(np.uint8)
    finally:
        source.close()


def find_footage(footage_dir: Path, rel: Path) -> Path | None:
    matches = sorted((footage_dir / rel.parent).glob(rel.stem + ".*"))
    return matches[0] if matches else None


def our_masks(
    args: argparse.Namespace, rel: Path, ref: np.lib.npyio.NpzFile
) -> dict[int, npt.NDArray[np.uint8]]:
    frames = ref["mask_frames"]
    if args.self:
        return {int(i): m for i, m in zip(frames, ref["masks"], strict=True)}
    if args.selfie:
        path = find_footage(args.shared / "footage", rel)
        if path is None:
            print(f"warning: no footage for {rel}", file=sys.stderr)
            return {}
        return dict(selfie_masks(path, frames, args.selfie))
    path = args.masks / rel
    if not path.is_file():
        print(f"warning: no masks for {rel} at {path}", file=sys.stderr)
        return {}
    with np.load(path) as ours:
        return {int(i): m for i, m in zip(ours["mask_frames"], ours["masks"], strict=True)}


def measure_clip(args: argparse.Namespace, rel: Path, ref_path: Path) -> ClipResult | None:
    with np.load(ref_path) as ref:
        ref_frames = [int(i) for i in ref["mask_frames"]]
        ref_masks = ref["masks"]
        landmarks = ref["landmarks"]
        ours = our_masks(args, rel, ref)
    if not ref_frames or not ours:
        return None
    extractor = SilhouetteExtractor(threshold=args.threshold, working_size=max(ref_masks.shape[1:]))
    cut = args.threshold * 255.0
    ious, raws, missing = [], [], 0
    for frame, reference in zip(ref_frames, ref_masks, strict=True):
        if frame not in ours:
            continue
        mask = shrink_to(ours[frame], reference.shape)
        truth = reference >= cut
        silhouette = extractor.extract(mask, None if args.no_landmarks else landmarks[frame])
        if silhouette is None:
            missing += 1
            cleaned = np.zeros_like(truth)
        else:
            cleaned = silhouette.mask
        ious.append(iou(cleaned, truth))
        raws.append(iou(mask >= cut, truth))
    if not ious:
        return None
    return ClipResult(
        clip=str(rel.with_suffix("")),
        frames=len(ious),
        iou=float(np.mean(ious)),
        iou_min=float(np.min(ious)),
        iou_raw=float(np.mean(raws)),
        missing=missing,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--masks", type=Path, help="folder of our masks, laid out like the reference")
    source.add_argument(
        "--self", action="store_true", help="use the reference masks themselves (cleanup effect)"
    )
    source.add_argument(
        "--selfie", choices=["general", "landscape"], help="run Selfie Segmentation on the footage"
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help="shared data folder (reference/, footage/); default $EDGE_POSE_SHARED or ../shared",
    )
    parser.add_argument(
        "--clips", nargs="*", default=["*/*.npz"], help="glob(s) under reference/, e.g. 'squat/*.npz'"
    )
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument(
        "--no-landmarks", action="store_true", help="keep the largest component, not the torso's"
    )
    parser.add_argument("--json", type=Path, help="also write per-clip results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    reference = args.shared / "reference"
    if not reference.is_dir():
        print(f"error: no MediaPipe reference at {reference} (use --shared)", file=sys.stderr)
        return 2
    paths = sorted({p for pattern in args.clips for p in reference.glob(pattern)})
    results: list[ClipResult] = []
    print(f"{'clip':48s} {'frames':>6s} {'iou':>7s} {'min':>7s} {'iou_raw':>7s} {'missing':>7s}")
    try:
        for path in paths:
            result = measure_clip(args, path.relative_to(reference), path)
            if result is None:
                continue
            results.append(result)
            print(
                f"{result.clip:48s} {result.frames:6d} {result.iou:7.4f} {result.iou_min:7.4f} "
                f"{result.iou_raw:7.4f} {result.missing:7d}",
                flush=True,
            )
    except EdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not results:
        print("no clip had masks to compare", file=sys.stderr)
        return 1
    frames = sum(r.frames for r in results)
    weighted = sum(r.iou * r.frames for r in results) / frames
    weighted_raw = sum(r.iou_raw * r.frames for r in results) / frames
    summary = {
        "clips": len(results),
        "frames": frames,
        "iou_mean_of_clips": float(np.mean([r.iou for r in results])),
        "iou_mean_of_frames": weighted,
        "iou_raw_mean_of_frames": weighted_raw,
        "iou_worst_clip": min(results, key=lambda r: r.iou).clip,
        "missing": sum(r.missing for r in results),
    }
    print(
        f"\n{summary['clips']} clips, {frames} frames: IoU mean of clips {summary['iou_mean_of_clips']:.4f}, "
        f"of frames {weighted:.4f} (raw threshold {weighted_raw:.4f}); "
        f"worst clip {summary['iou_worst_clip']}; "
        f"{summary['missing']} frames without a silhouette"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"summary": summary, "clips": [asdict(r) for r in results]}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
