"""What a live source reports about itself: up, or down with a reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SourceStatus:
    """State of a live source, reported on every change (never per frame).

    Attributes:
        ok: frames are flowing.
        message: why not, one line (empty when ok). Never contains credentials from a stream URL.
        attempts: failed (re)open attempts since the source went down (0 when ok).
        since: ``time.monotonic()`` of the change.
    """

    ok: bool
    message: str = ""
    attempts: int = 0
    since: float = 0.0


#: Called from the capture thread on every change of ``SourceStatus.ok`` (and of the first error).
StatusCallback = Callable[[SourceStatus], None]
