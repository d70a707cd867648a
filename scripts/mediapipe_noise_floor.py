#!/usr/bin/env python3
"""How far MediaPipe drifts from itself when one input bit changes: the floor under any parity figure.

Runs MediaPipe's own pipeline (the anchor, from ../shared/tools/ref_setup.sh) twice over each clip in
video mode, the second time with the least significant bit of one corner pixel flipped in every frame,
and scores the two runs against each other with edge-pose's parity metrics (landmark error normalised
by the bounding-box diagonal, detection agreement, mask IoU). Clips whose tracking is chaotic (lying
people, fast turns) diverge by as much as a different implementation would.

Run it with the reference venv's Python (it needs ``mediapipe``, not edge-pose's runtime):

    $(../shared/tools/ref_setup.sh)/bin/python scripts/mediapipe_noise_floor.py \
        --out tests/data/mediapipe_noise_floor.tsv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"


def run(path: Path, flip_bit: bool) -> tuple[np.ndarray, list[np.ndarray | None], tuple[int, int]]:
    import mediapipe as mp

    landmarks, masks = [], []
    size = (0, 0)
    with mp.solutions.pose.Pose(model_complexity=0, enable_segmentation=True) as pose:
        capture = cv2.VideoCapture(str(path))
        index = 0
        while True:
            ok, image = capture.read()
            if not ok:
                break
            size = (image.shape[1], image.shape[0])
            if flip_bit:
                image[0, 0, 0] ^= 1
            result = pose.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            if result.pose_landmarks:
                landmarks.append([[p.x, p.y] for p in result.pose_landmarks.landmark])
                masks.append(np.asarray(result.segmentation_mask) if index % 10 == 0 else None)
            else:
                landmarks.append(np.full((33, 2), np.nan))
                masks.append(None)
            index += 1
    return np.asarray(landmarks, np.float64), masks, size


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--footage", type=Path, default=SHARED / "footage")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    clips = sorted(p for p in args.footage.rglob("*.mp4"))
    rows = ["clip\tframes\tagreement\tlandmark_error\tmask_iou"]
    for clip in clips:
        a, masks_a, size = run(clip, False)
        b, masks_b, _ = run(clip, True)
        both = ~np.isnan(a[:, 0, 0]) & ~np.isnan(b[:, 0, 0])
        agreement = float(np.mean(np.isnan(a[:, 0, 0]) == np.isnan(b[:, 0, 0])))
        errors = []
        for x, y in zip(a[both], b[both], strict=True):
            px, py = x * size, y * size
            diagonal = np.hypot(*(px.max(0) - px.min(0)))
            errors.append(np.linalg.norm(px - py, axis=1).mean() / diagonal)
        ious = []
        for ma, mb in zip(masks_a, masks_b, strict=False):  # the same frames, unless one run lost the person
            if ma is not None and mb is not None:
                union = np.count_nonzero((ma >= 0.5) | (mb >= 0.5))
                ious.append(np.count_nonzero((ma >= 0.5) & (mb >= 0.5)) / union if union else 1.0)
        name = clip.relative_to(args.footage).with_suffix("")
        row = f"{name}\t{len(a)}\t{agreement:.4f}\t{np.mean(errors) if errors else float('nan'):.5f}\t"
        row += f"{np.mean(ious) if ious else float('nan'):.4f}"
        rows.append(row)
        print(row, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
