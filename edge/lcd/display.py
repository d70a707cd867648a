"""The ``Display`` seam and the ``[lcd]`` settings that choose one (CONTRACT.md).

Outputs: ``fb`` (``FramebufferDisplay``), ``luma`` (``LumaDisplay``, optional extra), ``png``
(``PngDisplay``). ``open_display`` builds the configured one; hardware is touched only then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from edge.errors import ConfigError

OUTPUTS = ("fb", "luma", "png")


class Display(Protocol):
    """Something that shows RGB frames of a fixed size."""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames ``show`` takes."""
        ...

    def show(self, rgb: npt.NDArray[np.uint8]) -> None:
        """Show one (height, width, 3) uint8 RGB frame. May raise ``DisplayError`` or ``OSError``."""
        ...

    def clear(self) -> None:
        """Blank the screen."""
        ...

    def close(self) -> None:
        """Release the device."""
        ...


@dataclass(frozen=True)
class LcdSettings:
    """The ``[lcd]`` section (CONTRACT.md), validated."""

    enabled: bool = False
    output: str = "png"
    device: str = "/dev/fb1"
    driver: str = "st7789"
    spi_port: int = 0
    spi_device: int = 0
    gpio_dc: int = 24
    gpio_rst: int = 25
    gpio_backlight: int = 0
    width: int = 240
    height: int = 240
    rotate: int = 0
    fps: float = 5.0
    png_path: str = "/run/edge-pose/lcd.png"

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ConfigError(f"lcd.output: expected one of {', '.join(OUTPUTS)}, got {self.output!r}")
        if self.rotate not in (0, 90, 180, 270):
            raise ConfigError(f"lcd.rotate: expected 0, 90, 180 or 270, got {self.rotate!r}")
        if not (32 <= self.width <= 4096 and 32 <= self.height <= 4096):
            raise ConfigError(
                f"lcd.width/lcd.height: expected 32..4096 pixels, got {self.width}x{self.height}"
            )
        if not 0 < self.fps <= 60:
            raise ConfigError(f"lcd.fps: expected a number in (0, 60], got {self.fps!r}")

    @classmethod
    def from_config(cls, section: Any) -> LcdSettings:
        """Build from a loaded config's ``lcd`` section (any object with the same attribute names)."""
        names = cls.__dataclass_fields__
        return cls(**{name: getattr(section, name) for name in names if hasattr(section, name)})


def open_display(settings: LcdSettings, sysfs_root: Path | None = None) -> Display:
    """Open the configured output.

    Args:
        settings: the ``[lcd]`` section.
        sysfs_root: where framebuffer geometry is read (``/sys/class/graphics``); for tests.

    Raises:
        DisplayError: the device cannot be opened (the message names the key to check).
    """
    if settings.output == "fb":
        from edge.lcd.framebuffer import FramebufferDisplay

        if sysfs_root is None:
            return FramebufferDisplay(settings.device, rotate=settings.rotate)
        return FramebufferDisplay(settings.device, rotate=settings.rotate, sysfs_root=sysfs_root)
    if settings.output == "luma":
        from edge.lcd.panels import LumaDisplay

        return LumaDisplay(
            settings.driver,
            settings.width,
            settings.height,
            settings.rotate,
            settings.spi_port,
            settings.spi_device,
            settings.gpio_dc,
            settings.gpio_rst,
            settings.gpio_backlight,
        )
    from edge.lcd.panels import PngDisplay

    width, height = settings.width, settings.height
    if settings.rotate in (90, 270):
        width, height = height, width
    return PngDisplay(settings.png_path, width, height)
