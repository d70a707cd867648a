"""Logging for the service: one line per record on stderr, with journald priorities under systemd.

journald timestamps every line itself and, with ``SyslogLevelPrefix=yes`` (the default), reads a
leading ``<N>`` as the syslog priority: ``journalctl -p warning`` then shows warnings and errors
only. systemd sets ``$JOURNAL_STREAM`` when stderr is connected to the journal; elsewhere (a
terminal, a test) lines keep the CLI's ``LEVEL name: message`` form.
"""

from __future__ import annotations

import logging
import os
import sys

#: logging level -> syslog priority (sd-daemon(3): <3> err, <4> warning, <6> info, <7> debug).
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class JournalFormatter(logging.Formatter):
    """``<N>name: message``; exception tracebacks stay in the same record (one journal entry)."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        return f"<{priority}>" + super().format(record).replace("\n", "\n    ")


def under_journal() -> bool:
    """True when stderr goes to the systemd journal (``$JOURNAL_STREAM`` names stderr's device:inode)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        device, inode = (int(part) for part in stream.split(":"))
        info = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (info.st_dev, info.st_ino) == (device, inode)


def configure(level: str, verbosity: int = 0) -> None:
    """Set the root logger from ``logging.level`` (``-v`` flags can only make it more verbose).

    Replaces the handlers' formatter with ``JournalFormatter`` under the journal.
    """
    wanted = LEVELS.get(level, logging.INFO)
    if verbosity >= 2:
        wanted = min(wanted, logging.DEBUG)
    elif verbosity == 1:
        wanted = min(wanted, logging.INFO)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    root.setLevel(wanted)
    if under_journal():
        for handler in root.handlers:
            handler.setFormatter(JournalFormatter())
