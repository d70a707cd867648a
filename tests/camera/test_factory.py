"""Choosing the source from the [source] settings: auto detection, validation, how each is wrapped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import CameraSettings, Playback, ReconnectingSource, open_camera_source, resolve_source
from edge.errors import CameraError, ConfigError, InputError


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 24))
    for _ in range(3):
        writer.write(np.zeros((24, 32, 3), np.uint8))
    writer.release()
    return path


def no_pi() -> bool:
    return False


@pytest.mark.parametrize(
    ("uri", "kind", "target"),
    [
        ("rtsp://cam.lan:554/stream1", "stream", "rtsp://cam.lan:554/stream1"),
        ("http://10.0.0.2/video.mjpg", "stream", "http://10.0.0.2/video.mjpg"),
        ("0", "opencv", 0),
        ("2", "opencv", 2),
        ("/dev/video4", "opencv", "/dev/video4"),
    ],
)
def test_ok__auto_reads_the_uri(uri: str, kind: str, target: object) -> None:
    """kind = auto with a uri opens what the uri names, without asking the user to say it twice."""
    resolved = resolve_source(CameraSettings(uri=uri), pi_probe=no_pi)
    assert (resolved.kind, resolved.target) == (kind, target)
    assert resolved.live


def test_ok__auto_reads_files_and_folders(tmp_path: Path, clip: Path) -> None:
    """A path is a file to play, a folder is a set of images."""
    assert resolve_source(CameraSettings(uri=str(clip)), pi_probe=no_pi).kind == "file"
    folder = resolve_source(CameraSettings(uri=str(tmp_path)), pi_probe=no_pi)
    assert folder.kind == "images" and not folder.live


def test_ok__auto_prefers_a_pi_camera_then_video0(tmp_path: Path) -> None:
    """With nothing configured: the Pi camera if libcamera lists one, else the first V4L2 device."""
    video0 = tmp_path / "video0"
    assert (
        resolve_source(CameraSettings(), pi_probe=lambda: True, default_device=str(video0)).kind
        == "picamera2"
    )
    video0.touch()
    resolved = resolve_source(CameraSettings(), pi_probe=no_pi, default_device=str(video0))
    assert (resolved.kind, resolved.target) == ("opencv", str(video0))


def test_fail__auto_without_any_camera_says_what_to_set(tmp_path: Path) -> None:
    """No camera at all: one line naming the keys to set, not a traceback from OpenCV."""
    with pytest.raises(CameraError, match=r"no camera found .*set source\.kind and source\.uri"):
        resolve_source(CameraSettings(), pi_probe=no_pi, default_device=str(tmp_path / "video0"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (CameraSettings(kind="webcam"), r"source\.kind: unknown 'webcam'; expected one of auto, picamera2"),
        (CameraSettings(kind="file"), r"source\.uri: required with source\.kind = 'file'"),
        (CameraSettings(kind="stream", uri="ftp://x/y"), r"source\.uri: 'ftp://x/y' is not a stream URL"),
        (CameraSettings(kind="picamera2", uri="front"), r"source\.uri: a camera number is expected"),
    ],
)
def test_fail__bad_settings_name_the_key(settings: CameraSettings, message: str) -> None:
    """Config mistakes give one line with the key (CONTRACT.md), before anything is opened."""
    with pytest.raises(ConfigError, match=message):
        resolve_source(settings, pi_probe=no_pi)


def test_fail__file_kind_on_a_folder_suggests_images(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="use source.kind = 'images'"):
        resolve_source(CameraSettings(kind="file", uri=str(tmp_path)))


def test_fail__a_missing_file_is_an_input_error_at_start(tmp_path: Path) -> None:
    """A missing file is not retried: it fails at start with the path."""
    with pytest.raises(InputError, match="no such file"):
        open_camera_source(CameraSettings(kind="file", uri=str(tmp_path / "nope.mp4")))


@pytest.mark.parametrize(("realtime", "lossless"), [(True, False), (False, True)])
def test_ok__files_are_played_and_lossless_only_when_not_realtime(
    clip: Path, realtime: bool, lossless: bool
) -> None:
    """Back-pressure (every frame processed) only for files played as fast as possible."""
    opened = open_camera_source(CameraSettings(uri=str(clip), realtime=realtime, loop=True))
    try:
        assert isinstance(opened.source, Playback)
        assert opened.lossless is lossless
        assert opened.label == "file clip.avi"
    finally:
        opened.source.close()


@pytest.mark.parametrize("realtime", [True, False])
def test_ok__live_sources_reconnect_and_are_never_lossless(realtime: bool) -> None:
    """A camera cannot wait for the model: live sources always drop stale frames."""
    opened = open_camera_source(CameraSettings(kind="stream", uri="rtsp://127.0.0.1:9/x", realtime=realtime))
    assert isinstance(opened.source, ReconnectingSource)
    assert opened.lossless is False
    opened.source.close()


def test_ok__opening_a_live_source_does_not_touch_the_device() -> None:
    """Construction is lazy: the service starts (and reports camera_error) even with the camera off."""
    calls: list[str] = []
    opened = open_camera_source(
        CameraSettings(kind="opencv", uri="/dev/video9"), on_status=lambda s: calls.append(s.message)
    )
    assert calls == []
    with pytest.raises(CameraError):
        opened.source.read()
    assert calls and "/dev/video9" in calls[0]
    opened.source.close()


def test_ok__importing_edge_camera_does_not_import_picamera2() -> None:
    """The CLI imports edge.camera on laptops; picamera2 is only importable on a Pi."""
    code = (
        "import sys, edge.camera, edge.daemon, edge.health; "
        "print('picamera2' in sys.modules, 'paho' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.split() == ["False", "False"]
