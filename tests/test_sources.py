"""Frame sources: files in order, bad files named, prefetching that changes nothing but speed."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

import edge.sources
from edge.errors import InputError
from edge.sources import (
    DECODER_NICE,
    Frame,
    PrefetchingSource,
    VideoFileSource,
    iter_frames,
    open_source,
    prefetch_if_spare_core,
)


def _decoder_threads() -> dict[int, int]:
    """FFmpeg's named decoder threads of this process: thread ID -> nice value."""
    threads = {}
    for name in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{name}/comm") as comm:
                if comm.read().startswith("av:"):
                    threads[int(name)] = os.getpriority(os.PRIO_PROCESS, int(name))
        except OSError:
            continue
    return threads


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_ok__ffmpegs_decoder_threads_yield_to_inference(demo_clip: Path) -> None:
    source = VideoFileSource(demo_clip)
    assert source.read() is not None
    threads = _decoder_threads()
    if not threads:
        source.close()
        pytest.skip(f"this OpenCV's FFmpeg ({cv2.__version__}) runs no named decoder threads")
    assert set(threads.values()) == {DECODER_NICE}
    assert (
        os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != DECODER_NICE
    )  # the caller keeps its own
    source.close()


def test_ok__video_frames_are_bgr_with_media_timestamps(demo_clip: Path) -> None:
    source = open_source(demo_clip)
    first, second = source.read(), source.read()
    source.close()
    assert first.image.shape == (720, 1280, 3) and first.image.dtype == np.uint8
    assert (first.index, second.index) == (0, 1)
    assert second.timestamp == pytest.approx(1 / 30)


class _Scripted:
    """A source that yields three frames, then raises or ends."""

    fps, frame_count = 30.0, 3

    def __init__(self, fail: bool) -> None:
        self.fail, self.index, self.closed = fail, 0, False

    def read(self) -> Frame | None:
        if self.index == 3:
            if self.fail:
                raise InputError("stream broke")
            return None
        self.index += 1
        return Frame(np.zeros((2, 2, 3), np.uint8), self.index - 1, (self.index - 1) / 30)

    def close(self) -> None:
        self.closed = True


def test_ok__prefetching_delivers_the_same_frames_in_order_then_none_forever() -> None:
    scripted = _Scripted(fail=False)
    source = PrefetchingSource(scripted)
    assert [f.index for f in iter_frames(source)] == [0, 1, 2]
    assert source.read() is None and source.read() is None
    source.close()
    assert scripted.closed


def test_fail__prefetching_raises_the_sources_error_after_its_frames() -> None:
    source = PrefetchingSource(_Scripted(fail=True))
    assert [source.read().index for _ in range(3)] == [0, 1, 2]
    with pytest.raises(InputError, match="stream broke"):
        source.read()
    source.close()


@pytest.mark.parametrize(("cores", "threads", "prefetched"), [(2, 2, False), (4, 2, True), (2, 1, True)])
def test_ok__decoding_gets_its_own_thread_only_when_inference_leaves_a_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, threads: int, prefetched: bool
) -> None:
    monkeypatch.setattr(edge.sources, "usable_cores", lambda: cores)
    scripted = _Scripted(fail=False)
    source = prefetch_if_spare_core(scripted, threads)
    assert isinstance(source, PrefetchingSource) is prefetched
    assert [f.index for f in iter_frames(source)] == [0, 1, 2]
    source.close()


def test_fail__a_file_that_is_not_a_video_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(b"\x00" * 4096)
    with pytest.raises(InputError, match="clip.mp4: not a video"):
        VideoFileSource(junk).read()


def test_ok__image_folder_in_name_order_skipping_other_files(tmp_path: Path) -> None:
    for name in ("b.png", "a.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "readme.txt").write_text("x")
    assert [f.name for f in iter_frames(open_source(tmp_path))] == ["a.png", "b.png"]
