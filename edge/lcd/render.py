"""Draw what the small screen shows: a pure function from ``LcdState`` to an RGB image.

The screen is read from 2-3 m away by someone mid-squat, so the rep count is as large as the
panel allows, white on black, and everything else is secondary: the exercise above it, a status
line below it, and a figure pane (camera thumbnail, else person mask, else silhouette polygon,
with the skeleton on top) beside it on landscape and square panels or above it on portrait ones.

Drawing uses OpenCV only (already a dependency; Hershey fonts need no font files on the device).
Nothing here keeps state between calls: smoothing and timing live in ``LcdRenderer``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.drawing import draw_skeleton

# Colours are RGB, and so is the canvas (OpenCV draws whatever channel order it is given).
BACKGROUND = (0, 0, 0)
COUNT = (255, 255, 255)
COUNT_FLASH = (80, 255, 120)
COUNT_IDLE = (150, 150, 150)
EXERCISE = (90, 200, 255)
PANE = (16, 20, 26)
SILHOUETTE = (40, 90, 150)
SKELETON = (245, 245, 245)
LEFT_JOINT = (255, 138, 0)  # edge.drawing's colours (given there in BGR)
RIGHT_JOINT = (0, 160, 255)
STATUS_COLOURS = {
    "running": (60, 220, 120),
    "starting": (255, 176, 32),
    "stopping": (255, 176, 32),
    "camera_error": (255, 80, 80),
    "offline": (255, 80, 80),
    "no broker": (255, 80, 80),
}
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_BOLD = cv2.FONT_HERSHEY_DUPLEX

#: Panels whose width/height is at least this are laid out side by side; below 1/this, stacked.
SIDE_BY_SIDE_MIN_ASPECT = 0.9


@dataclass(frozen=True)
class LcdState:
    """Everything the screen can show. All fields optional; defaults draw a "starting" screen.

    Attributes:
        count: reps in the current set (None: not known yet, drawn as "-").
        exercise: exercise name (``squat``); drawn with spaces for underscores.
        status: daemon status (``starting``, ``running``, ``camera_error``, ``stopping``) or a
            viewer status (``offline``, ``no broker``).
        online: False when the device is known to be offline: the count is greyed.
        person: whether a person is in view now.
        fps: frames per second, shown in the status line when known.
        landmarks: (33, >=2) float, x, y normalised to the frame (4th column visibility); None
            without a pose.
        image_size: (width, height) in pixels of the frame the landmarks refer to; sets the
            figure's aspect ratio. Defaults to the thumbnail's, else 4:3.
        thumbnail: (h, w, 3) uint8 BGR camera frame, any size (it is scaled), or None.
        mask: (h, w) float32 in [0, 1] or uint8 in [0, 255] person probability covering the
            whole frame, or None.
        polygon: (N, 2) silhouette outline, normalised to the frame, or None.
        view: (x0, y0, x1, y1) normalised part of the frame to show in the figure pane; None
            shows the whole frame. ``LcdRenderer`` sets it to a smoothed box around the person.
        flash: draw the count in the "just counted" colour.
        message: replaces the status line text when not empty.
    """

    count: int | None = None
    exercise: str = ""
    status: str = "starting"
    online: bool = True
    person: bool = False
    fps: float | None = None
    landmarks: npt.NDArray[np.floating] | None = None
    image_size: tuple[int, int] | None = None
    thumbnail: npt.NDArray[np.uint8] | None = None
    mask: npt.NDArray[np.generic] | None = None
    polygon: npt.NDArray[np.floating] | Sequence[Sequence[float]] | None = None
    view: tuple[float, float, float, float] | None = None
    flash: bool = False
    message: str = ""


@dataclass(frozen=True)
class Layout:
    """Pixel rectangles (x, y, w, h) of the screen's parts for one panel size."""

    figure: tuple[int, int, int, int]
    exercise: tuple[int, int, int, int]
    count: tuple[int, int, int, int]
    status: tuple[int, int, int, int]


def layout(size: tuple[int, int]) -> Layout:
    """Split a (width, height) panel into figure, exercise, count and status boxes.

    Side by side (landscape and square): figure on the left (40-42 % of the width), text on the
    right. Stacked (portrait): figure on top (45 % of the height), text below. Margins scale
    with the panel.
    """
    w, h = size
    m = max(2, round(min(w, h) * 0.03))
    if w / h >= SIDE_BY_SIDE_MIN_ASPECT:
        fig_w = round(w * (0.42 if w / h >= 1.2 else 0.40))
        figure = (m, m, fig_w - m, h - 2 * m)
        x, y, tw, th = fig_w + m, m, w - fig_w - 2 * m, h - 2 * m
    else:
        fig_h = round(h * 0.45)
        figure = (m, m, w - 2 * m, fig_h - m)
        x, y, tw, th = m, fig_h + m, w - 2 * m, h - fig_h - 2 * m
    ex_h, st_h = round(th * 0.16), round(th * 0.13)
    return Layout(
        figure=figure,
        exercise=(x, y, tw, ex_h),
        count=(x, y + ex_h, tw, th - ex_h - st_h),
        status=(x, y + th - st_h, tw, st_h),
    )


