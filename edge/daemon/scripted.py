"""A pose estimator that replays recorded landmarks: the runtime's stand-in for the model.

``ScriptedPoseEstimator`` returns, for frame ``i`` of a clip, the pose MediaPipe found in that frame
(the ``reference/*.npz`` files: landmarks, world landmarks, masks on every 10th frame). Frame
indices past the end wrap around, so a looped clip replays its poses. An optional fixed delay
stands for the model's inference time without burning CPU (the machine is shared).

It lets the runtime, the soak benchmark and the end-to-end tests run the real threads, rep
counter, silhouette and publisher on real movement before (or without) the TFLite model.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.errors import InputError
from edge.pose import Pose
from edge.sources import Frame


class ScriptedPoseEstimator:
    """Replays per-frame poses.

    Args:
        landmarks: (N, 33, 5) float32, x, y normalised, z, visibility, presence; NaN rows = no pose.
        world: (N, 33, 3) float32 metres, hip-centred.
        masks: optional (K, h, w) person probability, uint8 0..255 or float32 0..1.
        mask_frames: (K,) frame index of each mask; a frame uses the latest mask at or before it.
        delay_s: time each ``process`` call takes (sleeping, like waiting for an accelerator).
    """

    def __init__(
        self,
        landmarks: npt.NDArray[np.float32],
        world: npt.NDArray[np.float32],
        masks: npt.NDArray[np.generic] | None = None,
        mask_frames: npt.NDArray[np.integer] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        if landmarks.ndim != 3 or landmarks.shape[1:] != (33, 5) or landmarks.shape[0] == 0:
            raise InputError(f"scripted landmarks must have shape (N, 33, 5), got {landmarks.shape}")
        if world.shape != (landmarks.shape[0], 33, 3):
            raise InputError(f"scripted world landmarks must have shape (N, 33, 3), got {world.shape}")
        self._landmarks = landmarks.astype(np.float32, copy=False)
        self._world = world.astype(np.float32, copy=False)
        self._valid: npt.NDArray[np.bool_] = np.asarray(~np.isnan(self._landmarks).any(axis=(1, 2)))
        self._masks: list[npt.NDArray[np.float32]] = []
        self._mask_frames = np.zeros(0, np.int64)
        if masks is not None and mask_frames is not None and len(mask_frames):
            scale = 1.0 / 255.0 if masks.dtype == np.uint8 else 1.0
            self._masks = [np.ascontiguousarray(m, np.float32) * np.float32(scale) for m in masks]
            self._mask_frames = np.asarray(mask_frames, np.int64)
        self.delay_s = delay_s
        self.calls = 0
        self._closed = threading.Event()

    @classmethod
    def from_reference(
        cls, path: str | Path, delay_s: float = 0.0, masks: bool = True
    ) -> ScriptedPoseEstimator:
        """Load a MediaPipe reference file (``/work/shared/reference/<clip>.npz``)."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such reference file")
        with np.load(path) as data:
            return cls(
                data["landmarks"],
                data["world"],
                data["masks"] if masks and "masks" in data.files else None,
                data["mask_frames"] if masks and "mask_frames" in data.files else None,
                delay_s=delay_s,
            )

    def __len__(self) -> int:
        return int(self._landmarks.shape[0])

    def process(self, frame: Frame) -> Pose | None:
        """The recorded pose of ``frame.index`` (modulo the recording's length), or None."""
        self.calls += 1
        if self.delay_s > 0:
            self._closed.wait(self.delay_s)
        i = frame.index % len(self)
        if not self._valid[i]:
            return None
        mask = None
        if self._masks:
            k = int(np.searchsorted(self._mask_frames, i, side="right")) - 1
            if k >= 0:
                mask = self._masks[k]
        return Pose(
            landmarks=self._landmarks[i],
            world=self._world[i],
            score=1.0,
            image_size=frame.size,
            timestamp=frame.timestamp,
            mask=mask,
        )

    def close(self) -> None:
        self._closed.set()
