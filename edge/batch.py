"""Batch processing of a video, an image or a folder of images: the loop behind ``edge-pose process``.

The loop is the same one the daemon runs (estimate, count, outline), with file sinks instead of MQTT:

* ``JsonlWriter``: one JSON object per frame (the ``--out`` contract);
* ``MaskArchiveWriter``: every N-th frame's person mask at the input resolution, streamed into an
  ``.npz`` (``mask_frames`` (K,) int64, ``masks`` (K, H, W) uint8) without holding them in memory;
* ``Annotator``: the frames with skeleton and silhouette drawn, as a video.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import InputError
from edge.pose import Pose

log = logging.getLogger(__name__)


def _open_for_writing(path: Path, what: str) -> IO[bytes]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")
    except OSError as exc:
        raise InputError(f"{path}: cannot write the {what} ({exc.strerror or exc})") from exc


class JsonlWriter:
    """Writes one JSON object per frame: ``{"frame", "t", "pose": null | {...}, ...}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = _open_for_writing(path, "frame records")

    def write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":"), allow_nan=False).encode() + b"\n")

    def close(self) -> None:
        self._file.close()


class MaskArchiveWriter:
    """Streams (H, W) uint8 masks into an ``.npz`` holding ``mask_frames`` and ``masks``.

    Masks are appended to a temporary file as they come and copied into the archive at ``close``, so
    memory stays at one mask whatever the clip's length.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        _open_for_writing(path, "mask archive").close()  # fail now, not after the whole clip
        self._frames: list[int] = []
        self._shape: tuple[int, int] | None = None
        self._spool = tempfile.TemporaryFile()

    def write(self, frame: int, mask: npt.NDArray[np.uint8]) -> None:
        if self._shape is None:
            self._shape = (int(mask.shape[0]), int(mask.shape[1]))
        elif mask.shape != self._shape:
            raise InputError(
                f"frame {frame}: mask size {mask.shape} differs from the first frame's {self._shape}"
            )
        self._frames.append(frame)
        self._spool.write(np.ascontiguousarray(mask, np.uint8).tobytes())

    def close(self) -> None:
        height, width = self._shape or (0, 0)
        frames = np.asarray(self._frames, np.int64)
        with zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("mask_frames.npy", "w") as member:
                np.lib.format.write_array(member, frames)
            with archive.open("masks.npy", "w", force_zip64=True) as member:
                header = {"descr": "|u1", "fortran_order": False, "shape": (len(frames), height, width)}
                np.lib.format.write_array_header_1_0(member, header)
                self._spool.seek(0)
                while chunk := self._spool.read(1 << 20):
                    member.write(chunk)
        self._spool.close()


def letterbox(image: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Fit a (H, W, 3) image into ``size`` (width, height): scaled to fit, aspect kept, centred on black.

    Returns the image itself when it already has that size.
    """
    width, height = size
    image_height, image_width = image.shape[:2]
    if (image_width, image_height) == (width, height):
        return image
    scale = min(width / image_width, height / image_height)
    fit_w = max(1, min(width, round(image_width * scale)))
    fit_h = max(1, min(height, round(image_height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas = np.zeros((height, width, 3), np.uint8)
    left, top = (width - fit_w) // 2, (height - fit_h) // 2
    fitted = cv2.resize(image, (fit_w, fit_h), interpolation=interpolation)
    canvas[top : top + fit_h, left : left + fit_w] = fitted
    return canvas


class Annotator:
    """Writes the input frames with the skeleton and the silhouette drawn, as an MP4 video.

    A video has one frame size, the first frame's; later frames of another size (a folder of mixed
    images) are letterboxed into it rather than dropped.
    """

    def __init__(self, path: Path, fps: float) -> None:
        self.path = path
        self.fps = fps if fps > 0 else 5.0
        _open_for_writing(path, "annotated video").close()
        self._writer: cv2.VideoWriter | None = None
        self._size = (0, 0)

    def write(self, image: npt.NDArray[np.uint8], pose: Pose | None, silhouette: Any | None) -> None:
        from edge.drawing import draw_silhouette, draw_skeleton

        canvas = image.copy()
        if silhouette is not None:
            draw_silhouette(canvas, silhouette)
        if pose is not None:
            draw_skeleton(canvas, pose.landmarks)
        if self._writer is None:
            height, width = canvas.shape[:2]
            self._writer = cv2.VideoWriter(
                str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, (width, height)
            )
            if not self._writer.isOpened():
                raise InputError(f"{self.path}: cannot write an MP4 video here (no encoder for mp4v)")
            self._size = (width, height)
        self._writer.write(letterbox(canvas, self._size))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and done != self.total:
            return
        self._last = now
        rate = done / max(now - self._start, 1e-9)
        if self.total:
            width = 30
            filled = min(width, int(width * done / self.total))
            bar = "#" * filled + "-" * (width - filled)
            text = f"\r[{bar}] {done}/{self.total} frames {rate:5.1f} fps"
        else:
            text = f"\r{done} frames {rate:5.1f} fps"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


@dataclass
class BatchStats:
    """What a batch run did, for the summary line."""

    frames: int = 0
    poses: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self, input_path: Path) -> dict[str, Any]:
        return {
            "input": str(input_path),
            "frames": self.frames,
            "poses": self.poses,
            "seconds": round(self.seconds, 3),
            "fps": round(self.frames / self.seconds, 2) if self.seconds > 0 else None,
            **self.extra,
        }
