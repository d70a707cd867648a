#!/usr/bin/env python3
"""How far MediaPipe drifts from itself when one input bit changes: the floor under any parity figure.

Runs MediaPipe's own pipeline (the anchor, from ../shared/tools/ref_setup.sh) twice over each clip in
video mode, the second time on perturbed frames, and scores the two runs against each other with
edge-pose's parity metrics (landmark error normalised by the bounding-box diagonal, detection agreement,
mask IoU). Perturbations:

* ``corner-bit``: the least significant bit of one corner pixel flipped in every frame (the smallest
  change there is; it matters only when that pixel is inside a crop);
* ``decoder``: +-1 on a random 2 % of the pixels of every frame (fixed seed), about what separates two
  FFmpeg builds decoding the same video (OpenCV 5's wheel and OpenCV 4.11's differ on 2.4 % of pixels).

Clips whose tracking is chaotic (lying people, fast turns) diverge by as much as a different
implementation would.

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


def perturb(image: np.ndarray, kind: str, index: int) -> None:
    """Change ``image`` in place as ``kind`` says (see the module docstring)."""
    if kind == "corner-bit":
        image[0, 0, 0] ^= 1
    elif kind == "decoder":
        rng = np.random.default_rng(index)
        where = rng.random(image.shape[:2]) < 0.02
        delta = rng.choice(np.array([-1, 1], np.int16), size=int(where.sum()))
        pixels = image[where].astype(np.int16)
        pixels[:, 0] += delta  # one channel is enough to move a pixel's value by one level
        image[where] = np.clip(pixels, 0, 255).astype(np.uint8)


def run(path: Path, perturbation: str | None) -> tuple[np.ndarray, list[np.ndarray | None], tuple[int, int]]:
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
            if perturbation:
                perturb(image, perturbation, index)
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
    parser.add_argument("--perturbation", choices=["corner-bit", "decoder"], default="corner-bit")
    args = parser.parse_args()
    clips = sorted(p for p in args.footage.rglob("*.mp4"))
    rows = ["clip\tframes\tagreement\tlandmark_error\tmask_iou"]
    for clip in clips:
        a, masks_a, size = run(clip, None)
        b, masks_b, _ = run(clip, args.perturbation)
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
