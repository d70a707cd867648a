"""Frame sources for batch processing: a video file, one image, or a folder of images.

Every source yields ``Frame`` objects in order and returns ``None`` at the end. Frames are BGR
(OpenCV's channel order) uint8 arrays; the pipeline converts only its small model crops to RGB.
Live sources (cameras, streams) implement the same ``FrameSource`` protocol.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.background import BackgroundWorker, Job
from edge.errors import InputError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        image: (H, W, 3) uint8, BGR.
        index: 0-based position in the source (counts frames the source delivered).
        timestamp: seconds since the start of the stream (media time for files).
        name: for image folders, the file name; otherwise empty.
    """

    image: npt.NDArray[np.uint8]
    index: int
    timestamp: float
    name: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


class FrameSource(Protocol):
    """Anything that delivers frames in order."""

    def read(self) -> Frame | None:
        """Return the next frame, or None when the source is exhausted."""
        ...

    def close(self) -> None:
        """Release the underlying device or file."""
        ...

    @property
    def fps(self) -> float:
        """Nominal frames per second (0 when unknown, e.g. a folder of stills)."""
        ...

    @property
    def frame_count(self) -> int:
        """Number of frames if known in advance, else 0."""
        ...


def to_bgr(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """(H, W, 3) uint8 BGR from a grey (H, W), BGRA (H, W, 4) or BGR image (returned as is)."""
    if image.ndim == 2:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return image


#: Nice value for FFmpeg's decoder threads where the idle scheduling policy cannot be set.
DECODER_NICE = 19


def _thread_ids() -> set[int]:
    """IDs of this process's threads (Linux; empty where ``/proc`` has no task list)."""
    try:
        return {int(name) for name in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def run_at_lowest_priority(tid: int) -> None:
    """Give thread ``tid`` the idle scheduling policy (``SCHED_IDLE``), else nice ``DECODER_NICE``."""
    try:
        os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, tid, DECODER_NICE)  # per thread on Linux


def deprioritize_decoder_threads(since: set[int]) -> int:
    """Put FFmpeg's decoder threads that started after ``since`` (thread IDs) under ``SCHED_IDLE``.

    FFmpeg's frame threads (named ``av:<codec>:df<n>`` by FFmpeg 6 and later, as in OpenCV's wheels)
    decode the next frames while the caller runs inference; at equal priority they take CPU from the
    model's threads. At the lowest priority they decode in the gaps (the pipeline's single-threaded
    stretches, the wait in ``read``). Measured on 2 cores with 2 inference threads (``edge-pose bench``
    passes, alternating): nice 19 against nice 0 took 1280x720 from 101 to 110 fps and 1920x1080 from
    86 to 104 fps, 640x360 unchanged, 3840x2160 50 -> 47 fps. ``SCHED_IDLE`` against nice 19 (in-process,
    alternating 30-frame blocks, 2026-12-07): a tracked frame 0.04-0.19 ms cheaper at 1280x720 (three
    runs, 1.2-1.8 % more frames), 0.2-0.5 ms at 1920x1080 and 3840x2160 (0-3 % more frames). In Linux's
    scheduler a waking thread of the normal policy preempts an idle-policy one outright, and a core
    running only idle-policy threads counts as free when a waking thread is placed. Where the policy
    cannot be set, nice 19. Only threads named ``av:`` are touched; returns how many were lowered.
    Linux only (elsewhere, and where FFmpeg does not name its threads, nothing changes).
    """
    lowered = 0
    for tid in _thread_ids() - since:
        try:
            with open(f"/proc/self/task/{tid}/comm") as comm:
                if not comm.read().startswith("av:"):
                    continue
            run_at_lowest_priority(tid)
            lowered += 1
        except OSError:  # the thread ended meanwhile
            continue
    return lowered


class VideoFileSource:
    """Frames of a video file, decoded with OpenCV (FFmpeg), timestamped from the file's frame rate.

    ``decoder_threads``: FFmpeg's decoding threads, 0 for OpenCV's default (FFmpeg's frame threads,
    about one per core). Those run at the lowest priority (``deprioritize_decoder_threads``); with 1
    there are none, and each frame is decoded entirely inside ``read``.
    """

    def __init__(self, path: str | Path, *, decoder_threads: int = 0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such file")
        self.decoder_threads = decoder_threads
        self._threads_before_open: set[int] | None = _thread_ids()
        self._cap = cv2.VideoCapture()
        if decoder_threads > 0:
            self._cap.open(str(self.path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, decoder_threads])
        if not self._cap.isOpened():  # the default, or a file FFmpeg did not open: OpenCV picks a backend
            self._cap.open(str(self.path))
        if not self._cap.isOpened():
            raise InputError(f"{self.path}: not a video (cannot open it: unsupported format or corrupt file)")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 0.5 <= fps <= 1000 else 30.0
        self._count = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self._index = 0

    @property
    def fps(self) -> float:
        return self._fps

    @property
    def frame_count(self) -> int:
        return self._count

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels, as the file declares it."""
        return int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def read(self) -> Frame | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            if self._index == 0:
                raise InputError(f"{self.path}: not a video, or no frame could be decoded")
            return None
        if self._threads_before_open is not None:  # by the first frame every decoder thread has named itself
            deprioritize_decoder_threads(self._threads_before_open)
            self._threads_before_open = None
        frame = Frame(to_bgr(np.asarray(image, np.uint8)), self._index, self._index / self._fps)
        self._index += 1
        return frame

    def close(self) -> None:
        self._cap.release()


class ImageFilesSource:
    """Still images, one frame each, in the given order; timestamps are 0 (every frame is independent)."""

    def __init__(self, paths: list[Path]) -> None:
        if not paths:
            raise InputError("no images to read")
        self._paths = paths
        self._index = 0

    @property
    def fps(self) -> float:
        return 0.0

    @property
    def frame_count(self) -> int:
        return len(self._paths)

    def read(self) -> Frame | None:
        if self._index >= len(self._paths):
            return None
        path = self._paths[self._index]
        frame = Frame(_read_image(path), self._index, 0.0, name=path.name)
        self._index += 1
        return frame

    def require_one_size(self, why: str) -> None:
        """Raise ``InputError`` unless every image has the first one's size (decodes each image once).

        Args:
            why: what needs one size, the start of the error message.
        """
        first: tuple[str, int, int] | None = None
        for path in self._paths:
            height, width = _read_image(path).shape[:2]
            if first is None:
                first = (path.name, width, height)
            elif (width, height) != first[1:]:
                raise InputError(
                    f"{why}, but the images differ in size: {first[0]} is {first[1]}x{first[2]}, {path.name} "
                    f"is {width}x{height}"
                )

    def close(self) -> None:
        self._index = len(self._paths)


def _read_image(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: cannot read as an image (unsupported or corrupt file)")
    return np.asarray(image)


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def open_source(path: str | Path) -> VideoFileSource | ImageFilesSource:
    """Open a video file, a single image or a folder of images (sorted by name).

    Raises:
        InputError: the path does not exist, or holds nothing readable.
    """
    path = Path(path)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.is_file() and is_image_path(p))
        if not images:
            raise InputError(f"{path}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return ImageFilesSource(images)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if is_image_path(path):
        return ImageFilesSource([path])
    return VideoFileSource(path)


class _Wrapper:
    """A source that reads another one: frame rate and frame count are the wrapped source's."""

    def __init__(self, source: FrameSource) -> None:
        self._source = source

    @property
    def fps(self) -> float:
        return self._source.fps

    @property
    def frame_count(self) -> int:
        return self._source.frame_count


class PrefetchingSource(_Wrapper):
    """Decodes the next frames on a thread while the caller works on the current one.

    Video decoding releases the GIL, so it overlaps the pipeline's single-threaded Python stretches.
    At most ``depth`` frames wait (bounded memory); errors from the wrapped source are re-raised by
    ``read`` in order, after the frames decoded before them.
    """

    def __init__(self, source: FrameSource, depth: int = 2) -> None:
        super().__init__(source)
        self._queue: queue.Queue[Frame | BaseException | None] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._exhausted = False
        self._thread = threading.Thread(target=self._run, name="frame-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: Frame | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self._source.read()
                if not self._put(frame) or frame is None:
                    return
        except BaseException as exc:  # handed to the reader, which raises it
            self._put(exc)

    def read(self) -> Frame | None:
        if self._exhausted:
            return None
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._exhausted = True
            raise item
        if item is None:
            self._exhausted = True
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._source.close()


class InterleavedSource(_Wrapper):
    """Decodes the next frame on a thread while the caller finishes the current one, never during its
    pose estimation.

    The caller calls ``decode_next`` (or the module's ``decode_next(source)``, which takes any source)
    once the current frame's pose is estimated. The wrapped source then decodes the next frame beside
    the caller's own per-frame work (silhouette, rep counting, writing out), on a core the pose
    pipeline is not using then, and ``read`` hands it over, waiting for the rest when decoding took
    longer. ``read`` starts decoding itself when nothing did (the first frame). Meant for a decoder
    that does all its work inside ``read`` (``VideoFileSource`` with one decoder thread): FFmpeg's frame
    threads would go on decoding through the next frame's crop and invoke. Errors of the wrapped source
    are re-raised by ``read``, after the frames before them.
    """

    def __init__(self, source: FrameSource) -> None:
        super().__init__(source)
        self._worker = BackgroundWorker("frame-decode")
        self._pending: Job[Frame | None] | None = None
        self._ended = False

    def decode_next(self) -> None:
        """Start decoding the next frame on the worker thread (no-op if one is already under way)."""
        if self._pending is None and not self._ended:
            self._pending = self._worker.submit(self._source.read)

    def read(self) -> Frame | None:
        self.decode_next()
        if self._pending is None:
            return None
        job, self._pending = self._pending, None
        try:
            frame = job.result()
        except BaseException:
            self._ended = True
            raise
        if frame is None:
            self._ended = True
        return frame

    def close(self) -> None:
        self._ended = True
        job, self._pending = self._pending, None
        if job is not None:  # let the decoder finish before its capture is released
            try:
                job.result()
            except Exception as exc:  # noqa: BLE001 - nobody reads that frame any more
                log.debug("frame decoded after close failed: %s", exc)
        self._worker.close()
        self._source.close()


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. under systemd's ``CPUAffinity``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: Largest video frame (pixels) decoded by one thread between poses when inference takes every core:
#: 640x480. Up to there one FFmpeg thread decodes a frame in ~0.5 ms, hidden by the caller's own work.
#: At 1280x720 it takes 1.6-1.8 ms: the tracked frame was 0.45 ms cheaper, but the pose pipeline alone
#: (what ``bench`` compares with MediaPipe) lost 7 % of its frames, so FFmpeg's frame threads, at the
#: idle policy, decode there, as at 1920x1080 (4-5 ms a frame in one thread).
INTERLEAVE_MAX_PIXELS = 640 * 480


def schedule_decoding(source: FrameSource, inference_threads: int) -> FrameSource:
    """Arrange a source's decoding around inference; returns the source to read from.

    * A core left over by the interpreter's threads (a 4-core Pi with 2 threads): a
      ``PrefetchingSource`` decodes ahead on a thread of its own.
    * Every core taken (2 cores, 2 threads) and a video of up to ``INTERLEAVE_MAX_PIXELS``: reopened with
      one FFmpeg thread inside an ``InterleavedSource`` (call ``decode_next(source)`` after each pose),
      so that decoding never runs beside the pose pipeline. Measured on 2 cores with 2 threads, six
      alternating ``bench`` pairs against FFmpeg's frame threads inline, at 640x360: the tracked frame
      0.23 ms cheaper (no decoder beside the crop and the invoke), the same frame rate (133 against
      132 fps; 121 against 120 with silhouettes).
    * Otherwise (larger video, images): inline; FFmpeg's own frame threads, at the idle policy, fill the gaps.
    """
    if usable_cores() > inference_threads:
        return PrefetchingSource(source)
    if isinstance(source, VideoFileSource) and source.decoder_threads != 1:
        width, height = source.size
        if 0 < width * height <= INTERLEAVE_MAX_PIXELS:
            source.close()
            return InterleavedSource(VideoFileSource(source.path, decoder_threads=1))
    return source


def decode_next(source: FrameSource) -> None:
    """Tell ``source`` that the current frame's pose is done: an ``InterleavedSource`` starts decoding
    the next frame now. Other sources decode on their own schedule; nothing happens."""
    if isinstance(source, InterleavedSource):
        source.decode_next()


def iter_frames(source: FrameSource) -> Iterator[Frame]:
    """Iterate over a source until it is exhausted."""
    while (frame := source.read()) is not None:
        yield frame
