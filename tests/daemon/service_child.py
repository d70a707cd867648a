"""The daemon with test doubles in a process of its own, for the signal tests.

Usage: ``python service_child.py LOG`` (with tests/daemon and the repository on PYTHONPATH). Plays
an endless 30 fps synthetic camera, counts a rep every 0.3 s, and writes every publisher call as a
JSON line to LOG. Notifies systemd through ``$NOTIFY_SOCKET``. Exits with ``run_service``'s code.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from doubles import EveryFramePose, ListSource, RecordingPublisher, ScriptedRepCounter

from edge.daemon import Daemon, DaemonSettings, run_service
from edge.health import SystemdNotifier


class FilePublisher(RecordingPublisher):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by stop()

    def _record(self, name: str, *args: Any) -> None:
        super()._record(name, *args)
        payload = (
            args[0] if name in ("state", "stats", "availability") else (args[0] if name == "rep" else None)
        )
        self._file.write(json.dumps({"topic": name, "payload": payload}) + "\n")
        self._file.flush()

    def publish_pose(self, pose: Any, frame: int, t: float, image_size: Any = None) -> None:
        self._record("pose", None)

    def stop(self, timeout: float) -> None:
        super().stop(timeout)
        self._file.close()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    publisher = FilePublisher(sys.argv[1])
    estimator = EveryFramePose()
    daemon = Daemon(
        ListSource(10**7, fps=30, realtime=True),
        estimator,
        ScriptedRepCounter([0.3 * k for k in range(1, 10**4)]),
        publisher,
        DaemonSettings(stats_interval_s=0.5),
        notifier=SystemdNotifier(),
    )
    return run_service(daemon, publisher, closers=[estimator.close])


if __name__ == "__main__":
    sys.exit(main())
