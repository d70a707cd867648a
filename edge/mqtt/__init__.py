"""MQTT for edge-pose: the topic contract, the publisher (paho), the outbox, commands, Home
Assistant discovery and the embedded broker.

Importing this package never imports paho: ``MqttPublisher`` imports it when it starts.

* ``topics``: topic names and payload builders (the contract in code).
* ``publisher``: the ``Publisher`` protocol and the rate limiter.
* ``client``: ``MqttPublisher``, the real publisher.
* ``memory``: ``MemoryPublisher``, the test double.
* ``outbox``: the durable sqlite outbox for rep events.
* ``commands``: ``CommandHandler`` protocol, command validation and dispatch.
* ``homeassistant``: the discovery payload.
* ``broker``: ``EmbeddedBroker`` (mosquitto child process).
"""

from __future__ import annotations

from edge.mqtt.broker import EmbeddedBroker
from edge.mqtt.client import MqttPublisher
from edge.mqtt.commands import Command, CommandHandler, parse_command
from edge.mqtt.memory import MemoryPublisher
from edge.mqtt.outbox import Outbox, default_outbox_dir
from edge.mqtt.publisher import Publisher, RateLimiter
from edge.mqtt.topics import Message, Topics

__all__ = [
    "Command",
    "CommandHandler",
    "EmbeddedBroker",
    "MemoryPublisher",
    "Message",
    "MqttPublisher",
    "Outbox",
    "Publisher",
    "RateLimiter",
    "Topics",
    "default_outbox_dir",
    "parse_command",
]
