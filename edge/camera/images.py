"""Small image helpers shared by the camera adapters."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


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
