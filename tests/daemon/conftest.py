"""Fixtures for the runtime tests: run a daemon to its end in a thread, with a deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from edge.daemon import Daemon, run_service


class Runner:
    """Runs ``run_service`` in a thread so a hang fails the test instead of freezing it."""

    def __init__(self) -> None:
        self.threads: list[tuple[threading.Thread, threading.Event]] = []

    def start(self, daemon: Daemon, publisher, **kwargs) -> tuple[threading.Event, Callable[[float], int]]:
        stop = threading.Event()
        result: list[int] = []
        thread = threading.Thread(
            target=lambda: result.append(
                run_service(daemon, publisher, stop_event=stop, install_signals=False, **kwargs)
            ),
            daemon=True,
        )
        thread.start()
        self.threads.append((thread, stop))

        def join(timeout: float) -> int:
            thread.join(timeout)
            assert not thread.is_alive(), f"run_service did not return within {timeout} s"
            return result[0]

        return stop, join

    def run(self, daemon: Daemon, publisher, timeout: float = 20.0, **kwargs) -> int:
        """Run until the source ends; returns the exit code."""
        _, join = self.start(daemon, publisher, **kwargs)
        return join(timeout)


@pytest.fixture
def runner():
    runner = Runner()
    yield runner
    for thread, stop in runner.threads:
        stop.set()
        thread.join(10.0)
