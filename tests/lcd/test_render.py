"""The pure renderer: layout per panel shape, a count you can read from across the room, the figure pane."""

from __future__ import annotations

import numpy as np
import pytest
from lcd_poses import standing_pose

from edge.lcd.render import COUNT, COUNT_FLASH, LcdState, layout, person_view, render

SIZES = [(240, 240), (320, 240), (480, 320), (240, 320), (320, 480), (160, 128), (135, 240)]


def box(image: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = rect
    return image[y : y + h, x : x + w]


def ink_height(region: np.ndarray, colour: tuple[int, int, int]) -> int:
    """Rows (pixels) spanned by pixels of ``colour`` in an RGB region."""
    rows = np.flatnonzero((region == colour).all(axis=2).any(axis=1))
    return 0 if rows.size == 0 else int(rows[-1] - rows[0] + 1)


@pytest.mark.parametrize("size", SIZES)
def test_ok__layout_boxes_fit_the_panel_and_do_not_overlap(size: tuple[int, int]) -> None:
    """Prevents: text drawn off-panel or over the figure on some panel shape."""
    w, h = size
    parts = layout(size)
    rects = [parts.figure, parts.exercise, parts.count, parts.status]
    for x, y, bw, bh in rects:
        assert 0 <= x and 0 <= y and x + bw <= w and y + bh <= h and bw > 0 and bh > 0
    mask = np.zeros((h, w), int)
    for x, y, bw, bh in rects:
        mask[y : y + bh, x : x + bw] += 1
    assert mask.max() == 1
    assert parts.count[3] > max(parts.exercise[3], parts.status[3]), "the count gets the most height"


@pytest.mark.parametrize(
    ("size", "arrangement"),
    [
        ((240, 240), "side"),
        ((320, 240), "side"),
        ((480, 320), "side"),
        ((240, 320), "stacked"),
        ((135, 240), "stacked"),
    ],
)
def test_ok__landscape_and_square_side_by_side_portrait_stacked(
    size: tuple[int, int], arrangement: str
) -> None:
    parts = layout(size)
    if arrangement == "side":
        assert parts.figure[0] + parts.figure[2] <= parts.count[0]
    else:
        assert parts.figure[1] + parts.figure[3] <= parts.exercise[1]


@pytest.mark.parametrize(
    ("size", "count", "min_fraction"),
    [
        ((240, 240), 7, 0.40),
        ((320, 240), 7, 0.45),
        ((480, 320), 7, 0.45),
        ((240, 320), 7, 0.25),
        ((240, 240), 12, 0.22),  # two digits share the width
        ((320, 240), 12, 0.30),
        ((240, 240), 100, 0.14),
    ],
)
def test_ok__count_is_big_white_on_black(size: tuple[int, int], count: int, min_fraction: float) -> None:
    """The count's digits are pure white on black and at least ``min_fraction`` of the panel height tall.

    Prevents: a layout change that shrinks the one thing people read mid-squat.
    """
    image = render(LcdState(count=count, exercise="squat", status="running", person=True), size)
    assert image.shape == (size[1], size[0], 3) and image.dtype == np.uint8
    region = box(image, layout(size).count)
    assert ink_height(region, COUNT) >= min_fraction * size[1]
    background = region[(region != COUNT).any(axis=2)]
    assert np.median(background.max(axis=1)) == 0, "background must stay black for contrast"


def test_ok__every_count_draws_differently_and_unknown_count_draws_a_dash() -> None:
    frames = {c: render(LcdState(count=c), (240, 240)) for c in (None, 0, 1, 8, 11)}
    keys = list(frames)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert not np.array_equal(
                box(frames[a], layout((240, 240)).count), box(frames[b], layout((240, 240)).count)
            )
    assert ink_height(box(frames[None], layout((240, 240)).count), COUNT) > 0


@pytest.mark.parametrize(
    ("state", "colour_present", "colour_absent"),
    [
        (LcdState(count=3, flash=True), COUNT_FLASH, COUNT),  # just counted: green
        (LcdState(count=3, online=False), None, COUNT),  # offline: greyed, never white
        (LcdState(count=3), COUNT, COUNT_FLASH),
    ],
)
def test_ok__count_colour_says_flash_live_or_offline(
    state: LcdState, colour_present: tuple[int, int, int] | None, colour_absent: tuple[int, int, int]
) -> None:
    region = box(render(state, (320, 240)), layout((320, 240)).count)
    if colour_present is not None:
        assert (region == colour_present).all(axis=2).sum() > 100
    assert (region == colour_absent).all(axis=2).sum() == 0


@pytest.mark.parametrize(
    ("state", "rgb"),
    [
        (LcdState(status="running", person=True), (60, 220, 120)),
        (LcdState(status="camera_error"), (255, 80, 80)),
        (LcdState(status="running", online=False), (255, 80, 80)),
        (LcdState(status="running", message="no broker"), (255, 80, 80)),
        (LcdState(status="starting"), (255, 176, 32)),
    ],
)
def test_ok__status_line_colour_matches_the_situation(state: LcdState, rgb: tuple[int, int, int]) -> None:
    region = box(render(state, (320, 240)), layout((320, 240)).status)
    assert (region == rgb).all(axis=2).sum() > 20


def test_ok__skeleton_is_drawn_where_the_person_is() -> None:
    """Joints land in the figure pane (left joints orange, right blue, as edge.drawing draws them)."""
    size = (320, 240)
    lm = standing_pose()
    fig = layout(size).figure
    with_pose = box(render(LcdState(landmarks=lm, image_size=(640, 480)), size), fig)
    without = box(render(LcdState(image_size=(640, 480)), size), fig)
    orange = (with_pose == (255, 138, 0)).all(axis=2)
    assert orange.sum() > 10 and not (without == (255, 138, 0)).all(axis=2).any()
    ys, xs = np.nonzero(orange)
    assert abs(xs.mean() / fig[2] - 0.5) < 0.2, "person at the frame's centre is drawn at the pane's centre"


def test_ok__figure_shows_thumbnail_else_mask_else_polygon() -> None:
    size = (240, 240)
    fig = layout(size).figure
    red = np.zeros((120, 160, 3), np.uint8)
    red[..., 2] = 255  # BGR red
    thumb = box(render(LcdState(thumbnail=red), size), fig)
    lit = thumb[..., 0] > 120  # dimmed red
    rows = np.flatnonzero(lit.all(axis=1))
    # without a person the whole 4:3 frame is letterboxed into the tall pane: full width, centred band
    assert rows.size == round(fig[2] * 3 / 4) or abs(rows.size - fig[2] * 3 / 4) <= 2
    assert abs((rows[0] + rows[-1]) / 2 - fig[3] / 2) <= 2 and thumb[..., 1].max() == 0
    mask = np.ones((60, 80), np.float32)
    masked = box(render(LcdState(mask=mask, image_size=(160, 120)), size), fig)
    assert (masked == (40, 90, 150)).all(axis=2).mean() > 0.2
    poly = [[0.3, 0.2], [0.7, 0.2], [0.7, 0.9], [0.3, 0.9]]
    drawn = box(render(LcdState(polygon=poly, image_size=(160, 120)), size), fig)
    assert (drawn == (40, 90, 150)).all(axis=2).sum() > 200
    empty = box(render(LcdState(image_size=(160, 120)), size), fig)
    assert not (empty == (40, 90, 150)).all(axis=2).any()


@pytest.mark.parametrize("aspect", [0.4, 1.0, 1.6])
def test_ok__person_view_holds_the_person_at_the_panes_aspect(aspect: float) -> None:
    lm = standing_pose(cx=0.3)
    view = person_view(lm, (1280, 720), aspect)
    assert view is not None
    x0, y0, x1, y1 = view
    assert x0 <= lm[:, 0].min() and lm[:, 0].max() <= x1 and y0 <= lm[:, 1].min() and lm[:, 1].max() <= y1
    assert abs((x1 - x0) * 1280 / ((y1 - y0) * 720) - aspect) < 1e-6


def test_ok__person_view_is_none_without_visible_landmarks() -> None:
    assert person_view(None, (640, 480), 1.0) is None
    assert person_view(standing_pose(visibility=0.1), (640, 480), 1.0) is None


def test_fail__tiny_panel_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32x32"):
        render(LcdState(), (16, 16))
