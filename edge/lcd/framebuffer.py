"""Linux framebuffer output (``/dev/fbN``): SPI panels under a kernel driver (TinyDRM, fbtft) and HDMI/DSI.

Geometry and pixel format come from sysfs (``/sys/class/graphics/fbN/{virtual_size,
bits_per_pixel,stride}``, plus ``modes`` for the visible size when it is smaller than the
virtual one). The device is memory-mapped once; each frame is packed with numpy and copied in
row by row through the stride, so a padded stride (stride > width x bytes per pixel) is right.

Supported formats: 16 bpp RGB565 (what SPI panels expose) and 32 bpp XRGB8888 (HDMI/DSI under
KMS: bytes B, G, R, X in memory). Both little-endian, as fbdev stores them.
"""

from __future__ import annotations

import logging
import mmap
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.errors import DisplayError

log = logging.getLogger(__name__)

SYSFS_GRAPHICS = Path("/sys/class/graphics")


@dataclass(frozen=True)
class FramebufferGeometry:
    """A framebuffer's visible size and memory layout.

    Attributes:
        width, height: visible pixels.
        bits_per_pixel: 16 (RGB565) or 32 (XRGB8888).
        stride: bytes from one row to the next (>= width x bytes per pixel).
        rows: rows the memory holds (the virtual height; >= height).
    """

    width: int
    height: int
    bits_per_pixel: int
    stride: int
    rows: int

    @property
    def bytes_per_pixel(self) -> int:
        return self.bits_per_pixel // 8


def _read_sysfs(folder: Path, name: str, device: str) -> str:
    try:
        return (folder / name).read_text().strip()
    except OSError as exc:
        raise DisplayError(
            f"lcd.device: cannot read {folder / name} for {device} ({exc.strerror or exc}); "
            "is the panel's overlay loaded (dtoverlay=...)?"
        ) from None


def read_geometry(device: str | Path, sysfs_root: Path = SYSFS_GRAPHICS) -> FramebufferGeometry:
    """Read a framebuffer's geometry from sysfs.

    Args:
        device: ``/dev/fb1`` (its name selects ``sysfs_root/fb1``).
        sysfs_root: ``/sys/class/graphics``; tests pass a fake tree.

    Raises:
        DisplayError: the sysfs entries are missing or describe an unsupported format.
    """
    name = Path(device).name
    folder = sysfs_root / name
    size = _read_sysfs(folder, "virtual_size", str(device))
    try:
        vw, vh = (int(v) for v in size.split(","))
        bpp = int(_read_sysfs(folder, "bits_per_pixel", str(device)))
        stride = int(_read_sysfs(folder, "stride", str(device)))
    except ValueError:
        raise DisplayError(f"lcd.device: unreadable geometry for {device} in {folder}") from None
    width, height = vw, vh
    modes = folder / "modes"
    if modes.is_file():
        match = re.search(r"(\d+)x(\d+)", modes.read_text())
        if match and int(match[1]) <= vw and int(match[2]) <= vh:
            width, height = int(match[1]), int(match[2])
    if bpp not in (16, 32):
        raise DisplayError(
            f"lcd.device: {device} uses {bpp} bits per pixel; "
            "only 16 (RGB565) and 32 (XRGB8888) are supported"
        )
    if width <= 0 or height <= 0 or stride < width * bpp // 8:
        raise DisplayError(f"lcd.device: {device} reports {vw}x{vh} at {bpp} bpp with stride {stride}")
    return FramebufferGeometry(width, height, bpp, stride, vh)


