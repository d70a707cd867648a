"""``edge.batch``: the file sinks of ``edge-pose process``."""

from __future__ import annotations

import numpy as np

from edge.batch import letterbox


def test_ok__letterbox_returns_a_frame_of_the_right_size_untouched() -> None:
    image = np.full((360, 640, 3), 7, np.uint8)
    assert letterbox(image, (640, 360)) is image


def test_ok__letterbox_scales_to_fit_and_centres_on_black() -> None:
    tall = np.full((400, 100, 3), 200, np.uint8)
    boxed = letterbox(tall, (640, 360))
    assert boxed.shape == (360, 640, 3)
    columns = np.flatnonzero(boxed[180, :, 0])
    assert (columns[0], columns[-1]) == (275, 364), "90 px wide (100 * 360 / 400), centred"
    assert (boxed[:, :275] == 0).all() and (boxed[:, 365:] == 0).all()
    assert (boxed[:, 275:365] == 200).all()


def test_ok__letterbox_enlarges_a_smaller_image() -> None:
    small = np.full((120, 160, 3), 50, np.uint8)
    boxed = letterbox(small, (640, 360))
    rows = np.flatnonzero(boxed[:, 320, 0])
    columns = np.flatnonzero(boxed[180, :, 0])
    assert (rows[0], rows[-1]) == (0, 359)
    assert (columns[0], columns[-1]) == (80, 559), "480 px wide (160 * 360 / 120), centred"
