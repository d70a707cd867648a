"""Silhouettes keep the person, drop the rest, and describe it in a small, exact JSON."""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest

from edge.errors import ConfigError, InputError
from edge.landmarks import PoseLandmark
from edge.silhouette import Silhouette, SilhouetteExtractor


def _blob(height: int = 90, width: int = 160) -> np.ndarray:
    """A person-probability mask with one 40x50 rectangle of certainty."""
    mask = np.zeros((height, width), np.float32)
    mask[20:70, 60:100] = 1.0
    return mask


def _landmarks_at(x: float, y: float) -> np.ndarray:
    """(33, 4) landmarks, all visible, with the torso centred on (x, y) and the rest far off-frame."""
    lm = np.full((33, 4), -1.0, np.float32)
    lm[:, 3] = 1.0
    for landmark, (dx, dy) in {
        PoseLandmark.LEFT_SHOULDER: (0.02, -0.05),
        PoseLandmark.RIGHT_SHOULDER: (-0.02, -0.05),
        PoseLandmark.LEFT_HIP: (0.02, 0.05),
        PoseLandmark.RIGHT_HIP: (-0.02, 0.05),
    }.items():
        lm[landmark, :2] = (x + dx, y + dy)
    return lm


def _fill(polygon: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    canvas = np.zeros(shape, np.uint8)
    points = np.rint(polygon * (width, height) - 0.5).astype(np.int32)
    cv2.fillPoly(canvas, [points], 1)
    return canvas.astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_ok__rectangle_gives_its_corners_area_bbox_and_centroid() -> None:
    """Guards the normalisation conventions (pixel centres at (i + 0.5) / w, bbox on pixel edges)."""
    silhouette = SilhouetteExtractor().extract(_blob())
    assert silhouette is not None
    assert silhouette.area == pytest.approx(40 * 50 / (160 * 90))
    assert silhouette.bbox == pytest.approx((60 / 160, 20 / 90, 100 / 160, 70 / 90))
    assert silhouette.centroid == pytest.approx((80 / 160, 45 / 90))
    corners = {tuple(np.round(p, 4)) for p in silhouette.polygon.tolist()}
    expected = {
        (60.5 / 160, 20.5 / 90),
        (99.5 / 160, 20.5 / 90),
        (99.5 / 160, 69.5 / 90),
        (60.5 / 160, 69.5 / 90),
    }
    assert corners == {tuple(np.round(p, 4)) for p in expected}
    assert silhouette.mask.dtype == bool and silhouette.mask.shape == (90, 160)
    assert silhouette.source == "pose" and silhouette.threshold == 0.5


def test_ok__nothing_above_threshold_gives_none() -> None:
    """An empty frame must not produce a phantom silhouette."""
    mask = np.full((90, 160), 0.49, np.float32)
    assert SilhouetteExtractor(threshold=0.5).extract(mask) is None


def test_ok__person_smaller_than_min_area_gives_none() -> None:
    """A distant speck is not a person worth publishing."""
    mask = np.zeros((100, 100), np.float32)
    mask[10:13, 10:13] = 1.0  # 0.09% of the frame
    assert SilhouetteExtractor(min_area=0.002).extract(mask) is None
    assert SilhouetteExtractor(min_area=0.0005).extract(mask) is not None


def test_ok__largest_component_wins_and_specks_and_far_blobs_are_dropped() -> None:
    """Without landmarks the biggest blob is the person; other people and noise leave the mask."""
    mask = _blob()
    mask[5:25, 5:25] = 1.0  # another, smaller person far away
    mask[85, 150] = 1.0  # a speck
    silhouette = SilhouetteExtractor().extract(mask)
    assert silhouette is not None
    assert silhouette.area == pytest.approx(40 * 50 / (160 * 90))
    assert not silhouette.mask[5:25, 5:25].any()


def test_ok__landmarks_choose_the_component_under_the_torso() -> None:
    """The pose's own body is kept even when someone bigger stands in the frame."""
    mask = _blob()  # the big one, centre (0.5, 0.5)
    mask[5:35, 5:25] = 1.0  # the pose's person, smaller, centre ~(0.09, 0.22)
    silhouette = SilhouetteExtractor().extract(mask, landmarks=_landmarks_at(15 / 160, 20 / 90))
    assert silhouette is not None
    assert silhouette.area == pytest.approx(20 * 30 / (160 * 90))
    assert silhouette.bbox == pytest.approx((5 / 160, 5 / 90, 25 / 160, 35 / 90))


def test_ok__torso_off_every_component_falls_back_to_the_largest() -> None:
    """Landmarks that miss the mask (NaN rows, or a torso over background) must not lose the person."""
    mask = _blob()
    lm = _landmarks_at(0.05, 0.9)
    assert SilhouetteExtractor().extract(mask, landmarks=lm) is not None
    lm[:] = np.nan
    assert SilhouetteExtractor().extract(mask, landmarks=lm) is not None


def test_ok__a_part_cut_off_close_to_the_body_stays_and_joins_the_outline() -> None:
    """A foot separated by a thin low-probability ankle is still the person (mask and polygon)."""
    mask = np.zeros((144, 256), np.float32)
    mask[20:100, 100:140] = 1.0  # body
    mask[102:120, 110:130] = 1.0  # a foot, 2 px below (gap < part_gap = 2% of 256 ~ 5 px)
    silhouette = SilhouetteExtractor().extract(mask)
    assert silhouette is not None
    assert silhouette.mask[102:120, 110:130].all()
    assert silhouette.bbox[3] == pytest.approx(120 / 144)
    assert silhouette.polygon[:, 1].max() > 118 / 144  # the outline reaches the foot


def test_ok__a_part_holding_a_visible_landmark_stays() -> None:
    """A hand far from the body but under the wrist landmark belongs to the person."""
    mask = np.zeros((144, 256), np.float32)
    mask[40:120, 100:140] = 1.0
    mask[10:25, 200:215] = 1.0  # raised hand, far away
    lm = _landmarks_at(120 / 256, 80 / 144)
    lm[PoseLandmark.LEFT_WRIST, :2] = (207 / 256, 17 / 144)
    assert SilhouetteExtractor().extract(mask, landmarks=lm).mask[10:25, 200:215].all()
    lm[PoseLandmark.LEFT_WRIST, 3] = 0.1  # the model does not see that wrist
    assert not SilhouetteExtractor().extract(mask, landmarks=lm).mask[10:25, 200:215].any()


def test_ok__small_holes_are_filled_and_real_gaps_stay_open() -> None:
    """Noise holes vanish; the gap between an arm on the hip and the body is part of the shape."""
    mask = np.zeros((144, 256), np.float32)
    mask[20:120, 80:180] = 1.0
    mask[40:42, 100:102] = 0.0  # 4 px noise hole (0.04% of the person)
    mask[60:90, 120:150] = 0.0  # 900 px gap (9% of the person)
    silhouette = SilhouetteExtractor(max_hole=0.01).extract(mask)
    assert silhouette is not None
    assert silhouette.mask[40:42, 100:102].all()
    assert not silhouette.mask[60:90, 120:150].any()


def test_ok__polygon_respects_max_points_and_still_covers_the_shape() -> None:
    """The bound keeps MQTT messages small without turning the outline into a blob."""
    height, width = 144, 256
    mask = np.zeros((height, width), np.uint8)
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    radii = np.where(np.arange(24) % 2 == 0, 60, 30)  # a 12-pointed star
    star = np.stack([128 + radii * np.cos(angles), 72 + radii * np.sin(angles)], axis=1).astype(np.int32)
    cv2.fillPoly(mask, [star], 1)
    for max_points, min_iou in ((64, 0.95), (24, 0.95), (8, 0.4)):
        silhouette = SilhouetteExtractor(max_points=max_points).extract(mask.astype(np.float32))
        assert silhouette is not None
        assert 3 <= len(silhouette.polygon) <= max_points
        assert _iou(_fill(silhouette.polygon, (height, width)), silhouette.mask) >= min_iou


def test_ok__large_masks_are_worked_at_working_size() -> None:
    """A 1280x720 mask is downscaled first (speed on the Pi) and keeps its normalised geometry."""
    mask = cv2.resize(_blob(), (1280, 720), interpolation=cv2.INTER_NEAREST)
    silhouette = SilhouetteExtractor(working_size=256).extract(mask)
    assert silhouette is not None
    assert silhouette.mask.shape == (144, 256)
    assert silhouette.bbox == pytest.approx((0.375, 20 / 90, 0.625, 70 / 90), abs=1 / 144)
    assert silhouette.area == pytest.approx(40 * 50 / (160 * 90), rel=0.03)


def test_ok__uint8_masks_read_as_value_over_255() -> None:
    """Masks stored as 0..255 (the reference npz, the pipeline's --masks) threshold like floats."""
    probability = np.tile(np.linspace(0, 1, 160, dtype=np.float32), (90, 1))
    as_uint8 = np.rint(probability * 255).astype(np.uint8)
    from_float = SilhouetteExtractor().extract(as_uint8.astype(np.float32) / 255)
    from_uint8 = SilhouetteExtractor().extract(as_uint8)
    assert from_float is not None and from_uint8 is not None
    np.testing.assert_array_equal(from_float.mask, from_uint8.mask)


def test_ok__json_is_rounded_small_and_round_trips() -> None:
    """The MQTT payload has the agreed keys, 4-decimal numbers and a decodable 1-bit PNG."""
    silhouette = SilhouetteExtractor(source="selfie-general").extract(_blob())
    assert silhouette is not None
    data = silhouette.to_json()
    assert set(data) == {"polygon", "area", "bbox", "centroid", "threshold", "source"}
    assert data["source"] == "selfie-general"
    numbers = [v for p in data["polygon"] for v in p] + data["bbox"] + data["centroid"] + [data["area"]]
    assert all(round(v, 4) == v for v in numbers)
    text = json.dumps(data, separators=(",", ":"))
    assert len(text) < 300
    with_png = silhouette.to_json(png=True, png_size=48)
    png = cv2.imdecode(np.frombuffer(base64.b64decode(with_png["png"]), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert png.shape == (27, 48)
    expected = (
        cv2.resize(silhouette.mask.astype(np.uint8) * 255, (48, 27), interpolation=cv2.INTER_AREA) >= 128
    )
    np.testing.assert_array_equal(png > 127, expected)


def test_ok__repr_is_one_short_line() -> None:
    """Logging a silhouette must not dump its arrays."""
    silhouette = SilhouetteExtractor().extract(_blob())
    assert isinstance(silhouette, Silhouette)
    assert "\n" not in repr(silhouette) and len(repr(silhouette)) < 200


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"threshold": 1.0}, "silhouette.threshold"),
        ({"threshold": 0.0}, "silhouette.threshold"),
        ({"max_points": 2}, "silhouette.max_points"),
        ({"min_area": 1.5}, "silhouette.min_area"),
        ({"working_size": 8}, "silhouette.working_size"),
        ({"source": "kinect"}, "source"),
    ],
)
def test_fail__bad_settings_name_their_key(kwargs: dict, key: str) -> None:
    """A bad config value gives one clear error naming it, not a crash at the first frame."""
    with pytest.raises(ConfigError, match=key):
        SilhouetteExtractor(**kwargs)