def pack_rgb565(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint16]:
    """(h, w, 3) uint8 RGB -> (h, w) uint16 RGB565 (5 bits red high, 6 green, 5 blue low).

    Store it little-endian (``.astype("<u2")``) for fbdev; an SPI panel written directly over
    spidev wants big-endian instead.
    """
    r = rgb[..., 0].astype(np.uint16)
    g = rgb[..., 1].astype(np.uint16)
    b = rgb[..., 2].astype(np.uint16)
    return (((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)).astype(np.uint16, copy=False)


def pack_xrgb8888(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(h, w, 3) uint8 RGB -> (h, w, 4) uint8 in memory order B, G, R, X (X = 255)."""
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[..., 0] = rgb[..., 2]
    out[..., 1] = rgb[..., 1]
    out[..., 2] = rgb[..., 0]
    out[..., 3] = 255
    return out


class FramebufferDisplay:
    """Write frames to ``/dev/fbN`` (or, for tests, a regular file of the same size).

    The mapping uses ``mmap`` + ``np.frombuffer`` rather than ``np.memmap``: a character device
    reports size 0, and ``np.memmap(mode="r+")`` would try to grow it by writing past the end.

    Args:
        device: path of the framebuffer device.
        rotate: degrees (0, 90, 180, 270) each frame is turned clockwise on its way to the panel,
            as luma's ``rotate``; for a panel mounted turned. ``size`` is then the upright size
            the renderer should draw.
        sysfs_root: where to read the geometry (``/sys/class/graphics``).

    Raises:
        DisplayError: missing device, no permission (add the user to group ``video``), bad
            geometry, or a device smaller than the geometry says.
    """

    def __init__(
        self, device: str | Path = "/dev/fb1", rotate: int = 0, sysfs_root: Path = SYSFS_GRAPHICS
    ) -> None:
        if rotate not in (0, 90, 180, 270):
            raise DisplayError(f"lcd.rotate: expected 0, 90, 180 or 270, got {rotate!r}")
        self.device = str(device)
        self.rotate = rotate
        self.geometry = read_geometry(device, sysfs_root)
        g = self.geometry
        length = g.stride * g.rows
        try:
            fd = os.open(self.device, os.O_RDWR)
        except OSError as exc:
            hint = " (add the service user to group 'video')" if isinstance(exc, PermissionError) else ""
            raise DisplayError(f"lcd.device: cannot open {self.device}: {exc.strerror}{hint}") from None
        try:
            self._map = mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except (OSError, ValueError) as exc:
            raise DisplayError(f"lcd.device: cannot map {length} bytes of {self.device}: {exc}") from None
        finally:
            os.close(fd)
        self._memory = np.frombuffer(self._map, np.uint8).reshape(g.rows, g.stride)
        log.info(
            "framebuffer %s: %dx%d, %d bpp, stride %d",
            self.device,
            g.width,
            g.height,
            g.bits_per_pixel,
            g.stride,
        )

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the frames ``show`` takes (upright, after ``rotate``)."""
        g = self.geometry
        return (g.height, g.width) if self.rotate in (90, 270) else (g.width, g.height)

    def show(self, rgb: npt.NDArray[np.uint8]) -> None:
        """Write one (height, width, 3) uint8 RGB frame of ``size``."""
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            raise DisplayError(
                f"frame is {rgb.shape[1]}x{rgb.shape[0]}, the framebuffer takes {self.size[0]}x{self.size[1]}"
            )
        if self.rotate:
            rgb = np.rot90(rgb, k=-self.rotate // 90)  # np.rot90 turns counter-clockwise for k > 0
        g = self.geometry
        if g.bits_per_pixel == 16:
            pixels = np.ascontiguousarray(pack_rgb565(rgb), dtype="<u2").view(np.uint8).reshape(g.height, -1)
        else:
            pixels = pack_xrgb8888(rgb).reshape(g.height, -1)
        self._memory[: g.height, : g.width * g.bytes_per_pixel] = pixels

    def clear(self) -> None:
        """Fill the visible area with black."""
        g = self.geometry
        self._memory[: g.height, : g.width * g.bytes_per_pixel] = 0

    def close(self) -> None:
        if self._map is not None:
            del self._memory
            self._map.close()
            self._map = None  # type: ignore[assignment]
