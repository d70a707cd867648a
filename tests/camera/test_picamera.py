"""The picamera2 adapter, driven by a fake ``picamera2`` module (libcamera does not run off a Pi).

The fake mimics what picamera2 0.3.x does with the calls the adapter makes: ``make_array`` returns
YUV420 as an (h * 3/2, stride) array with stride padding, RGB888 as (h, w, 3) in B, G, R order;
``Picamera2.platform`` says VC4 (Pi 4) or PISP (Pi 5); ``captured_request`` is a context manager
whose exit releases the request. What it cannot show is real hardware behaviour: colours, timing
and buffer handling on a Pi are NOT verified by these tests.
"""

from __future__ import annotations

import contextlib
import enum
import sys
import types
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest

from edge.camera import CameraSettings, PiCameraSource, open_camera_source, pi_camera_available
from edge.camera.picamera import lores_size_for
from edge.errors import CameraError


class Platform(enum.Enum):
    VC4 = 0
    PISP = 1


def scene(width: int, height: int) -> np.ndarray:
    """A BGR test image with distinct colours per quadrant (catches R/B swaps and misaligned planes)."""
    image = np.zeros((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (255, 0, 0)  # blue
    image[: height // 2, width // 2 :] = (0, 0, 255)  # red
    image[height // 2 :, : width // 2] = (0, 255, 0)  # green
    image[height // 2 :, width // 2 :] = (40, 200, 240)  # yellow-ish
    return image


def yuv420_with_stride(bgr: np.ndarray, stride: int) -> np.ndarray:
    """What libcamera hands over for YUV420: Y rows padded to ``stride``, U/V rows to ``stride / 2``."""
    h, w = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).reshape(-1)
    y, u, v = i420[: h * w], i420[h * w : h * w * 5 // 4], i420[h * w * 5 // 4 :]
    y_plane = np.full((h, stride), 16, np.uint8)
    y_plane[:, :w] = y.reshape(h, w)
    u_plane = np.full((h // 2, stride // 2), 128, np.uint8)
    u_plane[:, : w // 2] = u.reshape(h // 2, w // 2)
    v_plane = np.full((h // 2, stride // 2), 128, np.uint8)
    v_plane[:, : w // 2] = v.reshape(h // 2, w // 2)
    return np.concatenate([y_plane.ravel(), u_plane.ravel(), v_plane.ravel()]).reshape(h * 3 // 2, stride)


class FakeRequest:
    def __init__(self, cam: FakePicamera2, n: int) -> None:
        self.cam, self.n = cam, n

    def make_array(self, name: str) -> np.ndarray:
        config = self.cam.configured[name]
        w, h = config["size"]
        image = scene(w, h)
        if self.cam.fail_conversion:
            raise RuntimeError("Format not supported")
        if config["format"] == "YUV420":
            return yuv420_with_stride(image, stride=w + 64)
        assert config["format"] == "RGB888"
        return image.copy()  # RGB888 is B, G, R in memory

    def get_metadata(self) -> dict[str, Any]:
        return {"SensorTimestamp": 5_000_000_000 + self.n * 33_333_333, "ExposureTime": 10000}


class FakePicamera2:
    platform = Platform.VC4
    cameras: list[dict[str, Any]] = [{"Model": "imx708", "Num": 0}]
    instances: list[FakePicamera2] = []

    def __init__(self, camera_num: int = 0) -> None:
        self.camera_num = camera_num
        self.requested: dict[str, Any] = {}
        self.configured: dict[str, Any] = {}
        self.started = self.closed = False
        self.captures = self.releases = 0
        self.fail_conversion = False
        self.timeout = False
        FakePicamera2.instances.append(self)

    @staticmethod
    def global_camera_info() -> list[dict[str, Any]]:
        return FakePicamera2.cameras

    def create_video_configuration(self, main=None, lores=None, **kwargs: Any) -> dict[str, Any]:
        self.requested = {"main": main, "lores": lores, **kwargs}
        if lores is not None and FakePicamera2.platform == Platform.VC4 and lores["format"] != "YUV420":
            raise RuntimeError("lores stream must be YUV")
        return {"main": dict(main), "lores": dict(lores) if lores else None}

    def align_configuration(self, config: dict[str, Any]) -> None:
        for stream in ("main", "lores"):
            if config.get(stream):
                w, h = config[stream]["size"]
                config[stream]["size"] = (w // 32 * 32 if stream == "lores" else w, h)

    def configure(self, config: dict[str, Any]) -> None:
        self.configured = config

    def stream_configuration(self, name: str) -> dict[str, Any]:
        return self.configured[name]

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True

    @contextlib.contextmanager
    def captured_request(self, wait: Any = None, flush: Any = None) -> Iterator[FakeRequest]:
        if self.timeout:
            raise TimeoutError("timed out waiting for a frame")
        self.captures += 1
        try:
            yield FakeRequest(self, self.captures - 1)
        finally:
            self.releases += 1


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> type[FakePicamera2]:
    """Install ``picamera2`` and ``picamera2.platform`` fakes in sys.modules (the documented practice)."""
    module = types.ModuleType("picamera2")
    module.Picamera2 = FakePicamera2  # type: ignore[attr-defined]
    platform = types.ModuleType("picamera2.platform")
    platform.Platform = Platform  # type: ignore[attr-defined]
    module.platform = platform  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "picamera2", module)
    monkeypatch.setitem(sys.modules, "picamera2.platform", platform)
    monkeypatch.setattr(FakePicamera2, "platform", Platform.VC4)
    monkeypatch.setattr(FakePicamera2, "cameras", [{"Model": "imx708", "Num": 0}])
    monkeypatch.setattr(FakePicamera2, "instances", [])
    return FakePicamera2


def test_ok__pi4_lores_is_yuv420_converted_to_bgr_and_cropped(fake_picamera2: type[FakePicamera2]) -> None:
    """VC4 only makes YUV lores; the stride padding must be cut off and the colours must survive
    (OpenCV's COLOR_YUV420p2BGR is YV12 and would swap blue and red here)."""
    source = PiCameraSource((640, 480), fps=30)
    cam = fake_picamera2.instances[0]
    assert cam.requested["lores"] == {"size": (320, 240), "format": "YUV420"}
    assert cam.requested["main"] == {"size": (640, 480), "format": "RGB888"}
    assert cam.requested["queue"] is False and cam.requested["display"] is None
    assert cam.requested["controls"]["FrameDurationLimits"] == (33333, 33333)
    frame = source.read()
    assert frame.image.shape == (240, 320, 3) and frame.image.dtype == np.uint8
    expected = cv2.cvtColor(cv2.cvtColor(scene(320, 240), cv2.COLOR_BGR2YUV_I420), cv2.COLOR_YUV2BGR_I420)
    assert np.abs(frame.image.astype(int) - expected.astype(int)).max() <= 2
    assert frame.image[60, 80].astype(int).tolist() == pytest.approx([255, 0, 0], abs=8)  # blue stays blue
    assert frame.image[60, 240].astype(int).tolist() == pytest.approx([0, 0, 255], abs=8)  # red stays red
    source.close()
    assert cam.closed and not cam.started


def test_ok__pi5_lores_is_rgb888_without_conversion(fake_picamera2: type[FakePicamera2]) -> None:
    """PiSP allows an RGB lores stream, which is already OpenCV's B, G, R order: no colour conversion."""
    fake_picamera2.platform = Platform.PISP
    source = PiCameraSource((1280, 720), fps=15, lores_long_side=320)
    cam = fake_picamera2.instances[0]
    assert cam.requested["lores"] == {"size": (320, 180), "format": "RGB888"}
    frame = source.read()
    assert frame.image.shape == (180, 320, 3)
    assert np.array_equal(frame.image, scene(320, 180))


def test_ok__aligned_sizes_are_read_back_from_the_camera(fake_picamera2: type[FakePicamera2]) -> None:
    """align_configuration may change the lores size; frames must have the size the camera chose."""
    source = PiCameraSource((1296, 972), fps=30)  # lores 320x240 asked, aligned stays 320
    assert source.size == (320, 240)
    source2 = PiCameraSource((800, 600), fps=30, lores_long_side=300)  # 300x224 -> aligned 288x224
    assert source2.size == (288, 224)
    assert source2.read().image.shape == (224, 288, 3)


def test_ok__small_main_stream_is_delivered_without_lores(fake_picamera2: type[FakePicamera2]) -> None:
    """At or below the model size a second stream would be pointless."""
    source = PiCameraSource((320, 240), fps=30)
    assert fake_picamera2.instances[0].requested["lores"] is None
    assert source.read().image.shape == (240, 320, 3)


def test_ok__timestamps_come_from_the_sensor(fake_picamera2: type[FakePicamera2]) -> None:
    """Sensor timestamps (ns) are exact frame times; relative to the first frame."""
    source = PiCameraSource()
    stamps = [source.read().timestamp for _ in range(4)]
    assert stamps == pytest.approx([0.0, 1 / 30, 2 / 30, 3 / 30], abs=1e-6)


def test_ok__every_request_is_released_even_when_conversion_fails(
    fake_picamera2: type[FakePicamera2],
) -> None:
    """An unreleased request starves libcamera of buffers and the camera stops after 4 frames."""
    source = PiCameraSource()
    cam = fake_picamera2.instances[0]
    for _ in range(3):
        source.read()
    cam.fail_conversion = True
    with pytest.raises(CameraError, match="no frame: RuntimeError"):
        source.read()
    assert cam.captures == cam.releases == 4


def test_fail__frame_timeout_is_a_camera_error(fake_picamera2: type[FakePicamera2]) -> None:
    """A camera that stops delivering (cable pulled) must surface as CameraError so it gets reopened."""
    source = PiCameraSource()
    fake_picamera2.instances[0].timeout = True
    with pytest.raises(CameraError, match="TimeoutError"):
        source.read()


def test_fail__no_camera_connected(fake_picamera2: type[FakePicamera2]) -> None:
    """libcamera lists nothing: CameraError, and the probe says no."""
    fake_picamera2.cameras = []
    assert pi_camera_available() is False
    with pytest.raises(CameraError, match="no Raspberry Pi camera 0"):
        PiCameraSource()


def test_fail__refused_configuration_closes_the_camera(
    fake_picamera2: type[FakePicamera2], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed configure must not leave the camera open (the next attempt would find it busy)."""

    def broken(self: FakePicamera2, config: dict[str, Any]) -> None:
        raise RuntimeError("Failed to configure camera")

    monkeypatch.setattr(fake_picamera2, "configure", broken)
    with pytest.raises(CameraError, match="cannot start: Failed to configure"):
        PiCameraSource()
    assert fake_picamera2.instances[0].closed


def test_fail__without_picamera2_the_error_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a Pi with a plain venv, picamera2 is missing: the message gives the apt package and venv flag."""
    monkeypatch.setitem(sys.modules, "picamera2", None)
    assert pi_camera_available() is False
    with pytest.raises(CameraError, match=r"apt install python3-picamera2.*--system-site-packages"):
        PiCameraSource()


def test_ok__factory_opens_the_pi_camera_through_the_reconnecting_wrapper(
    fake_picamera2: type[FakePicamera2],
) -> None:
    """kind = auto picks the Pi camera when libcamera lists one, wrapped for reconnection."""
    opened = open_camera_source(CameraSettings(width=640, height=480, fps=30))
    assert opened.resolved.kind == "picamera2" and opened.label == "picamera2 0"
    frame = opened.source.read()
    assert frame is not None and frame.image.shape == (240, 320, 3)
    opened.source.close()
    assert fake_picamera2.instances[0].closed


@pytest.mark.parametrize(
    ("size", "long_side", "expected"),
    [
        ((640, 480), 320, (320, 240)),
        ((1920, 1080), 320, (320, 180)),
        ((480, 640), 320, (240, 320)),
        ((320, 240), 320, None),
        ((1640, 1232), 256, (256, 192)),
    ],
)
def test_ok__lores_size_keeps_the_aspect(size: tuple[int, int], long_side: int, expected: object) -> None:
    """A distorted lores stream would distort the person the model sees."""
    assert lores_size_for(size, long_side) == expected
