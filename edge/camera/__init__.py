"""Live frame sources: Raspberry Pi cameras, V4L2 devices, network streams, files played like a camera.

Every source implements ``edge.sources.FrameSource``. ``open_camera_source`` builds the one the
``[source]`` configuration describes. Importing this package never imports picamera2; the Pi camera
adapter imports it when a Pi camera is opened or probed.
"""

from __future__ import annotations

from edge.camera.factory import (
    SOURCE_KINDS,
    CameraSettings,
    OpenedSource,
    ResolvedSource,
    SourceSettings,
    open_camera_source,
    resolve_source,
)
from edge.camera.opencv import OpenCVSource
from edge.camera.picamera import PiCameraSource, pi_camera_available
from edge.camera.playback import Playback
from edge.camera.reconnect import ReconnectingSource
from edge.camera.status import SourceStatus, StatusCallback

__all__ = [
    "SOURCE_KINDS",
    "CameraSettings",
    "OpenCVSource",
    "OpenedSource",
    "PiCameraSource",
    "Playback",
    "ReconnectingSource",
    "ResolvedSource",
    "SourceSettings",
    "SourceStatus",
    "StatusCallback",
    "open_camera_source",
    "pi_camera_available",
    "resolve_source",
]
