#!/usr/bin/env python3
"""Fingerprint how this machine's OpenCV decodes each clip, to tell whether it decodes like the reference.

MediaPipe's reference output (../shared/reference) was made from frames that OpenCV 4.11's FFmpeg
decoded; other FFmpeg builds (OpenCV 5's wheels, distribution packages) change a few pixel values in
most frames, and on chaotic clips that alone moves MediaPipe's own tracking. The parity tests hold a clip
to bit-exact agreement only when its frames decode as the reference's did: this script writes the
SHA-256 of each clip's first frames as decoded here (run it with the reference's OpenCV):

    .venv-np1/bin/python scripts/decoder_fingerprints.py --out tests/data/reference_decoder_sha256.tsv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.parity import decoder_fingerprint, reference_pairs  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--footage", type=Path, default=SHARED / "footage")
    parser.add_argument("--reference", type=Path, default=SHARED / "reference")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    import cv2

    rows = [
        f"{name}\t{decoder_fingerprint(media)}"
        for name, media, _ in reference_pairs(args.footage, args.reference)
        if not name.startswith("stills/")
    ]
    args.out.write_text(f"# OpenCV {cv2.__version__}\nclip\tsha256\n" + "\n".join(rows) + "\n")
    print(f"{len(rows)} clips -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
