"""luma.lcd output (on luma's own dummy device), PNG output, settings and the output factory."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.errors import ConfigError, DisplayError
from edge.lcd.display import LcdSettings, open_display
from edge.lcd.framebuffer import FramebufferDisplay
from edge.lcd.panels import LumaDisplay, PngDisplay
from edge.lcd.render import LcdState, layout, render

luma_device = pytest.importorskip(
    "luma.core.device", reason="luma.lcd not installed (pip install 'edge-pose[lcd]')"
)


@pytest.mark.parametrize(
    ("width", "height", "rotate", "size"), [(240, 240, 0, (240, 240)), (320, 240, 1, (240, 320))]
)
def test_ok__luma_panel_receives_the_rendered_pixels(
    width: int, height: int, rotate: int, size: tuple[int, int]
) -> None:
    """Prevents: colour channels swapped or the frame resized on the way into luma."""
    dummy = luma_device.dummy(width=width, height=height, rotate=rotate, mode="RGB")
    panel = LumaDisplay(device=dummy)
    assert panel.size == size
    frame = render(LcdState(count=9, exercise="squat", status="running"), panel.size)
    panel.show(frame)
    shown = np.asarray(dummy.image)  # luma keeps the image after its own rotation
    assert np.array_equal(shown, np.rot90(frame, k=-rotate))
    x, y, w, h = layout(size).count
    assert (frame[y : y + h, x : x + w] == 255).all(axis=2).sum() > 500


def test_fail__luma_panel_without_spi_hardware_gives_one_clear_line() -> None:
    """On a machine without /dev/spidev0.0 (this one), opening a real panel fails with a DisplayError."""
    with pytest.raises(DisplayError, match=r"cannot open st7789 on /dev/spidev0\.0") as err:
        LumaDisplay("st7789")
    assert "\n" not in str(err.value)


def test_fail__unknown_luma_driver_lists_the_known_ones() -> None:
    with pytest.raises(DisplayError, match="lcd.driver: unknown 'st9999'; expected one of st7789"):
        LumaDisplay("st9999")


def test_ok__png_output_replaces_the_file_with_each_frame(tmp_path: Path) -> None:
    path = tmp_path / "run" / "lcd.png"
    png = PngDisplay(path, 320, 240)
    for count in (1, 2):
        frame = render(LcdState(count=count), png.size)
        png.show(frame)
        assert np.array_equal(cv2.imread(str(path))[:, :, ::-1], frame)
    assert [p.name for p in path.parent.iterdir()] == ["lcd.png"], "no temporary files left behind"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"output": "hdmi"}, "lcd.output"),
        ({"rotate": 45}, "lcd.rotate"),
        ({"width": 8}, "lcd.width"),
        ({"fps": 0}, "lcd.fps"),
    ],
)
def test_fail__bad_lcd_settings_name_their_key(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LcdSettings(**changes)


def test_ok__open_display_builds_the_configured_output(tmp_path: Path, fake_fb) -> None:
    png = open_display(
        LcdSettings(output="png", png_path=str(tmp_path / "x.png"), width=320, height=240, rotate=90)
    )
    assert isinstance(png, PngDisplay) and png.size == (240, 320)
    device, sysfs = fake_fb(240, 240, 16)
    fb = open_display(LcdSettings(output="fb", device=str(device)), sysfs_root=sysfs)
    assert isinstance(fb, FramebufferDisplay) and fb.size == (240, 240)
    fb.close()


def test_ok__settings_come_from_a_config_section() -> None:
    class Section:
        enabled, output, width, height, fps, unknown_extra = True, "fb", 320, 240, 10, "ignored"

    settings = LcdSettings.from_config(Section())
    assert (settings.output, settings.width, settings.fps, settings.device) == ("fb", 320, 10, "/dev/fb1")
