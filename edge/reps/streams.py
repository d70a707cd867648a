"""Pose streams from files, for measuring the counter: MediaPipe reference ``.npz`` and the JSON
lines of ``edge-pose process``.

A stream is a list of ``(pose or None, t)``, one per frame, ``t`` in seconds. This module is
tooling (``scripts/rep_accuracy.py``, the tests); the counter itself never reads files.

* Reference ``.npz`` (``/work/shared/reference``): ``landmarks`` (N, 33, 5) with NaN rows where no
  pose was found, ``world`` (N, 33, 3), ``t`` (N,), ``size`` (w, h).
* JSON lines: one object per frame, ``{"frame", "t", "pose": null | {"landmarks": [[x, y, z,
  visibility, presence] x 33], "world": [[x, y, z] x 33], "score"}}``; other keys are ignored. An
  optional ``"image_size": [w, h]`` is used when present (the counter does not need it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from edge.errors import InputError
from edge.pose import Pose

Stream = list[tuple[Pose | None, float]]


def reference_stream(path: Path) -> Stream:
    """Read a MediaPipe reference ``.npz``; NaN rows become None."""
    try:
        with np.load(path) as data:
            landmarks = np.asarray(data["landmarks"], np.float32)
            world = np.asarray(data["world"], np.float32)
            times = np.asarray(data["t"], np.float64)
            size = tuple(int(v) for v in data["size"])
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"{path}: not a reference .npz with landmarks, world, t and size ({exc})") from None
    if landmarks.shape[1:] != (33, 5) or world.shape[1:] != (33, 3) or not len(landmarks) == len(times):
        raise InputError(f"{path}: landmarks, world and t do not describe the same frames")
    stream: Stream = []
    for lm, wo, t in zip(landmarks, world, times, strict=True):
        if not (np.isfinite(lm).all() and np.isfinite(wo).all()):
            stream.append((None, float(t)))
        else:
            stream.append((Pose(lm, wo, 1.0, (size[0], size[1]), float(t)), float(t)))
    return stream


def jsonl_stream(path: Path) -> Stream:
    """Read the JSON lines ``edge-pose process`` writes; ``"pose": null`` becomes None."""
    stream: Stream = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            t = float(record["t"])
            data = record.get("pose")
            size = record.get("image_size") or (1, 1)
            pose = None if data is None else Pose.from_json(data, (int(size[0]), int(size[1])), t)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise InputError(f"{path}:{number}: not a frame record with t and pose ({exc})") from None
        if not math.isfinite(t):
            raise InputError(f"{path}:{number}: t is not a finite number of seconds")
        stream.append((pose, t))
    return stream


def load_stream(path: Path) -> Stream:
    """``reference_stream`` for ``.npz``, ``jsonl_stream`` for anything else."""
    return reference_stream(path) if path.suffix == ".npz" else jsonl_stream(path)


def mirrored(stream: Stream) -> Stream:
    """The same stream seen in a horizontally flipped video (``Pose.mirrored``)."""
    return [(None if pose is None else pose.mirrored(), t) for pose, t in stream]