@pytest.mark.parametrize("mask", [np.zeros((4, 4, 3), np.float32), np.zeros((0, 5), np.float32)])
def test_fail__mask_that_is_not_2d_is_an_input_error(mask: np.ndarray) -> None:
    """A colour image or empty array passed by mistake is reported, not silently mis-read."""
    with pytest.raises(InputError):
        SilhouetteExtractor().extract(mask)


def test_fail__wrong_landmark_shape_is_an_input_error() -> None:
    """Landmarks of another skeleton (17 COCO points) are refused."""
    with pytest.raises(InputError, match="33"):
        SilhouetteExtractor().extract(_blob(), landmarks=np.zeros((17, 3), np.float32))


@pytest.mark.data
def test_ok__reference_masks_keep_almost_every_person_pixel(shared) -> None:
    """On MediaPipe's own squat masks, cleanup changes little (it only drops other blobs and specks)."""
    with np.load(shared / "reference" / "squat" / "nowva_squats.npz") as ref:
        masks, frames, landmarks = ref["masks"], ref["mask_frames"], ref["landmarks"]
    extractor = SilhouetteExtractor(working_size=max(masks.shape[1:]))
    ious = []
    for frame, mask in zip(frames, masks, strict=True):
        silhouette = extractor.extract(mask, landmarks[frame])
        assert silhouette is not None
        ious.append(_iou(silhouette.mask, mask >= 128))
    assert min(ious) >= 0.95 and float(np.mean(ious)) >= 0.99


