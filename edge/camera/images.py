"""Small image helpers shared by the camera adapters."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np
import numpy.typing as npt


def to_bgr(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(H, W, 3) uint8 BGR from a grey (H, W), BGRA (H, W, 4) or BGR image (returned as is)."""
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return image


def redact_url(url: str) -> str:
    """The URL without its password (``rtsp://user:secret@cam/x`` -> ``rtsp://user:***@cam/x``).

    Stream URLs end up in logs and in the MQTT ``state`` payload; credentials must not.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
