"""BlazePose GHUM, as MediaPipe runs it: detector, ROI tracking, landmark model, smoothing, mask.

One module per stage: ``detector`` (person detection, anchors, weighted NMS), ``roi`` (rotated
crop regions), ``crop`` (image to tensor), ``landmarker`` (landmark model decoding and projection),
``filters`` (One-Euro and low-pass smoothing), ``segmentation`` (mask warp and blending), and
``estimator`` which composes them.
"""

from edge.blazepose.estimator import STAGES, EstimatorOptions, PoseEstimator

__all__ = ["STAGES", "EstimatorOptions", "PoseEstimator"]
