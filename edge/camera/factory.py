"""Choose and open the frame source described by the ``[source]`` configuration section.

``kind = "auto"`` picks, in order: what ``uri`` names (a stream URL, a device, a folder, a file);
else a Raspberry Pi camera if libcamera lists one; else ``/dev/video0``; else it fails with one
line saying what to set. Live sources (Pi camera, V4L2 device, stream) come wrapped in
``ReconnectingSource``; files and folders in ``Playback``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from edge.camera.images import redact_url
from edge.camera.opencv import STREAM_SCHEMES, OpenCVSource
from edge.camera.picamera import PiCameraSource, pi_camera_available
from edge.camera.playback import Playback
from edge.camera.reconnect import ReconnectingSource
from edge.camera.status import StatusCallback
from edge.errors import CameraError, ConfigError
from edge.sources import FrameSource, open_source

SOURCE_KINDS = ("auto", "picamera2", "opencv", "file", "stream", "images")

#: Device tried by ``kind = "auto"`` when there is no Pi camera and no ``uri``.
DEFAULT_DEVICE = "/dev/video0"


class SourceSettings(Protocol):
    """What the factory reads; ``edge.config``'s ``[source]`` section and ``CameraSettings`` both fit."""

    @property
    def kind(self) -> str: ...
    @property
    def uri(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def fps(self) -> float: ...
    @property
    def realtime(self) -> bool: ...
    @property
    def loop(self) -> bool: ...
    @property
    def retry_initial_s(self) -> float: ...
    @property
    def retry_max_s(self) -> float: ...


@dataclass(frozen=True)
class CameraSettings:
    """The ``[source]`` section with the contract's defaults (for tests, scripts and the soak)."""

    kind: str = "auto"
    uri: str = ""
    width: int = 640
    height: int = 480
    fps: float = 30.0
    realtime: bool = True
    loop: bool = False
    retry_initial_s: float = 1.0
    retry_max_s: float = 30.0


@dataclass(frozen=True)
class ResolvedSource:
    """What ``auto`` became.

    Attributes:
        kind: ``picamera2 | opencv | file | stream | images``.
        target: camera number, device index/path, URL, or path.
        label: for logs and the MQTT ``state.source`` (stream passwords redacted).
    """

    kind: str
    target: int | str
    label: str

    @property
    def live(self) -> bool:
        """A camera or stream (frames come at their own pace and may be dropped)."""
        return self.kind in ("picamera2", "opencv", "stream")


@dataclass(frozen=True)
class OpenedSource:
    """An opened source and how the daemon must treat it.

    Attributes:
        source: the frames.
        resolved: what was opened.
        lossless: every frame must be processed (files played as fast as possible): the daemon
            applies back-pressure instead of dropping stale frames, so results are deterministic.
    """

    source: FrameSource
    resolved: ResolvedSource
    lossless: bool

    @property
    def label(self) -> str:
        return self.resolved.label


def resolve_source(
    settings: SourceSettings,
    *,
    pi_probe: Callable[[], bool] = pi_camera_available,
    default_device: str = DEFAULT_DEVICE,
) -> ResolvedSource:
    """Decide what to open, without opening it.

    Raises:
        ConfigError: unknown kind, or a kind that needs a ``uri`` without one (names the key).
        CameraError: ``kind = "auto"``, no ``uri``, and no camera at all.
    """
    kind, uri = settings.kind, settings.uri.strip()
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"source.kind: unknown {kind!r}; expected one of {', '.join(SOURCE_KINDS)}")
    if kind == "auto":
        kind = _guess_kind(uri) if uri else ""
        if not kind:
            if pi_probe():
                kind = "picamera2"
            elif Path(default_device).exists():
                kind, uri = "opencv", default_device
            else:
                raise CameraError(
                    f"no camera found (no Raspberry Pi camera listed by libcamera, no {default_device}); "
                    "set source.kind and source.uri"
                )
    if kind == "picamera2":
        if uri and not uri.isdigit():
            raise ConfigError(
                f"source.uri: a camera number is expected with source.kind = 'picamera2', got {uri!r}"
            )
        number = int(uri or 0)
        return ResolvedSource(kind, number, f"picamera2 {number}")
    if kind == "opencv":
        device: int | str = int(uri) if uri.isdigit() else (uri or 0)
        return ResolvedSource(kind, device, f"camera {device}")
    if not uri:
        raise ConfigError(f"source.uri: required with source.kind = {kind!r}")
    if kind == "stream":
        scheme = urlsplit(uri).scheme.lower()
        if scheme not in STREAM_SCHEMES:
            raise ConfigError(
                f"source.uri: {redact_url(uri)!r} is not a stream URL ({', '.join(STREAM_SCHEMES)})"
            )
        return ResolvedSource(kind, uri, f"stream {redact_url(uri)}")
    path = Path(uri).expanduser()
    if kind == "file" and path.is_dir():
        raise ConfigError(f"source.uri: {uri} is a folder; use source.kind = 'images'")
    return ResolvedSource(kind, str(path), f"{kind} {path.name or path}")


def open_camera_source(
    settings: SourceSettings,
    on_status: StatusCallback | None = None,
    *,
    pi_probe: Callable[[], bool] = pi_camera_available,
    default_device: str = DEFAULT_DEVICE,
    clock: Callable[[], float] = time.monotonic,
) -> OpenedSource:
    """Open the configured source.

    Live sources open lazily, on the first ``read``, and keep retrying (never raising at start-up
    for an unplugged camera or an unreachable stream); ``on_status`` hears about every change.
    Files and folders open now.

    Raises:
        ConfigError: bad ``source.*`` values.
        CameraError: ``auto`` found no camera.
        InputError: the file or folder does not exist or cannot be read.
    """
    resolved = resolve_source(settings, pi_probe=pi_probe, default_device=default_device)

    def live(opener: Callable[[], FrameSource]) -> ReconnectingSource:
        return ReconnectingSource(
            opener,
            resolved.label,
            retry_initial_s=settings.retry_initial_s,
            retry_max_s=settings.retry_max_s,
            on_status=on_status,
            nominal_fps=float(settings.fps),
            clock=clock,
        )

    size = (int(settings.width), int(settings.height))
    target = resolved.target
    source: FrameSource
    if resolved.kind == "picamera2":
        number = int(target)
        source = live(lambda: PiCameraSource(size, float(settings.fps), camera_num=number))
    elif resolved.kind == "opencv":
        source = live(lambda: OpenCVSource.device(target, size[0], size[1], float(settings.fps), clock=clock))
    elif resolved.kind == "stream":
        url = str(target)
        source = live(lambda: OpenCVSource.stream(url, clock=clock))
    else:
        path = str(target)
        source = Playback(
            lambda: open_source(path),
            realtime=settings.realtime,
            loop=settings.loop,
            fps=float(settings.fps),
            clock=clock,
            label=resolved.label,
        )
    return OpenedSource(source, resolved, lossless=not resolved.live and not settings.realtime)


def _guess_kind(uri: str) -> str:
    scheme = urlsplit(uri).scheme.lower()
    if scheme in STREAM_SCHEMES:
        return "stream"
    if uri.isdigit() or uri.startswith("/dev/"):
        return "opencv"
    if Path(uri).expanduser().is_dir():
        return "images"
    return "file"
