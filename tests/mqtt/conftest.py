"""Fixtures for the MQTT tests: real mosquitto processes, real sockets, a recording subscriber.

Every broker is ``mosquitto -c <generated conf>`` on a free loopback port, started by the test
that needs it and killed afterwards (no system service). Tests are skipped, with the reason,
only when the mosquitto binary is missing (``apt-get install mosquitto mosquitto-clients``).
Helpers live in ``mqtt_helpers.py``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import Mosquitto, Subscriber


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Factory: ``mosquitto(conf="...", persistence=False)`` starts a broker; killed after the test."""
    started: list[Mosquitto] = []

    def make(conf: str = "", persistence: bool = False, port: int | None = None) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"broker{len(started)}", conf, port=port, persistence=persistence)
        started.append(broker)
        return broker.start()

    yield make
    for broker in started:
        broker.stop(signal.SIGKILL)


@pytest.fixture
def broker(mosquitto: Callable[..., Mosquitto]) -> Mosquitto:
    """A plain anonymous broker on a free loopback port."""
    return mosquitto()


@pytest.fixture
def subscribers() -> Iterator[Callable[..., Subscriber]]:
    """Factory of recording subscribers (``Subscriber(port, topics)``), closed after the test."""
    made: list[Subscriber] = []

    def make(*args: Any, **kwargs: Any) -> Subscriber:
        sub = Subscriber(*args, **kwargs)
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()
