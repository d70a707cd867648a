"""edge-pose: BlazePose GHUM pose estimation, rep counting and silhouettes for single-board computers.

Importing ``edge`` has no side effects and never imports picamera2, the TFLite runtime or paho;
hardware and runtime libraries are imported by the adapters that need them, when they are built.
"""

__version__ = "0.1.0"
