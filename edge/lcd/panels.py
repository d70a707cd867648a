"""The other outputs: SPI panels driven from user space with luma.lcd, and PNG files.

luma.lcd (optional extra ``lcd``: ``pip install 'edge-pose[lcd]'``) and Pillow are imported when
a ``LumaDisplay`` is built, never at import time.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.errors import DisplayError

log = logging.getLogger(__name__)

#: luma.lcd classes for colour TFT panels we lay out for (``lcd.driver``).
LUMA_DRIVERS = ("st7789", "ili9341", "ili9486", "ili9488", "st7735")


class LumaDisplay:
    """An SPI TFT panel through ``luma.lcd`` (ST7789, ILI9341, ...).

    Args:
        driver: luma.lcd device class name (``lcd.driver``).
        width, height: panel size in its native orientation.
        rotate: 0, 90, 180 or 270 degrees clockwise (luma's ``rotate`` in quarter turns).
        spi_port, spi_device: ``/dev/spidev<port>.<device>``.
        gpio_dc, gpio_rst: BCM pins of the data/command and reset lines.
        gpio_backlight: BCM pin switching the backlight; 0 leaves the backlight alone.
        bus_speed_hz: SPI clock.
        device: an already built luma device (tests pass ``luma.core.device.dummy``); the other
            arguments are then ignored.

    Raises:
        DisplayError: luma.lcd is not installed, the driver is unknown, or the SPI bus / GPIO
            cannot be opened (the message says which).
    """

    def __init__(
        self,
        driver: str = "st7789",
        width: int = 240,
        height: int = 240,
        rotate: int = 0,
        spi_port: int = 0,
        spi_device: int = 0,
        gpio_dc: int = 24,
        gpio_rst: int = 25,
        gpio_backlight: int = 0,
        bus_speed_hz: int = 32_000_000,
        device: Any = None,
    ) -> None:
        try:
            from PIL import Image
        except ImportError:
            raise DisplayError("lcd.output = 'luma' needs luma.lcd: pip install 'edge-pose[lcd]'") from None
        self._image = Image
        if device is None:
            device = self._open(
                driver,
                width,
                height,
                rotate,
                spi_port,
                spi_device,
                gpio_dc,
                gpio_rst,
                gpio_backlight,
                bus_speed_hz,
            )
        self.device = device

    @staticmethod
    def _open(
        driver: str,
        width: int,
        height: int,
        rotate: int,
        spi_port: int,
        spi_device: int,
        gpio_dc: int,
        gpio_rst: int,
        gpio_backlight: int,
        bus_speed_hz: int,
    ) -> Any:
        if driver not in LUMA_DRIVERS:
            raise DisplayError(f"lcd.driver: unknown {driver!r}; expected one of {', '.join(LUMA_DRIVERS)}")
        if rotate not in (0, 90, 180, 270):
            raise DisplayError(f"lcd.rotate: expected 0, 90, 180 or 270, got {rotate!r}")
        try:
            from luma.core.interface.serial import spi
            from luma.lcd import device as luma_devices
        except ImportError:
            raise DisplayError("lcd.output = 'luma' needs luma.lcd: pip install 'edge-pose[lcd]'") from None
        options: dict[str, Any] = {"width": width, "height": height, "rotate": rotate // 90}
        if gpio_backlight:
            options["gpio_LIGHT"] = gpio_backlight
        else:
            options["backlight"] = lambda on: None  # do not claim a pin the board may use otherwise
        try:
            serial = spi(
                port=spi_port,
                device=spi_device,
                gpio_DC=gpio_dc,
                gpio_RST=gpio_rst,
                bus_speed_hz=bus_speed_hz,
            )
            return getattr(luma_devices, driver)(serial, **options)
        except Exception as exc:  # luma raises DeviceNotFoundError, DevicePermissionError, RuntimeError...
            raise DisplayError(
                f"lcd: cannot open {driver} on /dev/spidev{spi_port}.{spi_device} "
                f"(DC {gpio_dc}, RST {gpio_rst}): {exc}"
            ) from None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames ``show`` takes (luma applies the rotation)."""
        return tuple(self.device.size)  # type: ignore[return-value]

    def show(self, rgb: npt.NDArray[np.uint8]) -> None:
        """Send one (height, width, 3) uint8 RGB frame."""
        self.device.display(self._image.fromarray(rgb, "RGB"))

    def clear(self) -> None:
        self.device.clear()

    def close(self) -> None:
        cleanup = getattr(self.device, "cleanup", None)
        if cleanup is not None:
            cleanup()


class PngDisplay:
    """Write each frame to a PNG file (headless use, screenshots, a status page).

    The file is replaced atomically (write to a temporary file, then rename), so a reader never
    sees half a frame.

    Args:
        path: the PNG file; its folder is created.
        width, height: frame size.
    """

    def __init__(self, path: str | Path, width: int = 240, height: int = 240) -> None:
        self.path = Path(path)
        self._size = (int(width), int(height))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DisplayError(
                f"lcd.png_path: cannot create {self.path.parent}: {exc.strerror or exc}"
            ) from None

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def show(self, rgb: npt.NDArray[np.uint8]) -> None:
        import cv2

        ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
        if not ok:
            raise DisplayError(f"lcd.png_path: cannot encode a {rgb.shape} frame as PNG")
        fd, tmp = tempfile.mkstemp(prefix=".lcd-", suffix=".png", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data.tobytes())
            os.replace(tmp, self.path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        self.show(np.zeros((self._size[1], self._size[0], 3), np.uint8))

    def close(self) -> None:
        pass
