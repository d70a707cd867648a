"""A background thread for work that need not wait: the next crop's sample maps, the next video frame.

numpy and OpenCV release the GIL while they compute, so a job really runs beside the caller. Simpler and
cheaper per frame than ``concurrent.futures``: one daemon thread, a C queue, a lock per job.
"""

from __future__ import annotations

import atexit
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Job(Generic[T]):
    """One call handed to a ``BackgroundWorker``; ``result()`` waits for it and re-raises its error."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self._done = threading.Lock()
        self._done.acquire()

    def run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to whoever waits for the result
            self._error = exc
        self._done.release()

    def result(self) -> T:
        with self._done:
            pass
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class BackgroundWorker:
    """A daemon thread that runs jobs one at a time, in order.

    Daemon, so that a forgotten worker never keeps a process alive; stopped at interpreter exit after its
    queued jobs, so that shutdown never catches it inside numpy.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Job[object] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        _WORKERS.add(self)

    def submit(self, call: Callable[[], T]) -> Job[T]:
        job = Job(call)
        self._jobs.put(job)  # type: ignore[arg-type]
        return job

    def close(self, timeout: float | None = None) -> None:
        """Stop after the queued jobs; waits up to ``timeout`` seconds (None: as long as they take)."""
        self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.run()


_WORKERS: weakref.WeakSet[BackgroundWorker] = weakref.WeakSet()


@atexit.register
def _stop_workers() -> None:
    for worker in list(_WORKERS):
        worker.close(timeout=2.0)