@pytest.mark.data
def test_ok__silhouettes_match_the_masks_tfjs_expects_for_its_test_images(shared) -> None:
    """tfjs-models' body-segmentation references: the pose model's silhouette of the warrior still
    (tfjs asks 0.88 of the raw mask; measured 0.952) and Selfie Segmentation general's of the portrait
    (tfjs asks 0.98 of the raw mask; measured 0.983)."""
    from edge.blazepose import EstimatorOptions, PoseEstimator
    from edge.selfie import SelfieSegmenter

    stills, expected = shared / "footage" / "stills", shared / "annotations" / "tfjs_pose_detection"
    warrior = cv2.imread(str(stills / "tfjs_pose_warrior2_beach.jpg"))
    pose = PoseEstimator(EstimatorOptions(static_image_mode=True)).estimate(warrior, 0.0)
    assert pose is not None and pose.mask is not None
    silhouette = SilhouetteExtractor(working_size=max(warrior.shape[:2])).extract(pose.mask, pose.landmarks)
    assert silhouette is not None
    assert _iou(silhouette.mask, cv2.imread(str(expected / "pose_segmentation.png"))[..., 0] > 127) >= 0.94

    portrait = cv2.imread(str(stills / "tfjs_portrait_halfbody.jpg"))
    mask = SelfieSegmenter("general").segment(portrait)
    silhouette = SilhouetteExtractor(working_size=max(mask.shape)).extract(mask)
    assert silhouette is not None
    portrait_expected = cv2.imread(str(expected / "portrait_segmentation.png"))[..., 0] >= 255
    assert _iou(silhouette.mask, portrait_expected) >= 0.975
