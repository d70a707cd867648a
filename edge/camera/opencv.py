"""Cameras and network streams read with OpenCV: USB/V4L2 devices, RTSP and HTTP (MJPEG) URLs.

One class, two constructors: ``OpenCVSource.device(0 | "/dev/video0", ...)`` asks V4L2 for a size
and rate and keeps a single driver buffer (``CAP_PROP_BUFFERSIZE=1``) so a frame is never stale;
``OpenCVSource.stream("rtsp://...")`` goes through FFmpeg with open and read timeouts, so a dead
or stalled server makes ``read`` fail within ``read_timeout_s`` instead of blocking forever.

Either raises ``CameraError`` when it cannot open or a read fails; reconnection is the job of
``edge.camera.reconnect.ReconnectingSource`` around it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from edge.camera.images import redact_url
from edge.errors import CameraError
from edge.sources import Frame, to_bgr

log = logging.getLogger(__name__)

#: URL schemes OpenCV's FFmpeg backend reads as live streams.
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


class OpenCVSource:
    """Frames from ``cv2.VideoCapture``; timestamps are seconds since the capture was opened.

    Use the ``device`` and ``stream`` constructors.

    Args:
        target: device index, device path or URL, as given to ``cv2.VideoCapture``.
        api: OpenCV backend (``cv2.CAP_V4L2``, ``cv2.CAP_FFMPEG``, ``cv2.CAP_ANY``).
        params: flat (property, value, ...) list of open parameters.
        label: how logs and errors name the source (no credentials).
        nominal_fps: frame rate to report when the backend reports none.
        clock: monotonic clock in seconds.

    Raises:
        CameraError: the device or stream cannot be opened.
    """

    def __init__(
        self,
        target: int | str,
        api: int,
        params: Sequence[int],
        label: str,
        nominal_fps: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self._clock = clock
        self._cap = cv2.VideoCapture(target, api, list(params))
        if not self._cap.isOpened():
            self._cap.release()
            raise CameraError(f"{label}: cannot open (not connected, busy, or not a camera/stream)")
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = reported if 0.5 <= reported <= 1000 else nominal_fps
        self._index = 0
        self._t0 = clock()

    @classmethod
    def device(
        cls,
        device: int | str,
        width: int = 640,
        height: int = 480,
        fps: float = 30.0,
        read_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> OpenCVSource:
        """A V4L2 camera by index (``0``) or path (``/dev/video0``).

        Paths outside ``/dev`` are opened with OpenCV's automatic backend; that is only useful for
        tests, where a file stands in for a device node.
        """
        is_device = isinstance(device, int) or str(device).startswith("/dev/")
        api = cv2.CAP_V4L2 if is_device and sys.platform.startswith("linux") else cv2.CAP_ANY
        params: list[int] = []
        if is_device:
            params = [cv2.CAP_PROP_FRAME_WIDTH, int(width), cv2.CAP_PROP_FRAME_HEIGHT, int(height)]
        label = f"camera {device}"
        source = cls(device, api, params, label, nominal_fps=fps, clock=clock)
        if is_device:
            cap = source._cap
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver keeps one frame: never read a stale one
            cap.set(cv2.CAP_PROP_FPS, float(fps))
            if hasattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC"):
                cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, read_timeout_s * 1000)
            got = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
            if got != (width, height):
                log.info("%s: asked for %dx%d, the camera delivers %dx%d", label, width, height, *got)
        return source

    @classmethod
    def stream(
        cls,
        url: str,
        open_timeout_s: float = 10.0,
        read_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> OpenCVSource:
        """An RTSP/HTTP/... stream through FFmpeg, with open and read timeouts."""
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(read_timeout_s * 1000),
        ]
        return cls(url, cv2.CAP_FFMPEG, params, f"stream {redact_url(url)}", nominal_fps=0.0, clock=clock)

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int:
        return 0

    def read(self) -> Frame:
        """The next frame.

        Raises:
            CameraError: no frame arrived (unplugged, stream ended or stalled past the read timeout).
        """
        ok, image = self._cap.read()
        if not ok or image is None:
            raise CameraError(f"{self.label}: no frame (unplugged, stream ended or stalled)")
        frame = Frame(to_bgr(np.asarray(image, np.uint8)), self._index, self._clock() - self._t0)
        self._index += 1
        return frame

    def close(self) -> None:
        self._cap.release()
