"""Drawing poses, person masks and silhouettes onto BGR images, for ``--annotate``, the LCD and screenshots.

Colours are BGR tuples (OpenCV order), except the RGBA colours of ``to_binary_mask``, which follow
the tfjs body-segmentation API it mirrors (``toBinaryMask``, ``drawMask``, ``drawBokehEffect``).
``draw_skeleton`` and ``draw_silhouette`` draw in place and return the image; the mask functions
return a new image.

Person masks are (h, w) arrays covering the whole frame, at any resolution (resized to the image):
float probability in [0, 1], uint8 0..255 (read like tfjs reads a mask's alpha channel: foreground
when ``value >= round(255 * threshold)``), or bool.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.errors import InputError
from edge.landmarks import POSE_CONNECTIONS, PoseLandmark

if TYPE_CHECKING:
    from edge.silhouette import Silhouette

RGBA = tuple[int, int, int, int]
BGR = tuple[int, int, int]

#: MediaPipe skips landmarks it is unsure of below this visibility when drawing.
VISIBILITY_THRESHOLD = 0.5

_LEFT = frozenset(lm for lm in PoseLandmark if lm.name.startswith("LEFT") or lm.name == "MOUTH_LEFT")


def draw_skeleton(
    image: npt.NDArray[np.uint8],
    landmarks: npt.NDArray[np.floating],
    *,
    min_visibility: float = VISIBILITY_THRESHOLD,
    line_color: tuple[int, int, int] = (245, 245, 245),
    left_color: tuple[int, int, int] = (0, 138, 255),
    right_color: tuple[int, int, int] = (255, 160, 0),
    thickness: int | None = None,
    radius: int | None = None,
    connections: Iterable[tuple[int, int]] = POSE_CONNECTIONS,
) -> npt.NDArray[np.uint8]:
    """Draw the skeleton's edges and joints onto ``image``.

    Args:
        image: (H, W, 3) uint8 BGR, drawn in place.
        landmarks: (33, >=2) normalised x, y (image widths and heights); a 4th column, if present,
            is visibility, and landmarks below ``min_visibility`` are skipped.
        line_color: BGR colour of the edges.
        left_color / right_color: BGR colours of the person's left and right joints.
        thickness, radius: line width and joint radius in pixels; scaled to the image when None.

    Returns:
        ``image``.
    """
    height, width = image.shape[:2]
    scale = max(1, round(min(width, height) / 240))
    thickness = thickness or scale
    radius = radius or scale + 1
    points = np.rint(landmarks[:, :2] * (width, height)).astype(np.int32)
    visible = landmarks[:, 3] >= min_visibility if landmarks.shape[1] >= 4 else np.ones(len(landmarks), bool)
    visible &= np.isfinite(landmarks[:, :2]).all(axis=1)
    for a, b in connections:
        if visible[a] and visible[b]:
            cv2.line(
                image,
                tuple(map(int, points[a])),
                tuple(map(int, points[b])),
                line_color,
                thickness,
                cv2.LINE_AA,
            )
    for index in np.flatnonzero(visible):
        color = left_color if PoseLandmark(int(index)) in _LEFT else right_color
        cv2.circle(image, tuple(map(int, points[index])), radius, color, -1, cv2.LINE_AA)
    return image


# -- person masks (tfjs body-segmentation render utilities) ---------------------------------


def person_mask(mask: npt.NDArray[Any], threshold: float = 0.5) -> npt.NDArray[np.bool_]:
    """Foreground pixels of a person mask: (h, w) bool.

    Float masks: ``p >= threshold``. uint8 masks: ``v >= round(255 * threshold)``, tfjs's alpha cutoff.
    Bool masks are returned as they are.

    Raises:
        InputError: the mask is not a non-empty 2-D array.
    """
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.size == 0:
        shape = getattr(mask, "shape", None)
        raise InputError(f"a person mask must be a non-empty 2-D array (h, w), got shape {shape}")
    if mask.dtype == np.bool_:
        return mask
    if mask.dtype == np.uint8:
        return mask >= int(np.floor(255 * threshold + 0.5))  # JavaScript's Math.round
    return mask >= threshold


def to_binary_mask(
    mask: npt.NDArray[Any],
    *,
    foreground: RGBA = (0, 0, 0, 0),
    background: RGBA = (0, 0, 0, 255),
    draw_contour: bool = False,
    contour_color: RGBA = (0, 255, 255, 255),
    threshold: float = 0.5,
) -> npt.NDArray[np.uint8]:
    """An RGBA image that is ``foreground`` where the person is and ``background`` elsewhere.

    Like tfjs ``toBinaryMask``: by default the person is transparent and the rest opaque black, ready
    for ``draw_mask``. With ``draw_contour`` a 2-pixel line in ``contour_color`` straddles the person's
    boundary (tfjs strokes roughly the same band; the frame's own edge is never outlined, as there).

    Args:
        mask: (h, w) person mask (float probability, uint8 0..255 or bool).
        foreground, background, contour_color: RGBA colours, 0..255.
        threshold: foreground threshold (see ``person_mask``).

    Returns:
        (h, w, 4) uint8 RGBA at the mask's resolution.
    """
    person = person_mask(mask, threshold)
    out = np.where(person[..., None], np.asarray(foreground, np.uint8), np.asarray(background, np.uint8))
    if draw_contour:
        band = cv2.morphologyEx(person.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        out[band.astype(bool)] = np.asarray(contour_color, np.uint8)
    return out


def draw_mask(
    image: npt.NDArray[np.uint8],
    mask_image: npt.NDArray[np.uint8],
    *,
    opacity: float = 0.7,
    mask_blur: float = 0,
    flip_horizontal: bool = False,
) -> npt.NDArray[np.uint8]:
    """The image with an RGBA mask image composited over it, like tfjs ``drawMask``.

    The mask image (from ``to_binary_mask``) is resized to the image, optionally blurred, and drawn
    "source over" with its own alpha times ``opacity``; resizing and blurring work on premultiplied
    colour, as a canvas does.

    Args:
        image: (H, W, 3) uint8 BGR; not modified.
        mask_image: (h, w, 4) uint8 RGBA, any size.
        opacity: 0..1, multiplies the mask's alpha.
        mask_blur: Gaussian standard deviation in image pixels (CSS ``blur()``); 0 for none.
        flip_horizontal: mirror the result (selfie view).

    Returns:
        (H, W, 3) uint8 BGR, a new image.
    """
    _check_bgr(image)
    if mask_image.ndim != 3 or mask_image.shape[2] != 4 or mask_image.dtype != np.uint8:
        raise InputError(
            f"mask_image must be (h, w, 4) uint8 RGBA, got shape {mask_image.shape} dtype {mask_image.dtype}"
        )
    height, width = image.shape[:2]
    alpha = mask_image[..., 3].astype(np.float32) * np.float32(1 / 255)
    colour = mask_image[..., 2::-1].astype(np.float32) * alpha[..., None]  # premultiplied BGR, mask-sized
    colour = _resize_and_blur(colour, width, height, mask_blur)
    alpha = _resize_and_blur(alpha, width, height, mask_blur)
    safe = np.maximum(alpha, np.float32(1e-6))
    straight = cv2.convertScaleAbs(cv2.divide(colour, cv2.merge([safe, safe, safe])))  # rounded, saturated
    weight = alpha * np.float32(opacity)
    result = np.asarray(cv2.blendLinear(straight, image, weight, np.float32(1.0) - weight), np.uint8)
    return np.ascontiguousarray(result[:, ::-1]) if flip_horizontal else result


def blur_background(
    image: npt.NDArray[np.uint8],
    mask: npt.NDArray[Any],
    *,
    threshold: float = 0.5,
    background_blur: float = 15,
    edge_blur: float = 3,
) -> npt.NDArray[np.uint8]:
    """Bokeh: the person sharp, everything else blurred, like tfjs ``drawBokehEffect``.

    Args:
        image: (H, W, 3) uint8 BGR; not modified.
        mask: (h, w) person mask, any resolution (see ``person_mask``).
        threshold: foreground threshold.
        background_blur: Gaussian standard deviation of the background blur, image pixels.
        edge_blur: standard deviation of the feathering of the person's edge, image pixels; 0 for a hard edge.

    Returns:
        (H, W, 3) uint8 BGR, a new image.
    """
    _check_bgr(image)
    weight = _person_weight(mask, threshold, image.shape[1], image.shape[0], edge_blur)
    return _composite(image, _blur(image, background_blur), weight)


def replace_background(
    image: npt.NDArray[np.uint8],
    mask: npt.NDArray[Any],
    background: npt.NDArray[np.uint8] | BGR,
    *,
    threshold: float = 0.5,
    edge_blur: float = 3,
) -> npt.NDArray[np.uint8]:
    """The person over another background (an image, stretched to the frame, or a BGR colour).

    Args:
        image: (H, W, 3) uint8 BGR; not modified.
        mask: (h, w) person mask, any resolution (see ``person_mask``).
        background: (h', w', 3) uint8 BGR image, or a (b, g, r) colour.
        threshold: foreground threshold.
        edge_blur: feathering of the person's edge (Gaussian standard deviation, image pixels).

    Returns:
        (H, W, 3) uint8 BGR, a new image.
    """
    _check_bgr(image)
    height, width = image.shape[:2]
    if isinstance(background, np.ndarray):
        _check_bgr(background, "background")
        backdrop = background
        if background.shape[:2] != (height, width):
            shrinking = background.shape[0] * background.shape[1] > height * width
            interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
            resized = cv2.resize(background, (width, height), interpolation=interpolation)
            backdrop = np.asarray(resized, np.uint8)
    else:
        backdrop = np.empty_like(image)
        backdrop[:] = np.asarray(background, np.uint8)
    weight = _person_weight(mask, threshold, width, height, edge_blur)
    return _composite(image, backdrop, weight)


def draw_silhouette(
    image: npt.NDArray[np.uint8],
    silhouette: Silhouette,
    *,
    color: BGR = (0, 200, 255),
    thickness: int = 2,
    fill_alpha: float = 0.25,
) -> npt.NDArray[np.uint8]:
    """Outline (and lightly fill) a silhouette's polygon on ``image``, in place.

    Args:
        image: (H, W, 3) uint8 BGR, any size (the polygon is normalised), drawn in place.
        silhouette: from ``SilhouetteExtractor.extract``.
        color: BGR of the outline and fill.
        thickness: outline width in pixels; 0 for no outline.
        fill_alpha: opacity of the fill, 0 for none.

    Returns:
        ``image``.
    """
    _check_bgr(image)
    height, width = image.shape[:2]
    shift = 4  # sub-pixel vertices: OpenCV takes fixed-point coordinates with this many fraction bits
    # Normalised coordinates put pixel centres at (i + 0.5) / w; OpenCV puts them at integers.
    points = np.rint((silhouette.polygon * (width, height) - 0.5) * (1 << shift)).astype(np.int32)
    if len(points) < 2:
        return image
    if fill_alpha > 0:
        x0, y0 = np.clip(points.min(axis=0) >> shift, 0, None)
        x1, y1 = np.minimum((points.max(axis=0) >> shift) + 2, (width, height))
        if x1 > x0 and y1 > y0:
            roi = image[y0:y1, x0:x1]
            overlay = roi.copy()
            offset = np.array([x0, y0], np.int32) << shift
            cv2.fillPoly(overlay, [points - offset], color, cv2.LINE_AA, shift)
            cv2.addWeighted(overlay, fill_alpha, roi, 1.0 - fill_alpha, 0.0, dst=roi)
    if thickness > 0:
        cv2.polylines(image, [points], True, color, thickness, cv2.LINE_AA, shift)
    return image


# -- helpers ---------------------------------------------------------------------------------


def _check_bgr(image: npt.NDArray[Any], name: str = "image") -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InputError(
            f"{name} must be (H, W, 3) uint8 BGR, got shape {getattr(image, 'shape', None)} "
            f"dtype {getattr(image, 'dtype', type(image).__name__)}"
        )


def _resize_and_blur(
    layer: npt.NDArray[np.float32], width: int, height: int, sigma: float
) -> npt.NDArray[np.float32]:
    """Resize a float layer to (height, width) and blur it by ``sigma`` image pixels.

    The blur runs at whichever of the two resolutions is smaller (sigma scaled to it), which is
    the same picture for a fraction of the cost when the mask is smaller than the image.
    """
    small_h, small_w = layer.shape[:2]
    if sigma > 0 and small_w < width:
        layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), sigma * small_w / width), np.float32)
    if (small_h, small_w) != (height, width):
        layer = np.asarray(cv2.resize(layer, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
    if sigma > 0 and small_w >= width:
        layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), sigma), np.float32)
    return layer


def _person_weight(
    mask: npt.NDArray[Any], threshold: float, width: int, height: int, edge_blur: float
) -> npt.NDArray[np.float32]:
    """(height, width) float32 in [0, 1]: 1 on the person, feathered by ``edge_blur`` pixels."""
    person = person_mask(mask, threshold).astype(np.float32)
    return _resize_and_blur(person, width, height, edge_blur)


def _blur(image: npt.NDArray[np.uint8], sigma: float) -> npt.NDArray[np.uint8]:
    """Gaussian blur; wide blurs run on a downscaled copy (visually the same, several times cheaper)."""
    if sigma <= 0:
        return image.copy()
    height, width = image.shape[:2]
    factor = int(min(sigma // 3, min(height, width) // 16))
    if factor < 2:
        return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma))
    small = cv2.resize(image, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR))


def _composite(
    front: npt.NDArray[np.uint8], back: npt.NDArray[np.uint8], weight: npt.NDArray[np.float32]
) -> npt.NDArray[np.uint8]:
    """``front * weight + back * (1 - weight)`` per pixel, uint8."""
    return np.asarray(cv2.blendLinear(front, back, weight, np.float32(1.0) - weight))