def render(state: LcdState, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """Draw ``state`` for a panel of ``size`` = (width, height) pixels.

    Returns:
        (height, width, 3) uint8 RGB.
    """
    w, h = size
    if w < 32 or h < 32:
        raise ValueError(f"panel size must be at least 32x32, got {w}x{h}")
    canvas = np.empty((h, w, 3), np.uint8)
    canvas[:] = BACKGROUND
    parts = layout(size)
    fx, fy, fw, fh = parts.figure
    canvas[fy : fy + fh, fx : fx + fw] = _figure(state, fw, fh)

    exercise = state.exercise.replace("_", " ") if state.exercise else "-"
    _text_in_box(canvas, exercise, parts.exercise, EXERCISE, FONT, weight=0.09, align="left")

    count = "-" if state.count is None else str(state.count)
    colour = COUNT_FLASH if state.flash else COUNT if state.online else COUNT_IDLE
    _text_in_box(canvas, count, parts.count, colour, FONT_BOLD, weight=0.16, align="center")

    status = "offline" if not state.online else state.status
    text = state.message or status.replace("_", " ")
    if not state.message and state.online and state.status == "running":
        text = "no person" if not state.person else f"{state.fps:.0f} fps" if state.fps else "running"
    _status(canvas, text, parts.status, STATUS_COLOURS.get(state.message or status, (200, 200, 200)))
    return canvas


# -- figure pane --------------------------------------------------------------------------------


def person_view(
    landmarks: npt.NDArray[np.floating] | None,
    image_size: tuple[int, int],
    pane_aspect: float,
    padding: float = 0.15,
    min_visibility: float = 0.5,
) -> tuple[float, float, float, float] | None:
    """A normalised (x0, y0, x1, y1) box around the visible landmarks with the pane's aspect ratio.

    Args:
        landmarks: (33, >=2) normalised x, y (4th column visibility), or None.
        image_size: (width, height) of the frame in pixels.
        pane_aspect: width / height of the pane the box will fill.
        padding: margin added on each side, as a fraction of the person's larger side.

    Returns:
        The box, or None when no landmark is visible. It stays inside the frame where it fits,
        and is centred on the frame along a side where it is larger than the frame.
    """
    if landmarks is None:
        return None
    lm = np.asarray(landmarks, np.float64)
    keep = np.isfinite(lm[:, :2]).all(axis=1)
    if lm.shape[1] >= 4:
        keep &= lm[:, 3] >= min_visibility
    if keep.sum() < 2:
        return None
    iw, ih = image_size
    px = lm[keep, :2] * (iw, ih)
    (x0, y0), (x1, y1) = px.min(axis=0), px.max(axis=0)
    side = max(x1 - x0, y1 - y0, 0.1 * max(iw, ih))
    bw, bh = (x1 - x0) + 2 * padding * side, (y1 - y0) + 2 * padding * side
    bw, bh = max(bw, bh * pane_aspect), max(bh, bw / pane_aspect)
    # slide the box back inside the frame where it fits, rather than showing black beyond the edge
    cx = float(np.clip((x0 + x1) / 2, bw / 2, iw - bw / 2)) if bw <= iw else iw / 2
    cy = float(np.clip((y0 + y1) / 2, bh / 2, ih - bh / 2)) if bh <= ih else ih / 2
    return ((cx - bw / 2) / iw, (cy - bh / 2) / ih, (cx + bw / 2) / iw, (cy + bh / 2) / ih)


def _fit_view(
    view: tuple[float, float, float, float], image_size: tuple[int, int], aspect: float
) -> tuple[float, ...]:
    """Grow ``view`` (normalised) so that its pixel aspect ratio equals ``aspect``, about its centre."""
    iw, ih = image_size
    x0, y0, x1, y1 = view
    bw, bh = (x1 - x0) * iw, (y1 - y0) * ih
    bw, bh = max(bw, bh * aspect), max(bh, bw / aspect)
    cx, cy = (x0 + x1) / 2 * iw, (y0 + y1) / 2 * ih
    return ((cx - bw / 2) / iw, (cy - bh / 2) / ih, (cx + bw / 2) / iw, (cy + bh / 2) / ih)


def _figure(state: LcdState, width: int, height: int) -> npt.NDArray[np.uint8]:
    """The figure pane, (height, width, 3) uint8 RGB."""
    pane = np.empty((height, width, 3), np.uint8)
    pane[:] = PANE
    if state.image_size is not None:
        image_size = state.image_size
    elif state.thumbnail is not None:
        image_size = (state.thumbnail.shape[1], state.thumbnail.shape[0])
    else:
        image_size = (640, 480)
    view = _fit_view(state.view or (0.0, 0.0, 1.0, 1.0), image_size, width / height)
    x0, y0, x1, y1 = view
    sx, sy = width / (x1 - x0), height / (y1 - y0)  # normalised frame -> pane pixels

    def warp(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
        ih, iw = image.shape[:2]
        shrink = min(sx / iw, sy / ih)
        if shrink < 0.5:  # warpAffine has no area filter: pre-shrink big images so they do not alias
            image = cv2.resize(image, None, fx=2 * shrink, fy=2 * shrink, interpolation=cv2.INTER_AREA)
            ih, iw = image.shape[:2]
        matrix = np.array([[sx / iw, 0, -x0 * sx], [0, sy / ih, -y0 * sy]], np.float64)
        return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=0)

    if state.thumbnail is not None:
        rgb = cv2.cvtColor(warp(state.thumbnail), cv2.COLOR_BGR2RGB)
        pane = np.asarray(cv2.convertScaleAbs(rgb, alpha=0.625), np.uint8)  # dimmed: skeleton stands out
    elif state.mask is not None:
        mask = state.mask.astype(np.float32) / (255.0 if state.mask.dtype == np.uint8 else 1.0)
        alpha = np.clip(warp(mask), 0.0, 1.0)[:, :, None]
        pane = (pane * (1 - alpha) + np.asarray(SILHOUETTE, np.float32) * alpha).astype(np.uint8)
    elif state.polygon is not None and len(state.polygon) >= 3:
        pts = (np.asarray(state.polygon, np.float64)[:, :2] - (x0, y0)) * (sx, sy)
        cv2.fillPoly(pane, [np.rint(pts).astype(np.int32)], SILHOUETTE, cv2.LINE_AA)
    if state.landmarks is not None:
        lm = np.array(state.landmarks, np.float32, copy=True)
        lm[:, 0] = (lm[:, 0] - x0) / (x1 - x0)
        lm[:, 1] = (lm[:, 1] - y0) / (y1 - y0)
        draw_skeleton(
            pane,
            lm,
            line_color=SKELETON,
            left_color=LEFT_JOINT,
            right_color=RIGHT_JOINT,
            thickness=max(2, round(min(width, height) / 70)),
            radius=max(2, round(min(width, height) / 50)),
        )
    return pane


# -- text ---------------------------------------------------------------------------------------


def _text_in_box(
    canvas: npt.NDArray[np.uint8],
    text: str,
    box: tuple[int, int, int, int],
    colour: tuple[int, int, int],
    font: int,
    weight: float,
    align: str,
) -> None:
    """Draw ``text`` as large as fits ``box``; ``weight`` is stroke thickness per unit of font height.

    Each text is fitted on its own: a one-digit count is as tall as the box allows and shrinks
    when a second digit needs the width (legibility of the common case beats a steady size).
    """
    x, y, bw, bh = box
    if bw <= 0 or bh <= 0 or not text:
        return
    scale, thickness = _fit(text, font, bw, bh, weight)
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    tx = x + (bw - tw) // 2 if align == "center" else x
    ty = y + (bh + th) // 2
    cv2.putText(canvas, text, (tx, ty), font, scale, colour, thickness, cv2.LINE_AA)


@functools.lru_cache(maxsize=256)
def _fit(text: str, font: int, width: int, height: int, weight: float) -> tuple[float, int]:
    """Largest font scale (and its thickness) whose text fits width x height (cached: text rarely changes)."""
    scale = 1.0
    for _ in range(3):  # thickness depends on scale: refine twice
        thickness = max(1, round(weight * 22 * scale))
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
        scale *= min(width / max(tw, 1), height / max(th, 1))
    thickness = max(1, round(weight * 22 * scale))
    while scale > 0.2:
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
        if tw <= width and th <= height:
            break
        scale *= 0.95
        thickness = max(1, round(weight * 22 * scale))
    return scale, thickness


def _status(
    canvas: npt.NDArray[np.uint8], text: str, box: tuple[int, int, int, int], colour: tuple[int, int, int]
) -> None:
    x, y, bw, bh = box
    r = max(3, bh // 4)
    cv2.circle(canvas, (x + r, y + bh // 2), r, colour, -1, cv2.LINE_AA)
    _text_in_box(canvas, text, (x + 3 * r, y + bh // 8, bw - 3 * r, bh - bh // 4), colour, FONT, 0.08, "left")
