"""Screens drawn from a real clip (frame, MediaPipe reference pose and mask), saved for people to look at."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.lcd.render import COUNT, LcdState, layout, person_view, render
from edge.lcd.renderer import LcdRenderer

pytestmark = [pytest.mark.data]

CLIP = "squat/nowva_squats.mp4"


class Keep:
    size: tuple[int, int]

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.frame: np.ndarray | None = None

    def show(self, rgb: np.ndarray) -> None:
        self.frame = rgb

    def clear(self) -> None: ...

    def close(self) -> None: ...


@pytest.fixture(scope="module")
def mid_squat(shared: Path) -> dict:
    """The clip's deepest-squat frame: BGR image, landmarks, person mask (reference, long side 320)."""
    ref = np.load(shared / "reference" / Path(CLIP).with_suffix(".npz"))
    frames = ref["mask_frames"]
    hips = ref["landmarks"][frames, 23:25, 1].mean(axis=1)
    k = int(np.nanargmax(hips))  # lowest hips among frames with a mask
    index = int(frames[k])
    cap = cv2.VideoCapture(str(shared / "footage" / CLIP))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = cap.read()
    cap.release()
    assert ok
    return {
        "image": image,
        "landmarks": ref["landmarks"][index],
        "mask": ref["masks"][k],
        "size": (int(ref["size"][0]), int(ref["size"][1])),
    }


@pytest.mark.parametrize(
    ("size", "figure"),
    [
        ((240, 240), "thumbnail"),
        ((320, 240), "thumbnail"),
        ((480, 320), "mask"),
        ((240, 320), "mask"),
        ((135, 240), "thumbnail"),
    ],
)
def test_ok__mid_squat_screens_for_common_panels(
    size: tuple[int, int], figure: str, mid_squat: dict, artifacts: Path
) -> None:
    """Screens as the daemon would draw them mid-squat; the count is white and the skeleton is drawn."""
    display = Keep(size)
    lcd = LcdRenderer(display)  # type: ignore[arg-type]
    lcd.update(
        count=3,
        exercise="squat",
        status="running",
        person=True,
        fps=14.8,
        landmarks=mid_squat["landmarks"],
        image_size=mid_squat["size"],
        **({"thumbnail": mid_squat["image"]} if figure == "thumbnail" else {"mask": mid_squat["mask"]}),
    )
    frame = lcd.render_frame(now=100.0)
    x, y, w, h = layout(size).count
    assert (frame[y : y + h, x : x + w] == COUNT).all(axis=2).sum() > 300
    fx, fy, fw, fh = layout(size).figure
    pane = frame[fy : fy + fh, fx : fx + fw]
    assert (pane == (255, 138, 0)).all(axis=2).sum() > 5, "left joints drawn"
    cv2.imwrite(str(artifacts / f"lcd-{size[0]}x{size[1]}-{figure}.png"), frame[:, :, ::-1])


def test_ok__status_screens_sheet(mid_squat: dict, artifacts: Path) -> None:
    """The states a person may meet: live, just counted, no person, camera error, offline, no broker."""
    fig = layout((320, 240)).figure
    view = person_view(mid_squat["landmarks"], mid_squat["size"], fig[2] / fig[3])  # as LcdRenderer holds it
    base = LcdState(
        count=12,
        exercise="squat",
        status="running",
        person=True,
        fps=14.8,
        view=view,
        landmarks=mid_squat["landmarks"],
        image_size=mid_squat["size"],
        mask=mid_squat["mask"],
    )
    from dataclasses import replace

    states = [
        base,
        replace(base, flash=True),
        replace(base, person=False, landmarks=None),
        replace(base, status="camera_error", landmarks=None, mask=None),
        replace(base, online=False, landmarks=None),
        LcdState(status="starting", message="no broker"),
    ]
    tiles = [render(s, (320, 240)) for s in states]
    assert len({t.tobytes() for t in tiles}) == len(tiles), "every situation looks different"
    gap = np.full((240, 8, 3), 60, np.uint8)
    row1 = np.hstack([tiles[0], gap, tiles[1], gap, tiles[2]])
    row2 = np.hstack([tiles[3], gap, tiles[4], gap, tiles[5]])
    sheet = np.vstack([row1, np.full((8, row1.shape[1], 3), 60, np.uint8), row2])
    cv2.imwrite(str(artifacts / "lcd-states-320x240.png"), sheet[:, :, ::-1])
