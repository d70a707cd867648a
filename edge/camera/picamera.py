"""Raspberry Pi cameras through picamera2 (libcamera), imported only when a Pi camera is used.

The ISP scales the sensor image twice at no CPU cost: a ``main`` stream at the configured capture
size and a small ``lores`` stream sized for the model (long side ``lores_long_side``, 320 px by
default: BlazePose's detector works at 224 px and its landmark model at 256 px, so more pixels
would only cost colour conversion). This source delivers the ``lores`` stream as BGR:

* Pi 4 and older (VC4 ISP) only produce YUV420 on ``lores``: it is converted with
  ``cv2.COLOR_YUV2BGR_I420`` and the stride padding on the right is cropped (``[:h, :w]``).
  libcamera's YUV420 is I420 (Y, then U, then V). Beware OpenCV's ``COLOR_YUV420p2BGR``: despite
  its name it is an alias of ``COLOR_YUV2BGR_YV12`` (V before U) and swaps the chroma planes.
* Pi 5 (PiSP) can produce ``RGB888`` on ``lores``, which is B, G, R in memory, i.e. OpenCV's BGR:
  no conversion at all.

Each frame comes from ``captured_request()``, a context manager that always hands the buffers
back to libcamera, and the pixels are copied out before that. Timestamps come from the sensor
(``SensorTimestamp`` metadata, ns), relative to the first frame.

Without picamera2 (``apt install python3-picamera2``, venv with ``--system-site-packages``) or
without a camera, opening raises ``CameraError``; ``pi_camera_available()`` probes without raising.
Not testable off a Pi: the tests drive this adapter with a fake ``picamera2`` module.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import CameraError
from edge.sources import Frame

log = logging.getLogger(__name__)

INSTALL_HINT = "install it with `apt install python3-picamera2`; create the venv with --system-site-packages"


def pi_camera_available() -> bool:
    """True when picamera2 imports and libcamera lists at least one camera; never raises."""
    try:
        from picamera2 import Picamera2
    except Exception:  # noqa: BLE001 - ImportError, or libcamera failing to load
        return False
    try:
        return bool(Picamera2.global_camera_info())
    except Exception:  # noqa: BLE001
        return False


def lores_size_for(size: tuple[int, int], long_side: int) -> tuple[int, int] | None:
    """The ``lores`` (width, height) with the main stream's aspect and the given long side, even-sized.

    Returns None when the main stream is already that small (then ``main`` itself is delivered).
    """
    width, height = size
    if max(width, height) <= long_side:
        return None
    scale = long_side / max(width, height)
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class PiCameraSource:
    """A Raspberry Pi camera module, delivering the ``lores`` stream (or ``main`` when small) as BGR.

    Args:
        size: (width, height) of the ``main`` stream.
        fps: frame rate (fixed frame duration).
        lores_long_side: long side of the model stream in pixels.
        camera_num: which camera (``Picamera2.global_camera_info()`` order).
        timeout_s: longest wait for one frame before ``read`` fails.

    Raises:
        CameraError: picamera2 missing, no camera, or the camera refused the configuration.
    """

    def __init__(
        self,
        size: tuple[int, int] = (640, 480),
        fps: float = 30.0,
        lores_long_side: int = 320,
        camera_num: int = 0,
        timeout_s: float = 5.0,
    ) -> None:
        self._cam: Any = None
        self.label = f"picamera2 {camera_num}"
        try:
            from picamera2 import Picamera2
        except Exception as exc:  # noqa: BLE001
            raise CameraError(f"picamera2 is not available ({exc}); {INSTALL_HINT}") from None
        try:
            cameras = Picamera2.global_camera_info()
        except Exception as exc:  # noqa: BLE001
            raise CameraError(f"libcamera cannot list cameras: {exc}") from None
        if len(cameras) <= camera_num:
            raise CameraError(f"no Raspberry Pi camera {camera_num} (libcamera lists {len(cameras)})")
        self.label = f"picamera2 {camera_num} ({cameras[camera_num].get('Model', 'unknown')})"
        self._fps = float(fps)
        self._timeout_s = timeout_s
        self._index = 0
        self._t0_ns: int | None = None
        lores = lores_size_for(size, lores_long_side)
        self._stream = "lores" if lores else "main"
        try:
            self._cam = Picamera2(camera_num)
            lores_format = _lores_format(Picamera2)
            frame_us = int(round(1e6 / max(fps, 0.1)))
            config = self._cam.create_video_configuration(
                main={"size": tuple(size), "format": "RGB888"},
                lores={"size": lores, "format": lores_format} if lores else None,
                buffer_count=4,
                queue=False,  # always a fresh frame, never one that waited in a queue
                controls={"FrameDurationLimits": (frame_us, frame_us)},
                display=None,
                encode=None,
            )
            self._cam.align_configuration(config)
            self._cam.configure(config)
            stream_config = self._cam.stream_configuration(self._stream)
            self._format = str(stream_config["format"])
            self._size = (int(stream_config["size"][0]), int(stream_config["size"][1]))
            self._cam.start()
        except Exception as exc:  # noqa: BLE001
            self.close()
            raise CameraError(f"{self.label}: cannot start: {exc}") from None
        log.info(
            "%s: %s stream %dx%d %s at %.3g fps",
            self.label,
            self._stream,
            self._size[0],
            self._size[1],
            self._format,
            fps,
        )

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int:
        return 0

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the delivered frames."""
        return self._size

    def read(self) -> Frame:
        """The next frame from the camera.

        Raises:
            CameraError: no frame within ``timeout_s`` or the camera failed.
        """
        try:
            with self._cam.captured_request(wait=self._timeout_s) as request:
                array = request.make_array(self._stream)
                metadata = request.get_metadata()
                image = self._to_bgr(array)  # copies out of the buffer before it is released
        except Exception as exc:  # noqa: BLE001 - TimeoutError, RuntimeError from libcamera...
            raise CameraError(f"{self.label}: no frame: {type(exc).__name__}: {exc}") from None
        sensor_ns = metadata.get("SensorTimestamp")
        if isinstance(sensor_ns, int):
            if self._t0_ns is None:
                self._t0_ns = sensor_ns
            timestamp = (sensor_ns - self._t0_ns) / 1e9
        else:
            timestamp = self._index / self._fps
        frame = Frame(image, self._index, timestamp)
        self._index += 1
        return frame

    def _to_bgr(self, array: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        width, height = self._size
        if self._format in ("YUV420", "YVU420"):
            code = cv2.COLOR_YUV2BGR_I420 if self._format == "YUV420" else cv2.COLOR_YUV2BGR_YV12
            # (h * 3/2, stride) planar layout: convert at the padded width, then crop the padding
            return np.ascontiguousarray(cv2.cvtColor(array, code)[:height, :width])
        if self._format == "RGB888":  # B, G, R in memory: already OpenCV's order
            return np.ascontiguousarray(array[:height, :width, :3])
        if self._format == "BGR888":  # R, G, B in memory
            return np.ascontiguousarray(cv2.cvtColor(array[:height, :width, :3], cv2.COLOR_RGB2BGR))
        if self._format in ("XRGB8888", "XBGR8888"):
            code = cv2.COLOR_BGRA2BGR if self._format == "XRGB8888" else cv2.COLOR_RGBA2BGR
            return np.ascontiguousarray(cv2.cvtColor(array[:height, :width], code))
        raise CameraError(f"{self.label}: unsupported stream format {self._format}")

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is None:
            return
        for step in ("stop", "close"):
            try:
                getattr(cam, step)()
            except Exception as exc:  # noqa: BLE001
                log.debug("%s: %s failed: %s", self.label, step, exc)


def _lores_format(picamera2_class: Any) -> str:
    """``RGB888`` where the ISP allows an RGB lores stream (Pi 5, PiSP), else ``YUV420`` (VC4)."""
    try:
        from picamera2.platform import Platform
    except Exception:  # noqa: BLE001 - older picamera2 without the platform module: VC4 rules
        return "YUV420"
    return "RGB888" if getattr(picamera2_class, "platform", None) == Platform.PISP else "YUV420"
