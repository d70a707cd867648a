"""Frame sources: files in order, bad files named, prefetching and interleaving that change nothing but
speed."""

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
    InterleavedSource,
    PrefetchingSource,
    VideoFileSource,
    decode_next,
    iter_frames,
    open_source,
    run_at_lowest_priority,
    schedule_decoding,
)


def _decoder_threads() -> dict[int, int]:
    """FFmpeg's named decoder threads of this process: thread ID -> scheduling policy."""
    threads = {}
    for name in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{name}/comm") as comm:
                if comm.read().startswith("av:"):
                    threads[int(name)] = os.sched_getscheduler(int(name))
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
    assert set(threads.values()) == {os.SCHED_IDLE}
    assert os.sched_getscheduler(threading.get_native_id()) == os.SCHED_OTHER  # the caller keeps its own
    source.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_ok__without_the_idle_policy_a_decoder_thread_gets_the_lowest_nice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError("not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    nice_before = os.getpriority(os.PRIO_PROCESS, 0)
    ready, done = threading.Event(), threading.Event()
    worker_ids: list[int] = []

    def worker() -> None:
        worker_ids.append(threading.get_native_id())
        ready.set()
        done.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    ready.wait(5)
    try:
        run_at_lowest_priority(worker_ids[0])
        assert os.getpriority(os.PRIO_PROCESS, worker_ids[0]) == DECODER_NICE
        assert os.getpriority(os.PRIO_PROCESS, 0) == nice_before
    finally:
        done.set()
        thread.join()


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
    source = schedule_decoding(scripted, threads)
    assert isinstance(source, PrefetchingSource) is prefetched
    assert [f.index for f in iter_frames(source)] == [0, 1, 2]
    source.close()


class _Recording(_Scripted):
    """``_Scripted`` that notes which thread read each frame, and waits for leave to read the second."""

    def __init__(self, fail: bool) -> None:
        super().__init__(fail)
        self.readers: list[int] = []
        self.second_may_start = threading.Event()

    def read(self) -> Frame | None:
        if self.index == 1:
            assert self.second_may_start.wait(5)
        self.readers.append(threading.get_ident())
        return super().read()


def test_ok__interleaved_decoding_starts_when_told_on_another_thread_and_keeps_the_order() -> None:
    recording = _Recording(fail=False)
    source = InterleavedSource(recording)
    assert source.read().index == 0  # nothing started it: read does
    source.decode_next()
    source.decode_next()  # already under way: no second read
    recording.second_may_start.set()
    assert source.read().index == 1
    assert len(recording.readers) == 2 and threading.get_ident() not in recording.readers
    assert [f.index for f in iter_frames(source)] == [2]
    source.decode_next()
    assert source.read() is None and source.read() is None and recording.index == 3
    source.close()
    assert recording.closed


def test_fail__interleaved_decoding_raises_the_sources_error_after_its_frames() -> None:
    source = InterleavedSource(_Scripted(fail=True))
    for index in range(3):
        source.decode_next()
        assert source.read().index == index
    source.decode_next()
    with pytest.raises(InputError, match="stream broke"):
        source.read()
    assert source.read() is None
    source.close()


def test_ok__closing_with_a_frame_under_way_waits_for_it_before_closing_the_source() -> None:
    recording = _Recording(fail=False)
    source = InterleavedSource(recording)
    source.read()
    source.decode_next()  # the second read now waits for leave
    closing = threading.Thread(target=source.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive() and not recording.closed, "closed the source under its decoder's feet"
    recording.second_may_start.set()
    closing.join(5)
    assert not closing.is_alive() and recording.closed


def test_ok__one_decoder_thread_gives_the_same_frames_with_no_ffmpeg_threads(demo_clip: Path) -> None:
    default, single = VideoFileSource(demo_clip), VideoFileSource(demo_clip, decoder_threads=1)
    threads_before = set(_decoder_threads())
    for _ in range(12):
        a, b = default.read(), single.read()
        assert a.index == b.index and np.array_equal(a.image, b.image)
    default.close()
    assert set(_decoder_threads()) <= threads_before, "the single-threaded decoder started threads"
    single.close()


def _video(path: Path, width: int, height: int, frames: int = 3) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (width, height))
    for index in range(frames):
        writer.write(np.full((height, width, 3), 40 * index, np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(
    ("cores", "width", "height", "schedule"),
    [
        (2, 640, 360, InterleavedSource),  # every core inferring, small enough: between poses
        (2, 1280, 720, VideoFileSource),  # too big to decode in one thread between poses: inline
        (4, 640, 360, PrefetchingSource),  # a core to spare: ahead, on a thread of its own
    ],
)
def test_ok__video_decoding_is_scheduled_around_inference_by_cores_and_frame_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cores: int, width: int, height: int, schedule: type
) -> None:
    monkeypatch.setattr(edge.sources, "usable_cores", lambda: cores)
    path = _video(tmp_path / "clip.mp4", width, height)
    source = schedule_decoding(VideoFileSource(path), inference_threads=2)
    assert type(source) is schedule
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame.index)
        decode_next(source)  # what the pipeline does after each pose, whatever the source
    assert frames == [0, 1, 2]
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
