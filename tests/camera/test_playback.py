"""Playback: files and folders played at their own rate or as fast as possible, looped."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import Playback
from edge.errors import InputError
from edge.sources import ImageFilesSource, VideoFileSource, open_source


def write_clip(path: Path, frames: int, fps: float = 30.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), (i * 20) % 256, np.uint8))
    writer.release()
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "clip.avi", frames=10, fps=20.0)


def read_all(source: Playback, limit: int = 1000) -> list:
    frames = []
    while len(frames) < limit and (frame := source.read()) is not None:
        frames.append(frame)
    return frames


def test_ok__fast_playback_delivers_every_frame_with_media_time(clip: Path) -> None:
    """As-fast-as-possible mode is for deterministic processing: all frames, file timestamps."""
    source = Playback(lambda: VideoFileSource(clip), realtime=False)
    t0 = time.monotonic()
    frames = read_all(source)
    assert time.monotonic() - t0 < 0.5
    assert [f.index for f in frames] == list(range(10))
    assert [f.timestamp for f in frames] == pytest.approx([i / 20.0 for i in range(10)])
    assert source.read() is None
    assert source.frame_count == 10 and source.fps == pytest.approx(20.0)


def test_ok__realtime_playback_runs_at_the_file_rate(clip: Path) -> None:
    """A clip standing in for a camera must arrive at camera pace, or skipped-frame numbers mean nothing."""
    source = Playback(lambda: VideoFileSource(clip), realtime=True)
    t0 = time.monotonic()
    frames = read_all(source)
    elapsed = time.monotonic() - t0
    assert len(frames) == 10
    assert elapsed >= 9 / 20.0 * 0.95  # the last frame is due 0.45 s after the first


def test_ok__loop_continues_indices_and_time(clip: Path) -> None:
    """A looped clip is one endless stream: indices keep counting, time keeps increasing."""
    source = Playback(lambda: VideoFileSource(clip), realtime=False, loop=True)
    frames = read_all(source, limit=25)
    assert [f.index for f in frames] == list(range(25))
    stamps = np.array([f.timestamp for f in frames])
    assert np.allclose(np.diff(stamps), 1 / 20.0)  # even across the seams
    assert source.passes == 3
    assert source.frame_count == 0  # no end
    assert frames[10].image.mean() == pytest.approx(frames[0].image.mean(), abs=2)


def test_ok__image_folder_is_stamped_at_the_given_rate(tmp_path: Path) -> None:
    """Stills have no time; the rep counter needs some: index / fps."""
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.full((8, 8, 3), i * 50, np.uint8))
    source = Playback(lambda: open_source(tmp_path), realtime=False, loop=True, fps=10.0)
    frames = read_all(source, limit=7)
    assert [round(f.timestamp, 6) for f in frames] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert [f.name for f in frames][:4] == ["000.png", "001.png", "002.png", "000.png"]


def test_ok__close_wakes_a_paced_wait(tmp_path: Path) -> None:
    """SIGTERM during a slow (1 fps) playback must not wait for the next frame."""
    clip = write_clip(tmp_path / "slow.avi", frames=5, fps=1.0)
    source = Playback(lambda: VideoFileSource(clip), realtime=True)
    assert source.read() is not None
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(source.read()))
    thread.start()
    time.sleep(0.1)
    t0 = time.monotonic()
    source.close()
    thread.join(2.0)
    assert result == [None] and time.monotonic() - t0 < 0.5


def test_ok__a_stall_resynchronises_instead_of_bursting(clip: Path) -> None:
    """After a long pause (a slow consumer, a suspended process) playback continues at its rate."""
    source = Playback(lambda: VideoFileSource(clip), realtime=True, max_lag_s=0.2)
    source.read()
    time.sleep(0.5)  # 10 frame periods late
    t0 = time.monotonic()
    read_all(source, limit=5)
    assert time.monotonic() - t0 >= 3 / 20.0 * 0.9  # paced again, not 5 frames at once


def test_fail__a_corrupt_file_is_an_input_error(tmp_path: Path) -> None:
    """A broken file is the user's to fix: fail with one line, do not retry forever."""
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError):
        Playback(lambda: VideoFileSource(bad), realtime=False).read()


def test_ok__an_empty_folder_source_does_not_loop_forever() -> None:
    """A source with no frames must end even with loop on."""

    class Empty:
        fps = 0.0
        frame_count = 0

        def read(self):
            return None

        def close(self) -> None:
            pass

    assert Playback(lambda: Empty(), realtime=False, loop=True).read() is None


def test_ok__image_source_class_is_accepted(tmp_path: Path) -> None:
    """ImageFilesSource (fps 0) plays at the configured rate."""
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8))
    source = Playback(lambda: ImageFilesSource([path]), realtime=False, fps=5.0)
    assert source.fps == 5.0
    assert len(read_all(source)) == 1
