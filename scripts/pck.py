#!/usr/bin/env python3
"""PCK@0.2 of edge-pose and of MediaPipe against the human keypoint labels of the test stills.

    python scripts/pck.py [--model lite]

Both run in static-image mode; MediaPipe's landmarks are the reference files (../shared/reference/stills).
Twelve limb joints per labelled person (see edge/keypoint_labels.py).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.blazepose import EstimatorOptions, PoseEstimator  # noqa: E402
from edge.keypoint_labels import LABEL_SETS, labelled_people, pck  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


def stills_with_labels(shared: Path) -> list[tuple[str, str, str]]:
    """(still file name, dataset, path in the dataset) for every still with human labels."""
    rows = []
    with (shared / "footage" / "SOURCES.tsv").open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = row["file"]
            if not name.startswith("stills/"):
                continue
            dataset = Path(name).name.split("_")[0]
            if dataset in LABEL_SETS:
                rows.append((Path(name).name, dataset, row["path_in_repository"]))
    return rows


def evaluate(shared: Path, model: str = "lite") -> list[dict[str, object]]:
    estimator = PoseEstimator(EstimatorOptions(model=model, static_image_mode=True, segmentation=False))
    annotations = shared / "annotations" / "mmpose_testdata"
    rows = []
    for still, dataset, source_path in stills_with_labels(shared):
        people = labelled_people(annotations, dataset, source_path)
        image = cv2.imread(str(shared / "footage" / "stills" / still))
        height, width = image.shape[:2]
        ours = estimator.estimate(image, 0.0)
        ours_pck = pck(ours.pixels(), people) if ours is not None else (0, 0)
        reference = np.load(shared / "reference" / "stills" / (Path(still).stem + ".npz"))["landmarks"][0]
        mp_pck = pck(reference[:, :2] * (width, height), people) if not np.isnan(reference[0, 0]) else (0, 0)
        labelled = max(ours_pck[1], mp_pck[1])
        rows.append({"still": still, "labelled": labelled, "edge_pose": ours_pck[0], "mediapipe": mp_pck[0]})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--model", default="lite")
    args = parser.parse_args()
    rows = evaluate(args.shared, args.model)
    print(f"{'still':44s} {'joints':>6s} {'edge-pose':>9s} {'MediaPipe':>9s}")
    for row in rows:
        print(f"{row['still']:44s} {row['labelled']:6d} {row['edge_pose']:9d} {row['mediapipe']:9d}")
    total = sum(int(r["labelled"]) for r in rows)
    ours = sum(int(r["edge_pose"]) for r in rows)
    theirs = sum(int(r["mediapipe"]) for r in rows)
    print(
        f"\nPCK@0.2 over {total} labelled joints in {len(rows)} stills: edge-pose {ours / total:.3f}, "
        f"MediaPipe {theirs / total:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
