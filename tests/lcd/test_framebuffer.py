"""Framebuffer output against a file-backed framebuffer and a fake sysfs tree: formats, stride, rotation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.errors import DisplayError
from edge.lcd.framebuffer import FramebufferDisplay, pack_rgb565, pack_xrgb8888, read_geometry
from edge.lcd.render import COUNT, LcdState, layout, render

KNOWN = [  # RGB -> RGB565
    ((255, 0, 0), 0xF800),
    ((0, 255, 0), 0x07E0),
    ((0, 0, 255), 0x001F),
    ((255, 255, 255), 0xFFFF),
    ((0, 0, 0), 0x0000),
    ((8, 4, 8), 0x0821),  # lowest bit of each channel
]


@pytest.mark.parametrize(("rgb", "packed"), KNOWN)
def test_ok__rgb565_packs_known_colours(rgb: tuple[int, int, int], packed: int) -> None:
    assert int(pack_rgb565(np.array([[rgb]], np.uint8))[0, 0]) == packed


def test_ok__rgb565_matches_opencv_and_is_little_endian_in_memory() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    ours = pack_rgb565(rgb).astype("<u2")
    opencv = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR565).view("<u2")[..., 0]  # same bits despite the name
    assert np.array_equal(ours, opencv)
    assert pack_rgb565(np.array([[(255, 0, 0)]], np.uint8)).astype("<u2").tobytes() == b"\x00\xf8"


def test_ok__xrgb8888_is_bgrx_in_memory() -> None:
    assert pack_xrgb8888(np.array([[(1, 2, 3)]], np.uint8)).tobytes() == bytes([3, 2, 1, 255])


def fb_pixels_565(device: Path, width: int, height: int, stride: int) -> np.ndarray:
    raw = np.fromfile(device, np.uint8).reshape(-1, stride)[:height, : width * 2]
    return raw.copy().view("<u2")


def unpack_565(pixels: np.ndarray) -> np.ndarray:
    """(h, w) RGB565 -> (h, w, 3) RGB, for saving what the panel shows."""
    p = pixels.astype(np.uint32)
    r, g, b = (p >> 11) & 31, (p >> 5) & 63, p & 31
    return np.stack([r * 255 // 31, g * 255 // 63, b * 255 // 31], axis=-1).astype(np.uint8)


def test_ok__rendered_frame_lands_in_rgb565_memory_with_a_padded_stride(fake_fb, artifacts: Path) -> None:
    """Prevents: rows sheared by ignoring the stride, padding bytes overwritten, or a wrong pixel format."""
    device, sysfs = fake_fb(240, 240, 16, stride=512)  # 480 bytes of pixels + 32 of padding per row
    fb = FramebufferDisplay(device, sysfs_root=sysfs)
    assert fb.size == (240, 240) and fb.geometry.stride == 512
    frame = render(LcdState(count=8, exercise="squat", status="running", person=True), fb.size)
    fb.show(frame)
    fb.close()
    raw = np.fromfile(device, np.uint8).reshape(240, 512)
    assert (raw[:, 480:] == 0xAA).all(), "row padding untouched"
    pixels = fb_pixels_565(device, 240, 240, 512)
    assert np.array_equal(pixels, pack_rgb565(frame))
    x, y, w, h = layout((240, 240)).count
    digits = pixels[y : y + h, x : x + w]
    assert (digits == 0xFFFF).sum() > 500, "count digits region is not background"
    assert pixels[0, 0] == 0x0000
    cv2.imwrite(str(artifacts / "lcd-fb-rgb565-240x240.png"), unpack_565(pixels)[:, :, ::-1])


def test_ok__32bpp_framebuffer_gets_bgrx(fake_fb) -> None:
    device, sysfs = fake_fb(320, 240, 32)
    fb = FramebufferDisplay(device, sysfs_root=sysfs)
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[10, 20] = (200, 100, 50)
    fb.show(frame)
    fb.close()
    raw = np.fromfile(device, np.uint8).reshape(240, 320, 4)
    assert raw[10, 20].tolist() == [50, 100, 200, 255] and raw[0, 0].tolist() == [0, 0, 0, 255]


@pytest.mark.parametrize(
    ("rotate", "size", "where"),
    [
        (0, (240, 320), (0, 0)),  # (row, column) in panel memory of the frame's top-left pixel
        (90, (320, 240), (0, 239)),  # turned clockwise: top-left goes to top-right
        (180, (240, 320), (319, 239)),
        (270, (320, 240), (319, 0)),
    ],
)
def test_ok__rotation_turns_frames_clockwise_like_luma(
    rotate: int, size: tuple[int, int], where: tuple[int, int], fake_fb
) -> None:
    device, sysfs = fake_fb(240, 320, 16)  # a portrait panel
    fb = FramebufferDisplay(device, rotate=rotate, sysfs_root=sysfs)
    assert fb.size == size
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    frame[0, 0] = (255, 0, 0)
    fb.show(frame)
    fb.close()
    pixels = fb_pixels_565(device, 240, 320, 480)
    assert pixels[where] == 0xF800 and (pixels != 0).sum() == 1


def test_ok__visible_size_from_modes_when_the_memory_is_double_buffered(fake_fb) -> None:
    device, sysfs = fake_fb(240, 240, 16, rows=480, modes="U:240x240p-0\n")
    geometry = read_geometry(device, sysfs)
    assert (geometry.width, geometry.height, geometry.rows) == (240, 240, 480)
    fb = FramebufferDisplay(device, sysfs_root=sysfs)
    fb.show(np.full((240, 240, 3), 255, np.uint8))
    fb.close()
    raw = np.fromfile(device, np.uint8).reshape(480, 480)
    assert (raw[:240] == 0xFF).all() and (raw[240:] == 0xAA).all()


def test_fail__frame_of_the_wrong_size_is_refused(fake_fb) -> None:
    device, sysfs = fake_fb(240, 240, 16)
    fb = FramebufferDisplay(device, sysfs_root=sysfs)
    with pytest.raises(DisplayError, match="320x240"):
        fb.show(np.zeros((240, 320, 3), np.uint8))
    fb.close()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no_sysfs", "lcd.device: cannot read"),
        ("bpp24", "24 bits per pixel"),
        ("short_file", "cannot map"),
        ("no_device", "cannot open"),
        ("bad_stride", "stride"),
    ],
)
def test_fail__unusable_framebuffer_gives_one_clear_line(
    setup: str, message: str, fake_fb, tmp_path: Path
) -> None:
    """Prevents: a traceback (or garbage on the panel) instead of a message naming lcd.device."""
    if setup == "no_sysfs":
        device, sysfs = tmp_path / "fb1", tmp_path / "nowhere"
    else:
        device, sysfs = fake_fb(
            240, 240, 24 if setup == "bpp24" else 16, stride=100 if setup == "bad_stride" else None
        )
        if setup == "short_file":
            device.write_bytes(b"\0" * 100)
        if setup == "no_device":
            device.unlink()
    with pytest.raises(DisplayError, match=message) as err:
        FramebufferDisplay(device, sysfs_root=sysfs)
    assert "\n" not in str(err.value)


def test_ok__clear_blanks_only_the_visible_area(fake_fb) -> None:
    device, sysfs = fake_fb(240, 240, 16, stride=512)
    fb = FramebufferDisplay(device, sysfs_root=sysfs)
    fb.clear()
    fb.close()
    raw = np.fromfile(device, np.uint8).reshape(240, 512)
    assert (raw[:, :480] == 0).all() and (raw[:, 480:] == 0xAA).all()


def test_ok__count_on_the_panel_is_white_rgb565(fake_fb) -> None:
    device, sysfs = fake_fb(320, 240, 16)
    fb = FramebufferDisplay(device, sysfs_root=sysfs)
    fb.show(render(LcdState(count=4), fb.size))
    fb.close()
    x, y, w, h = layout((320, 240)).count
    digits = fb_pixels_565(device, 320, 240, 640)[y : y + h, x : x + w]
    assert (digits == int(pack_rgb565(np.array([[COUNT]], np.uint8))[0, 0])).sum() > 1000
