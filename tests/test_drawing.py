"""Drawing: skeletons where the landmarks are, masks like tfjs body-segmentation, silhouettes on top."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.drawing import (
    blur_background,
    draw_mask,
    draw_silhouette,
    draw_skeleton,
    person_mask,
    replace_background,
    to_binary_mask,
)
from edge.errors import InputError
from edge.landmarks import PoseLandmark
from edge.silhouette import SilhouetteExtractor


def _landmarks(visibility: float) -> np.ndarray:
    lm = np.zeros((33, 5), np.float32)
    lm[:, 0] = np.linspace(0.2, 0.8, 33)
    lm[:, 1] = 0.5
    lm[:, 3] = visibility
    return lm


def test_ok__visible_joint_is_painted_at_its_pixel() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    lm = _landmarks(1.0)
    draw_skeleton(image, lm)
    x, y = (lm[PoseLandmark.LEFT_KNEE, :2] * (200, 100)).round().astype(int)
    assert image[y, x].any()


def test_ok__invisible_landmarks_leave_the_image_untouched() -> None:
    image = np.zeros((100, 200, 3), np.uint8)
    draw_skeleton(image, _landmarks(0.1))
    assert not image.any()


# -- masks and silhouettes -------------------------------------------------------------------


def _square_mask(height: int = 60, width: int = 80) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    mask[15:45, 20:60] = 0.9
    return mask


def _textured(height: int = 60, width: int = 80) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.data
def test_ok__binary_mask_matches_tfjs_render_util_reference(shared) -> None:
    """Same picture as tfjs ``toBinaryMask`` (render_util_test: three_people_binary_segmentation.png ->
    three_people_binary_mask.png, white on black, compared with expectArraysClose, i.e. exactly)."""
    folder = shared / "annotations" / "tfjs_pose_detection"
    segmentation = cv2.imread(str(folder / "three_people_binary_segmentation.png"), cv2.IMREAD_UNCHANGED)
    expected = cv2.cvtColor(
        cv2.imread(str(folder / "three_people_binary_mask.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA
    )
    alpha = segmentation[..., 3]  # tfjs reads a segmentation's probability from the alpha channel
    actual = to_binary_mask(alpha, foreground=(255, 255, 255, 255), background=(0, 0, 0, 255))
    np.testing.assert_array_equal(actual, expected)


def test_ok__binary_mask_defaults_make_the_person_transparent() -> None:
    """tfjs's defaults: person (0,0,0,0), background opaque black, so draw_mask darkens the background."""
    rgba = to_binary_mask(_square_mask())
    assert rgba.shape == (60, 80, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[30, 40]) == (0, 0, 0, 0)
    assert tuple(rgba[5, 5]) == (0, 0, 0, 255)


@pytest.mark.parametrize(
    ("value", "threshold", "foreground"),
    [
        (np.uint8(128), 0.5, True),
        (np.uint8(127), 0.5, False),
        (np.float32(0.5), 0.5, True),
        (np.float32(0.499), 0.5, False),
        (np.uint8(77), 0.3, True),
        (np.uint8(76), 0.3, False),
    ],
)
def test_ok__threshold_follows_tfjs_alpha_cutoff(value, threshold: float, foreground: bool) -> None:
    """uint8 masks use tfjs's cutoff round(255 * threshold); float masks compare the probability."""
    mask = np.full((2, 2), value)
    assert bool(person_mask(mask, threshold).all()) is foreground


def test_ok__contour_straddles_the_boundary_but_not_the_frame_edge() -> None:
    """The outline is drawn where person meets background, not where the person leaves the frame."""
    mask = np.zeros((40, 40), np.float32)
    mask[10:30, 0:20] = 1.0  # touches the left edge
    rgba = to_binary_mask(mask, draw_contour=True, contour_color=(0, 255, 255, 255))
    contour = np.all(rgba == (0, 255, 255, 255), axis=2)
    assert contour[20, 19] and contour[20, 20]  # inside and outside the right edge
    assert not contour[20, 10] and not contour[20, 30]
    assert not contour[20, 0]  # the frame edge is not outlined


def test_ok__draw_mask_blends_with_opacity_and_resizes_the_mask() -> None:
    """Opaque black at opacity 0.7 keeps 30% of the image; the transparent person is untouched."""
    image = np.full((120, 160, 3), 200, np.uint8)
    rgba = to_binary_mask(_square_mask())  # 80x60, half the image size
    out = draw_mask(image, rgba, opacity=0.7)
    assert out.shape == image.shape and out is not image
    assert tuple(out[10, 10]) == (60, 60, 60)
    assert tuple(out[60, 80]) == (200, 200, 200)
    assert (image == 200).all()


def test_ok__draw_mask_colours_are_rgba_and_blur_softens_the_edge() -> None:
    """A red RGBA foreground becomes BGR (0, 0, 255); blurring leaves intermediate values at the edge."""
    image = np.zeros((60, 80, 3), np.uint8)
    rgba = to_binary_mask(_square_mask(), foreground=(255, 0, 0, 255), background=(0, 0, 0, 0))
    sharp = draw_mask(image, rgba, opacity=1.0)
    assert tuple(sharp[30, 40]) == (0, 0, 255)
    soft = draw_mask(image, rgba, opacity=1.0, mask_blur=3)
    assert 40 < soft[30, 20, 2] < 215
    flipped = draw_mask(image, rgba, opacity=1.0, flip_horizontal=True)
    np.testing.assert_array_equal(flipped, sharp[:, ::-1])


def test_ok__blur_background_keeps_the_person_sharp() -> None:
    """Bokeh: pixels well inside the person are the original; the background loses its texture."""
    image = _textured()
    out = blur_background(image, _square_mask(), background_blur=8, edge_blur=1)
    np.testing.assert_array_equal(out[20:40, 25:55], image[20:40, 25:55])
    assert out[:10].std() < image[:10].std() / 3


def test_ok__replace_background_with_colour_and_image() -> None:
    """Outside the person the new background shows; inside the person the frame does."""
    image = _textured()
    mask = _square_mask()
    green = replace_background(image, mask, (0, 255, 0), edge_blur=0)
    assert tuple(green[5, 5]) == (0, 255, 0)
    np.testing.assert_array_equal(green[20:40, 25:55], image[20:40, 25:55])
    backdrop = np.zeros((30, 40, 3), np.uint8)
    backdrop[:] = (255, 0, 0)
    blue = replace_background(image, mask, backdrop)
    assert tuple(blue[5, 5]) == (255, 0, 0)


def test_ok__draw_silhouette_tints_inside_and_outlines_the_edge() -> None:
    """The fill is translucent inside the polygon, the outline sits on it, the outside is untouched."""
    silhouette = SilhouetteExtractor().extract(_square_mask())
    assert silhouette is not None
    image = np.zeros((120, 160, 3), np.uint8)  # twice the mask's size: the polygon is normalised
    returned = draw_silhouette(image, silhouette, color=(0, 200, 255), thickness=2, fill_alpha=0.5)
    assert returned is image
    assert tuple(image[60, 80]) == (0, 100, 128)
    assert image[30, 80].any() and image[89, 80].any()  # top and bottom edges (rows 30.5 and 89.5)
    assert not image[5, 5].any() and not image[60, 150].any()


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32)])
def test_fail__non_bgr_image_is_an_input_error(bad: np.ndarray) -> None:
    """A grey or float image passed by mistake is named, not mis-drawn."""
    with pytest.raises(InputError, match="uint8 BGR"):
        blur_background(bad, _square_mask())
