"""A bounded thread pool for face work, so dlib never runs on the event loop.

dlib releases the GIL in detection, landmarks and the encoder, so threads use both cores. dlib's
models are not thread-safe: :mod:`identity.face.engine` keeps one set per worker thread, and
:meth:`FacePool.prime` loads them in every worker at startup. The pool
admits at most ``max_workers + max_queue`` jobs at once; one more is refused at once with
:class:`PoolBusy`, which the HTTP layer answers with 429 and ``Retry-After`` instead of letting
requests pile up behind a multi-second queue.

A job keeps its slot until its thread finishes, even when the awaiting request was cancelled
(client gone): the CPU is still busy, so admitting a replacement would overload it.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class PoolBusy(Exception):
    """Every slot is taken; retry after ``retry_after_s`` seconds (HTTP 429 + Retry-After)."""

    code = "face_busy"
    status = 429

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"face verification is busy; retry after {retry_after_s} s")


class FacePool:
    def __init__(
        self,
        max_workers: int = 2,
        max_queue: int = 4,
        *,
        initial_job_s: float = 0.5,
        max_retry_after_s: int = 30,
    ) -> None:
        if max_workers < 1 or max_queue < 0:
            raise ValueError("max_workers >= 1 and max_queue >= 0 required")
        self.max_workers = max_workers
        self.max_queue = max_queue
        self.capacity = max_workers + max_queue
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="face")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False
        # moving average of job duration, for Retry-After
        self._job_s = initial_job_s
        self._max_retry_after_s = max_retry_after_s
        self.completed = 0
        self.rejected = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the queue ahead drained by the workers."""
        waves = max(1, math.ceil(self._in_flight / self.max_workers))
        return max(1, min(self._max_retry_after_s, math.ceil(waves * self._job_s)))

    def _release(self, started: float, _future: Future[Any]) -> None:
        elapsed = time.perf_counter() - started
        with self._lock:
            self._in_flight -= 1
            self.completed += 1
            self._job_s = 0.8 * self._job_s + 0.2 * elapsed

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start ``fn`` in a worker, or raise :class:`PoolBusy` at once when every slot is taken."""
        with self._lock:
            if self._closed:
                raise RuntimeError("face pool is closed")
            if self._in_flight >= self.capacity:
                self.rejected += 1
                raise PoolBusy(self.retry_after())
            self._in_flight += 1
        try:
            future = self._executor.submit(functools.partial(fn, *args, **kwargs))
        except BaseException:
            with self._lock:
                self._in_flight -= 1
            raise
        future.add_done_callback(functools.partial(self._release, time.perf_counter()))
        return future

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking ``fn(*args, **kwargs)`` in the pool and await its result."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    async def prime(self, fn: Callable[[], object], *, timeout_s: float = 120.0) -> None:
        """Run ``fn`` once in every worker thread, e.g. ``engine.warm_up`` at startup, so each
        thread loads its own dlib models before the first request waits for them."""
        barrier = threading.Barrier(self.max_workers)

        def once() -> None:
            fn()
            barrier.wait(timeout_s)  # holds the thread, so every job gets a different one

        await asyncio.gather(*(self.run(once) for _ in range(self.max_workers)))

    def close(self, *, wait: bool = True) -> None:
        """Refuse new jobs, drop queued ones and (by default) wait for running ones."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)

    async def aclose(self) -> None:
        """:meth:`close` without blocking the event loop (for ``cleanup_ctx``)."""
        await asyncio.to_thread(self.close)
