"""The device daemon's runtime: threads from the camera to the publisher, commands, health, lifecycle.

* ``Daemon`` (``runtime``): capture, inference and publishing threads; serves MQTT commands.
* ``run_service`` (``service``): start in order, READY=1, stop in reverse on SIGTERM/SIGINT.
* ``protocols``: the interfaces it needs from the estimator, rep counter, silhouette, publisher, LCD.
* ``ScriptedPoseEstimator`` (``scripted``): replays recorded landmarks in place of the model.

Importing this package imports neither the model runtime, nor paho, nor picamera2.
"""

from __future__ import annotations

from edge.daemon.protocols import (
    CommandHandler,
    DisplaySink,
    Notifier,
    PoseEstimatorLike,
    Publisher,
    RepCounterLike,
    RepEventLike,
    SilhouetteStage,
)
from edge.daemon.runtime import CAMERA_ERROR, RUNNING, STARTING, STOPPING, Daemon, DaemonSettings
from edge.daemon.scripted import ScriptedPoseEstimator
from edge.daemon.service import run_service
from edge.daemon.stages import PoseMaskSilhouettes, SelfieMaskSilhouettes

__all__ = [
    "CAMERA_ERROR",
    "RUNNING",
    "STARTING",
    "STOPPING",
    "CommandHandler",
    "Daemon",
    "DaemonSettings",
    "DisplaySink",
    "Notifier",
    "PoseEstimatorLike",
    "PoseMaskSilhouettes",
    "Publisher",
    "RepCounterLike",
    "RepEventLike",
    "ScriptedPoseEstimator",
    "SelfieMaskSilhouettes",
    "SilhouetteStage",
    "run_service",
]
