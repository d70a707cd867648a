"""Graceful stop of a real process: SIGTERM/SIGINT -> finish, flush, offline, exit 0, quickly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_ok__signal_stops_gracefully_within_the_stop_timeout(tmp_path: Path, signum: signal.Signals) -> None:
    """systemctl stop sends SIGTERM and kills after TimeoutStopSec=15s; Ctrl-C sends SIGINT. Either
    must end with the final state, every counted rep published, "offline", STOPPING=1 and exit 0."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(10.0)
    log = tmp_path / "published.jsonl"
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), PYTHONPATH=f"{HERE}{os.pathsep}{REPO}")
    env.pop("WATCHDOG_USEC", None)
    child = subprocess.Popen(
        [sys.executable, str(HERE / "service_child.py"), str(log)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        messages: list[str] = []
        while "READY=1" not in messages:
            messages += notify.recv(4096).decode().split("\n")
        time.sleep(1.0)  # a few reps
        t0 = time.monotonic()
        child.send_signal(signum)
        rc = child.wait(timeout=10.0)
        stop_time = time.monotonic() - t0
        stderr = child.stderr.read() if child.stderr else ""
        notify.settimeout(0.5)
        try:
            while True:
                messages += notify.recv(4096).decode().split("\n")
        except TimeoutError:
            pass
    finally:
        if child.poll() is None:
            child.kill()
        notify.close()
    assert rc == 0, stderr
    assert stop_time < 3.0, f"stopping took {stop_time:.1f} s"
    assert "STOPPING=1" in messages
    assert f"{signal.Signals(signum).name} received: stopping" in stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0] == {"topic": "availability", "payload": "online"}
    assert calls[-1] == {"topic": "availability", "payload": "offline"}
    states = [c["payload"] for c in calls if c["topic"] == "state"]
    assert states[-1]["status"] == "stopping"
    reps = [c["payload"] for c in calls if c["topic"] == "rep"]
    assert len(reps) >= 2 and len(reps) == states[-1]["count"], "every counted rep is published before exit"
    last_state_at = max(i for i, c in enumerate(calls) if c["topic"] == "state")
    assert all(i < last_state_at for i, c in enumerate(calls) if c["topic"] == "rep")
