#!/usr/bin/env python3
"""Score edge-pose against MediaPipe's own output for every clip and still that has a reference.

    python scripts/parity.py [--mode video|static] [--clips squat pushup/joelo*] [--json OUT]

Video mode runs the tracking pipeline over each clip; static mode runs the detector on every frame
(the stills' references are static-mode). Prints one row per file and the overall figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.blazepose import EstimatorOptions, PoseEstimator  # noqa: E402
from edge.parity import compare, reference_pairs  # noqa: E402
from edge.silhouette import SilhouetteExtractor  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["video", "static"], default="video")
    parser.add_argument("--footage", type=Path, default=SHARED / "footage")
    parser.add_argument("--reference", type=Path, default=SHARED / "reference")
    parser.add_argument("--clips", nargs="*", help="name patterns, e.g. squat/* stills/*")
    parser.add_argument("--mask-max-side", type=int, default=0)
    parser.add_argument(
        "--clock",
        choices=["mediapipe", "media"],
        default="mediapipe",
        help="frame timestamps: MediaPipe's fixed 33,333 us steps (as the reference) or the file's own",
    )
    parser.add_argument("--model", default="lite")
    parser.add_argument("--json", type=Path, help="write the per-file rows here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    pairs = reference_pairs(args.footage, args.reference, args.clips)
    if args.mode == "video":
        pairs = [p for p in pairs if not p[0].startswith("stills/")]
    if not pairs:
        print(f"no references found under {args.reference} for {args.footage}", file=sys.stderr)
        return 2
    options = EstimatorOptions(
        model=args.model, static_image_mode=args.mode == "static", mask_max_side=args.mask_max_side
    )
    estimator = PoseEstimator(options)
    extractor = SilhouetteExtractor()
    rows = []
    print(
        f"{'file':46s} {'frames':>6s} {'agree':>7s} {'lm err':>8s} {'world m':>8s} {'IoU':>7s} "
        f"{'sil IoU':>7s} {'fps':>6s}"
    )
    for name, media, reference in pairs:
        estimator.reset()
        result = compare(estimator.estimate, media, reference, name, clock=args.clock, silhouettes=extractor)
        row = result.summary()
        rows.append(row)
        fps = result.frames / result.seconds if result.seconds else 0.0
        print(
            f"{name:46s} {result.frames:6d} {result.agreement:7.4f} {result.landmark_error:8.5f} "
            f"{result.world_error:8.4f} {result.mask_iou:7.4f} {result.silhouette_iou:7.4f} {fps:6.1f}",
            flush=True,
        )
    errors = np.array([r["landmark_error"] for r in rows], float)
    ious = np.array([r["mask_iou"] for r in rows], float)
    silhouette_ious = np.array([r["silhouette_iou"] for r in rows], float)
    frames = sum(int(r["frames"]) for r in rows)
    agree = sum(int(r["agree"]) for r in rows)
    print(
        f"\n{len(rows)} files, {frames} frames: detection agreement {agree / frames:.4f}; landmark error "
        f"mean {np.nanmean(errors):.5f}, worst {np.nanmax(errors):.5f}; "
        f"mask IoU mean {np.nanmean(ious):.4f}, "
        f"worst {np.nanmin(ious):.4f}; silhouette IoU mean {np.nanmean(silhouette_ious):.4f}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
