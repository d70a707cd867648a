"""The background worker that prepares the next crop while the caller finishes the current frame."""

from __future__ import annotations

import threading

import pytest

from edge.background import BackgroundWorker


def test_ok__jobs_run_in_order_on_another_thread() -> None:
    worker = BackgroundWorker("test-worker")
    seen: list[str] = []
    jobs = [worker.submit(lambda i=i: (seen.append(threading.current_thread().name), i)[1]) for i in range(5)]
    assert [job.result() for job in jobs] == [0, 1, 2, 3, 4]
    assert seen == ["test-worker"] * 5
    worker.close()


def test_error__a_failing_job_raises_where_its_result_is_read() -> None:
    worker = BackgroundWorker("test-worker")
    job = worker.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        job.result()
    assert worker.submit(lambda: "still working").result() == "still working"
    worker.close()


def test_ok__close_finishes_queued_jobs_and_stops_the_thread() -> None:
    worker = BackgroundWorker("test-worker-close")
    job = worker.submit(lambda: sum(range(1000)))
    worker.close(timeout=5.0)
    assert job.result() == 499500
    assert "test-worker-close" not in [t.name for t in threading.enumerate()]
