"""The on-disk outbox: rep events (and the latest state) survive broker outages and restarts.

Why sqlite3 (stdlib): every ``put`` is one durable transaction (WAL, ``synchronous=FULL`` for rep
events: a rep that ``put`` returned for survives a crash and a power cut; ``NORMAL`` for the state
snapshot, which survives a crash but may be lost on a power cut), rows come back in insertion order
(``INTEGER PRIMARY KEY AUTOINCREMENT`` never reuses an id, so the order holds across restarts),
and deleting one acknowledged row is one small transaction. An append-only JSON-lines file would
need hand-written compaction, torn-write recovery and fsync discipline; a file per message costs
an fsync and an inode each; paho's own queue lives in memory and dies with the process.

Delivery is at least once: a row is deleted only after the broker's PUBACK. If the daemon dies
between the PUBACK and the delete, the row is sent again after the restart; the rep's ``id``
(``<device>-<session>-<index>``) lets subscribers drop the duplicate.

Bounded: at ``max_messages`` rows the oldest "latest-only" row (the state snapshot) goes first;
only then the oldest rep event, with an ERROR log line and a counter, never silently.

One process per outbox: a second ``Outbox`` on the same folder raises ``PublishError`` (two
senders would duplicate every row).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge.errors import PublishError
from edge.mqtt.topics import Message

log = logging.getLogger(__name__)

FILENAME = "outbox.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    latest_only INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


@dataclass(frozen=True)
class OutboxRow:
    """One stored message; ``id`` grows with every ``put`` and orders delivery."""

    id: int
    message: Message
    latest_only: bool
    created: float


def default_outbox_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$STATE_DIRECTORY`` (systemd ``StateDirectory=``), else ``/var/lib/edge-pose`` if writable,
    else ``$XDG_STATE_HOME/edge-pose`` (default ``~/.local/state/edge-pose``)."""
    env = os.environ if env is None else env
    state_dir = env.get("STATE_DIRECTORY", "").split(":")[0]
    if state_dir:
        return Path(state_dir)
    system = Path("/var/lib/edge-pose")
    if system.is_dir() and os.access(system, os.W_OK | os.X_OK):
        return system
    xdg = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(xdg) / "edge-pose"


class Outbox:
    """A bounded, durable, ordered queue of MQTT messages in ``<directory>/outbox.sqlite3``.

    Thread-safe: the daemon's thread ``put``s while the publisher's delivery thread ``peek``s and
    ``delete``s.

    Args:
        directory: folder of the database (created if missing).
        max_messages: most rows kept (``publish.outbox_max_messages``).

    Raises:
        PublishError: the folder cannot be created or written, or another process uses it.
    """

    def __init__(self, directory: Path | str, max_messages: int = 10000) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        self.max_messages = max(1, int(max_messages))
        self.dropped_reps = 0
        self.dropped_other = 0
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PublishError(
                f"publish.outbox_dir: cannot create {self.directory}: {exc.strerror}"
            ) from None
        self._lock_file = self._acquire_lock()
        self._db = self._open()
        self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        if self._count:
            log.info(
                "outbox %s holds %d undelivered message(s) from before; they go out first",
                self.path,
                self._count,
            )

    # -- opening ---------------------------------------------------------------------------------

    def _acquire_lock(self) -> IO[bytes]:
        lock_path = self.directory / (FILENAME + ".lock")
        try:
            handle = open(lock_path, "ab")  # noqa: SIM115 - held for the outbox's lifetime
        except OSError as exc:
            raise PublishError(f"publish.outbox_dir: cannot write {lock_path}: {exc.strerror}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise PublishError(
                f"publish.outbox_dir: {self.path} is in use by another edge-pose process"
            ) from None
        return handle

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            # Keep the damaged file for inspection; never delete what might hold reps.
            aside = self.path.with_name(f"{FILENAME}.corrupt-{int(time.time())}")
            log.error(
                "outbox %s is damaged (%s); moved it to %s and started an empty one", self.path, exc, aside
            )
            for suffix in ("", "-wal", "-shm"):
                src = Path(str(self.path) + suffix)
                if src.exists():
                    src.rename(str(aside) + suffix)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=5.0)
        except sqlite3.OperationalError as exc:
            raise PublishError(f"publish.outbox_dir: cannot open {self.path}: {exc}") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    # -- queue operations -------------------------------------------------------------------------

    def put(self, message: Message, latest_only: bool = False) -> int:
        """Store a message durably; returns its row id.

        Args:
            message: the message.
            latest_only: only the newest message of this ``kind`` matters (the state snapshot):
                older undelivered rows of the kind are replaced.
        """
        with self._lock:
            # Reps must survive a power cut (fsync per commit); a state snapshot need not, and
            # skipping its fsync spares the SD card while the broker is away.
            self._db.execute(f"PRAGMA synchronous={'NORMAL' if latest_only else 'FULL'}")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if latest_only:
                    cur = self._db.execute(
                        "DELETE FROM outbox WHERE kind = ? AND latest_only = 1", (message.kind,)
                    )
                    self._count -= cur.rowcount
                self._make_room()
                cur = self._db.execute(
                    "INSERT INTO outbox (kind, topic, payload, qos, retain, latest_only, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        message.kind,
                        message.topic,
                        message.payload,
                        message.qos,
                        int(message.retain),
                        int(latest_only),
                        time.time(),
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._count = int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
                raise
            self._count += 1
            return int(cur.lastrowid or 0)

    def _make_room(self) -> None:
        while self._count >= self.max_messages:
            row = self._db.execute(
                "SELECT id, kind, payload FROM outbox ORDER BY latest_only DESC, id ASC LIMIT 1"
            ).fetchone()
            if row is None:
                self._count = 0
                return
            row_id, kind, payload = row
            self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,))
            self._count -= 1
            if kind == "rep":
                self.dropped_reps += 1
                log.error(
                    "outbox full (%d messages, publish.outbox_max_messages): dropped the oldest rep "
                    "event %s; %d rep event(s) lost so far",
                    self.max_messages,
                    payload[:120].decode("utf-8", "replace"),
                    self.dropped_reps,
                )
            else:
                self.dropped_other += 1
                log.warning("outbox full: dropped the oldest %s message", kind)

    def peek(self, after_id: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Up to ``limit`` rows with an id above ``after_id``, oldest first (rows stay stored)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, topic, payload, qos, retain, latest_only, created FROM outbox "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [
            OutboxRow(
                row_id, Message(kind, topic, bytes(payload), int(qos), bool(retain)), bool(latest), created
            )
            for row_id, kind, topic, payload, qos, retain, latest, created in rows
        ]

    def delete(self, ids: Iterable[int]) -> None:
        """Remove delivered rows (ids that are gone already are ignored)."""
        ids = list(ids)
        if not ids:
            return
        with self._lock:
            # a lost delete only means a re-send that subscribers drop by id: no fsync needed
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            removed = 0
            try:
                for row_id in ids:
                    removed += self._db.execute("DELETE FROM outbox WHERE id = ?", (row_id,)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._count -= removed

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        """Close the database and release the folder lock (idempotent)."""
        with self._lock:
            if self._db is not None:
                try:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass
                self._db.close()
                self._db = None  # type: ignore[assignment]
            if self._lock_file is not None:
                self._lock_file.close()
                self._lock_file = None  # type: ignore[assignment]

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
