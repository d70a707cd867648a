"""A real mosquitto broker on free loopback ports (TCP + WebSocket), started and stopped by tests.

Stand-in until the mqtt helper's broker fixture is on main; same idea: Debian's ``mosquitto``
run as a plain process from a generated config, killed by its PID.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, up: bool = True) -> bool:
    """Wait until a TCP connect to loopback ``port`` succeeds (``up``) or fails (not ``up``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if up:
                    return True
        except OSError:
            if not up:
                return True
        time.sleep(0.05)
    return False


class Mosquitto:
    """One mosquitto process; ``stop()`` then ``start()`` restarts it on the same ports (a broker restart).

    Retained messages are kept in memory only (``persistence false``), so a restart loses them,
    exactly like a broker that was reinstalled or whose disk is read-only.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.ws_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"
        self.conf.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    "allow_anonymous true",
                    "persistence false",
                    f"listener {self.port} 127.0.0.1",
                    f"listener {self.ws_port} 127.0.0.1",
                    "protocol websockets",
                    "log_dest stdout",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "",
                ]
            )
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    def start(self, timeout: float = 10.0) -> None:
        if self.proc is not None:
            return
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        if not (wait_for_port(self.port, timeout) and wait_for_port(self.ws_port, timeout)):
            self.stop()
            raise RuntimeError(f"mosquitto did not start; log:\n{self.log.read_text()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        wait_for_port(self.port, 5, up=False)
