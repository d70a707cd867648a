#!/usr/bin/env python3
"""Fetch the full and heavy BlazePose landmark models, checked against their pinned SHA-256.

    python scripts/fetch_models.py full heavy [--dest DIR]

They come from the npm package @mediapipe/pose@0.5.1675469404 (the tarball is downloaded once and the
model extracted from it). Without --dest they go to the package's models folder when it is writable,
else to ~/.local/share/edge-pose/models, where edge-pose also looks.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.models import LANDMARK_MODELS, MODELS, NPM_POSE_TARBALL, packaged_model_dir, user_model_dir  # noqa: E402


def destination(requested: Path | None) -> Path:
    if requested:
        return requested
    packaged = packaged_model_dir()
    return packaged if os.access(packaged, os.W_OK) else user_model_dir()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("models", nargs="+", choices=["full", "heavy"], help="which landmark models")
    parser.add_argument("--dest", type=Path, help="folder to write to")
    parser.add_argument("--url", default=NPM_POSE_TARBALL, help="npm tarball (a mirror, or a file:// URL)")
    args = parser.parse_args()
    dest = destination(args.dest)
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {MODELS[LANDMARK_MODELS[name]] for name in args.models}
    missing = [spec for spec in wanted if not (dest / spec.filename).is_file()]
    if not missing:
        print(f"already present in {dest}")
        return 0
    print(f"downloading {args.url} ...", file=sys.stderr)
    try:
        with urllib.request.urlopen(args.url, timeout=120) as response:  # noqa: S310 (fixed https URL or file://)
            tarball = response.read()
    except OSError as exc:
        print(f"fetch_models: cannot download {args.url}: {exc}", file=sys.stderr)
        return 2
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for spec in missing:
            member = archive.extractfile(f"package/{spec.filename}")
            if member is None:
                print(f"fetch_models: {spec.filename} is not in the package", file=sys.stderr)
                return 2
            data = member.read()
            digest = hashlib.sha256(data).hexdigest()
            if digest != spec.sha256:
                print(
                    f"fetch_models: {spec.filename} has SHA-256 {digest}, expected {spec.sha256}",
                    file=sys.stderr,
                )
                return 2
            with tempfile.NamedTemporaryFile(dir=dest, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, dest / spec.filename)
            os.chmod(dest / spec.filename, 0o644)
            print(f"{dest / spec.filename}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
