"""From configuration sections to the runtime's parts: estimator, silhouette stage, LCD sink, settings.

The functions read configuration sections by attribute (``edge.config``'s frozen dataclasses fit;
so does anything with the same attribute names), and import the model runtime, the silhouette
models and the LCD only when called. ``edge.commands.run`` composes them with the publisher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.camera import OpenedSource
from edge.daemon.protocols import SilhouetteStage
from edge.daemon.runtime import DaemonSettings
from edge.pose import Pose
from edge.sources import Frame


def estimator_options(pose: Any, mask_needed: bool) -> Any:
    """``edge.blazepose.EstimatorOptions`` from the ``[pose]`` section.

    Args:
        pose: the ``[pose]`` section.
        mask_needed: something consumes the person mask (silhouettes from the pose, or the LCD);
            without a consumer the segmentation output is not computed, whatever
            ``pose.segmentation`` says.
    """
    from edge.blazepose import EstimatorOptions

    return EstimatorOptions(
        model=pose.model,
        segmentation=bool(pose.segmentation and mask_needed),
        smooth_landmarks=pose.smooth_landmarks,
        mask_smoothing=pose.mask_smoothing,
        min_detection_confidence=pose.min_detection_confidence,
        min_tracking_confidence=pose.min_tracking_confidence,
        mask_max_side=pose.mask_max_side,
        backend=pose.backend,
        threads=pose.threads,
        delegate=pose.delegate,
        edgetpu_device=pose.edgetpu_device,
        edgetpu_model=pose.edgetpu_model,
        edgetpu_fallback=pose.edgetpu_fallback,
        model_dir=pose.model_dir,
    )


def build_silhouette_stage(silhouette: Any, pose: Any, publish: Any) -> SilhouetteStage | None:
    """The silhouette stage for ``[silhouette]``, or None when disabled or never published.

    Raises:
        ConfigError: invalid ``silhouette.*`` values.
        ModelError: the Selfie Segmentation model cannot be loaded.
    """
    if not silhouette.enabled or publish.silhouette_hz <= 0:
        return None
    from edge.daemon.stages import PoseMaskSilhouettes, SelfieMaskSilhouettes
    from edge.silhouette import SilhouetteExtractor

    extractor = SilhouetteExtractor(
        threshold=silhouette.threshold, max_points=silhouette.max_points, source=silhouette.source
    )
    if silhouette.source == "pose":
        return PoseMaskSilhouettes(extractor, png=silhouette.png, png_size=silhouette.png_size)
    from edge.selfie import SelfieSegmenter

    variant = silhouette.source.removeprefix("selfie-")
    segmenter = SelfieSegmenter(
        variant, backend=pose.backend, num_threads=pose.threads, model_dir=pose.model_dir or None
    )
    return SelfieMaskSilhouettes(segmenter, extractor, png=silhouette.png, png_size=silhouette.png_size)


def mask_needed(config: Any) -> bool:
    """Whether anything uses the pose model's person mask."""
    silhouettes = (
        config.silhouette.enabled and config.silhouette.source == "pose" and config.publish.silhouette_hz > 0
    )
    return bool(silhouettes or config.lcd.enabled)


def daemon_settings(config: Any, opened: OpenedSource) -> DaemonSettings:
    """``DaemonSettings`` from the whole configuration and the opened source."""
    from edge.config import POSE_HZ_MAX, SILHOUETTE_HZ_MAX

    return DaemonSettings(
        device_id=config.device_id,
        source_label=opened.label,
        lossless=opened.lossless,
        exercise=config.reps.exercise,
        pose_hz=config.publish.pose_hz,
        silhouette_hz=config.publish.silhouette_hz,
        stats_interval_s=config.publish.stats_interval_s,
        model=config.pose.model,
        delegate=config.pose.delegate,
        max_pose_hz=POSE_HZ_MAX,
        max_silhouette_hz=SILHOUETTE_HZ_MAX,
    )


class LcdSink:
    """``DisplaySink`` for ``edge.lcd.LcdRenderer``: hands it the newest frame, pose and state.

    The renderer draws from its own thread; ``update`` only swaps its state, so this never waits
    for the panel (and the daemon calls it from its display thread anyway).
    """

    def __init__(self, renderer: Any) -> None:
        self.renderer = renderer

    def show(
        self, frame: Frame, pose: Pose | None, state: Mapping[str, Any], fps: float | None = None
    ) -> None:
        self.renderer.update(
            count=state.get("count"),
            exercise=state.get("exercise") or "",
            status=state.get("status", "running"),
            person=pose is not None,
            fps=fps,
            thumbnail=frame.image,
            image_size=frame.size,
            landmarks=None if pose is None else pose.landmarks,
            mask=None if pose is None else pose.mask,
        )
