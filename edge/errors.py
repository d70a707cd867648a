"""The one small hierarchy of errors edge-pose raises on purpose.

Every error a user can cause (a missing file, a corrupt model, a bad config value, a malformed
command, an unplugged camera, an unreachable broker) is an ``EdgeError`` whose message is one
line that says what is wrong and, where it helps, what to do. The command line prints that line
and exits with code 2 instead of a traceback.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base class of every error edge-pose raises for a condition the user can fix."""


class ConfigError(EdgeError):
    """A configuration value is missing, unknown or invalid; the message names its key."""


class InputError(EdgeError):
    """An input (video, image, folder, stream) cannot be found, opened or decoded."""


class ModelError(EdgeError):
    """A model file is missing, corrupt or does not have the tensors BlazePose needs."""


class RuntimeBackendError(ModelError):
    """The inference runtime (LiteRT, tflite-runtime) or a delegate (Edge TPU) cannot be loaded."""


class CameraError(EdgeError):
    """A camera or stream cannot be opened, or stopped delivering frames."""


class PublishError(EdgeError):
    """The MQTT broker cannot be reached or refused the connection (credentials, TLS)."""


class CommandError(EdgeError):
    """A command received over MQTT is malformed, unknown or not allowed."""


class DisplayError(EdgeError):
    """The LCD or framebuffer cannot be opened or written."""
