"""The daemon's topics as a viewer sees them: the device's topic table (``edge.mqtt.topics``) read
from the other side.

``<prefix>/<device_id>/<kind>``, where kind is one of ``KINDS``. A viewer subscribes with one
wildcard per kind, never ``#``, so a noisy neighbour under the same prefix costs nothing.
"""

from __future__ import annotations

import re

from edge.mqtt.commands import COMMANDS as DEVICE_COMMANDS
from edge.mqtt.topics import TOPICS, Topics

#: What viewers read: every topic the device publishes (``cmd`` is written, never read).
KINDS: tuple[str, ...] = tuple(spec.suffix for spec in TOPICS.values() if not spec.inbound)

#: Device ids as the configuration allows them (``[a-z0-9_-]``).
DEVICE_ID = re.compile(r"^[a-z0-9_-]{1,64}$")

#: Commands a viewer may send: the ones the device accepts.
COMMANDS: frozenset[str] = frozenset(DEVICE_COMMANDS)


def subscriptions(prefix: str, kinds: tuple[str, ...] = KINDS, device_id: str = "+") -> list[str]:
    """Topic filters for ``kinds`` of one device (or all, with ``+``)."""
    return [f"{prefix}/{device_id}/{kind}" for kind in kinds]


def parse(prefix: str, topic: str) -> tuple[str, str] | None:
    """Split a topic into (device_id, kind); None when it is not a viewer topic under ``prefix``."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    device, _, kind = topic[len(head) :].partition("/")
    if kind not in KINDS or not DEVICE_ID.match(device):
        return None
    return device, kind


def command_topic(prefix: str, device_id: str) -> str:
    """Where a device listens for commands."""
    return Topics(prefix, device_id).cmd
