"""The job worker: claims due jobs under a lease, runs their handlers, retries with backoff.

Claiming is one statement. On PostgreSQL it locks candidate rows with ``FOR UPDATE SKIP LOCKED`` so
several workers (in several processes or hosts) never claim the same row; on SQLite, which has one
writer at a time, the same UPDATE … RETURNING is atomic by itself. A claimed job holds a lease that
the worker extends (heartbeat) while the handler runs; a worker that dies stops extending it, and
once it expires any worker claims the job again. Every later write is a compare-and-set on the claim
(``locked_by`` and ``attempts``), so a worker whose lease was taken over cannot clobber the new run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import signal
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.context import get_current_context

from backend.db import Database, migrate
from backend.jobs.queue import JobContext, JobHandler, JobRegistry, PermanentJobError
from backend.observability import Metrics
from backend.redact import redact
from backend.settings import Settings

log = logging.getLogger("mobile_court.jobs")

MAX_ERROR_LENGTH = 2000
MAX_BACKOFF_S = 300.0


def describe_error(exc: BaseException) -> str:
    """``Type: message`` with secrets and personal data masked, truncated for ``last_error``."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = redact(text)
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 1] + "…"
    return text


def default_retry_delay(attempt: int) -> float:
    """Seconds before retry number ``attempt + 1``: 2, 4, 8 … capped at 300, ±20% jitter so jobs
    that failed together (an outage) do not all come back at the same instant."""
    base = min(2.0**attempt, MAX_BACKOFF_S)
    return base * random.uniform(0.8, 1.2)


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    worker_id: str


def _payload(value: Any) -> dict[str, Any]:
    # Both drivers hand JSON columns back as text in raw queries.
    decoded = json.loads(value) if isinstance(value, str | bytes) else value
    return decoded if isinstance(decoded, dict) else {"value": decoded}


def _sqlite_ts(value: datetime) -> str:
    # The text form Tortoise's sqlite adapter writes; ISO text in UTC sorts chronologically.
    return value.astimezone(UTC).isoformat(" ")


_RETURNING = "RETURNING id, kind, payload, attempts, max_attempts"


class JobStore:
    """The worker's SQL on the job table, for PostgreSQL (database clock) or SQLite."""

    def __init__(self, database: Database) -> None:
        self.database = database
        dialect = database.dialect
        if dialect not in ("postgres", "sqlite"):
            raise RuntimeError(f"job worker does not support the {dialect!r} dialect")
        self.postgres = dialect == "postgres"

    def _now(self) -> tuple[str, list[Any]]:
        if self.postgres:
            return "now()", []
        return "?", [_sqlite_ts(datetime.now(UTC))]

    def _in(self, seconds: float) -> tuple[str, list[Any]]:
        if self.postgres:
            return "now() + make_interval(secs => ?)", [float(seconds)]
        return "?", [_sqlite_ts(datetime.now(UTC) + timedelta(seconds=seconds))]

    async def _query(self, text: str, values: list[Any]) -> list[dict[str, Any]]:
        return await self.database.fetch(text, *values)

    async def claim(self, worker_id: str, limit: int, lease_s: float) -> list[ClaimedJob]:
        lease_sql, lease_args = self._in(lease_s)
        now_sql, now_args = self._now()
        lock = "FOR UPDATE SKIP LOCKED" if self.postgres else ""
        # A running job whose lease ran out belongs to a dead (or stalled) worker: claim it again.
        text = (
            f"UPDATE job SET status = 'running', lease_until = {lease_sql}, locked_by = ?, "
            f"attempts = attempts + 1 WHERE id IN (SELECT id FROM job WHERE "
            f"(status = 'queued' AND run_at <= {now_sql}) OR "
            f"(status = 'running' AND lease_until < {now_sql}) "
            f"ORDER BY run_at, id LIMIT ? {lock}) {_RETURNING}"
        )
        rows = await self._query(text, [*lease_args, worker_id, *now_args, *now_args, limit])
        jobs = [
            ClaimedJob(
                id=int(r["id"]),
                kind=str(r["kind"]),
                payload=_payload(r["payload"]),
                attempts=int(r["attempts"]),
                max_attempts=int(r["max_attempts"]),
                worker_id=worker_id,
            )
            for r in rows
        ]
        return sorted(jobs, key=lambda job: job.id)

    async def _update_claimed(self, job: ClaimedJob, assignments: str, values: list[Any]) -> bool:
        text = (
            f"UPDATE job SET {assignments} WHERE id = ? AND locked_by = ? AND attempts = ? "
            f"AND status = 'running' RETURNING id"
        )
        rows = await self._query(text, [*values, job.id, job.worker_id, job.attempts])
        return bool(rows)

    async def heartbeat(self, job: ClaimedJob, lease_s: float) -> bool:
        lease_sql, lease_args = self._in(lease_s)
        return await self._update_claimed(job, f"lease_until = {lease_sql}", lease_args)

    async def complete(self, job: ClaimedJob) -> bool:
        now_sql, now_args = self._now()
        return await self._update_claimed(
            job,
            f"status = 'done', finished_at = {now_sql}, lease_until = NULL, locked_by = NULL",
            now_args,
        )

    async def retry(self, job: ClaimedJob, delay_s: float, error: str) -> bool:
        run_sql, run_args = self._in(delay_s)
        return await self._update_claimed(
            job,
            f"status = 'queued', run_at = {run_sql}, lease_until = NULL, locked_by = NULL, "
            "last_error = ?",
            [*run_args, error],
        )

    async def bury(self, job: ClaimedJob, error: str) -> bool:
        now_sql, now_args = self._now()
        return await self._update_claimed(
            job,
            f"status = 'dead', finished_at = {now_sql}, lease_until = NULL, locked_by = NULL, "
            "last_error = ?",
            [*now_args, error],
        )

    async def release(self, job: ClaimedJob) -> bool:
        # Interrupted by shutdown, not by its own fault: the attempt is given back.
        return await self._update_claimed(
            job,
            "status = 'queued', lease_until = NULL, locked_by = NULL, attempts = attempts - 1",
            [],
        )


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class Worker:
    """Polls for due jobs and runs up to ``settings.worker_concurrency`` of them at once.

    Start it where the ORM context is current (the app's cleanup_ctx, or inside
    ``database.activate()``); handlers run in tasks that inherit that context. ``lease_s``,
    ``poll_s`` and ``retry_delay`` override the settings (tests, tuning).
    """

    def __init__(
        self,
        registry: JobRegistry,
        settings: Settings,
        metrics: Metrics,
        database: Database,
        *,
        worker_id: str | None = None,
        lease_s: float | None = None,
        poll_s: float | None = None,
        concurrency: int | None = None,
        shutdown_timeout_s: float = 10.0,
        retry_delay: Callable[[int], float] = default_retry_delay,
    ) -> None:
        self.registry = registry
        self.metrics = metrics
        self.database = database
        self.worker_id = worker_id or new_worker_id()
        self.lease_s = float(lease_s if lease_s is not None else settings.job_lease_s)
        self.poll_s = float(poll_s if poll_s is not None else settings.job_poll_s)
        self.concurrency = concurrency or settings.worker_concurrency
        self.shutdown_timeout_s = shutdown_timeout_s
        self.retry_delay = retry_delay
        self._store: JobStore | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    @property
    def store(self) -> JobStore:
        if self._store is None:
            self._store = JobStore(self.database)
        return self._store

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def active_jobs(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        if self._loop_task is not None:
            return
        self._stopping.clear()
        _ = self.store  # fail at start, not in the loop, on an unsupported database
        if get_current_context() is self.database.context:
            self._loop_task = asyncio.create_task(self._loop(), name="job-worker")
        else:
            # Only the new task needs the ORM context; the caller's stays as it was.
            with self.database.activate():
                self._loop_task = asyncio.create_task(self._loop(), name="job-worker")
        log.info(
            "job worker started",
            extra={"worker_id": self.worker_id, "concurrency": self.concurrency},
        )

    async def stop(self) -> None:
        """Stop claiming; let running jobs finish for up to ``shutdown_timeout_s``, then cancel
        them, which hands each back to the queue."""
        if self._loop_task is None:
            return
        self._stopping.set()
        self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._loop_task
        self._loop_task = None
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=self.shutdown_timeout_s)
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "cancelled running jobs at shutdown",
                    extra={"worker_id": self.worker_id, "jobs": len(pending)},
                )
                await asyncio.gather(*pending, return_exceptions=True)
        log.info("job worker stopped", extra={"worker_id": self.worker_id})

    async def run_once(self) -> int:
        """Claim what is due (up to the free slots) and wait for those jobs; returns how many.
        For tests and maintenance commands; the loop does this continuously."""
        claimed = await self.store.claim(self.worker_id, self.concurrency, self.lease_s)
        await asyncio.gather(*(self._execute(job) for job in claimed))
        return len(claimed)

    async def _loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            free = self.concurrency - len(self._running)
            claimed = 0
            if free > 0:
                try:
                    jobs = await self.store.claim(self.worker_id, free, self.lease_s)
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception(
                        "claiming jobs failed",
                        extra={"worker_id": self.worker_id, "failures": failures},
                    )
                    jobs = []
                for job in jobs:
                    task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
                    self._running.add(task)
                    task.add_done_callback(self._job_finished)
                claimed = len(jobs)
            if free > 0 and claimed == free:
                continue  # maybe more is due; the next round waits if every slot is busy
            self._wake.clear()
            # While the database is unreachable, back off instead of logging every poll.
            pause = min(self.poll_s * 2 ** min(failures, 10), 10.0) if failures else self.poll_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    def _job_finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()

    def _count(self, job: ClaimedJob, outcome: str) -> None:
        self.metrics.jobs.labels(job.kind, outcome).inc()

    async def _execute(self, job: ClaimedJob) -> None:
        extra = {
            "job_id": job.id,
            "job_kind": job.kind,
            "attempt": job.attempts,
            "worker_id": self.worker_id,
        }
        try:
            if job.attempts > job.max_attempts:
                # Only a job whose runs keep dying without reporting (crash, OOM kill) gets here.
                await self._bury(
                    job,
                    "gave up: the lease expired on the last attempt "
                    "(the worker died or stalled while running it)",
                    extra,
                )
                return
            handler = self.registry.get(job.kind)
            if handler is None:
                await self._bury(job, f"no handler registered for job kind {job.kind!r}", extra)
                return
            ctx = JobContext(
                job_id=job.id,
                kind=job.kind,
                attempt=job.attempts,
                max_attempts=job.max_attempts,
                worker_id=self.worker_id,
            )
            log.debug("job started", extra=extra)
            await self._run_handler(job, _call(handler, job.payload, ctx), extra)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The job table could not be updated (database down?): the lease will expire and the
            # job runs again, which idempotent handlers tolerate.
            log.exception("job bookkeeping failed", extra=extra)

    async def _run_handler(
        self, job: ClaimedJob, work: Coroutine[Any, Any, None], extra: dict[str, Any]
    ) -> None:
        handler_task: asyncio.Task[None] = asyncio.create_task(work)
        finished = asyncio.Event()
        lease_lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(job, handler_task, finished, lease_lost))
        try:
            try:
                await handler_task
            finally:
                finished.set()
                await heartbeat
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if lease_lost.is_set() and (current is None or not current.cancelling()):
                log.warning("job lease lost; another worker owns it now", extra=extra)
                self._count(job, "lease_lost")
                return
            # Shutdown: hand the job back so another worker (or the next start) runs it at once.
            with contextlib.suppress(Exception):
                if await self.store.release(job):
                    log.info("job released at shutdown", extra=extra)
            self._count(job, "released")
            raise
        except PermanentJobError as exc:
            await self._bury(job, describe_error(exc), extra)
        except Exception as exc:
            error = describe_error(exc)
            if job.attempts >= job.max_attempts:
                await self._bury(job, error, extra)
                return
            delay = max(0.0, float(self.retry_delay(job.attempts)))
            if await self.store.retry(job, delay, error):
                log.warning(
                    "job failed; will retry",
                    exc_info=True,
                    extra={**extra, "retry_in_s": round(delay, 3), "error": error},
                )
                self._count(job, "retry")
            else:
                log.warning("job failed after its lease was lost", extra={**extra, "error": error})
                self._count(job, "lease_lost")
        else:
            if await self.store.complete(job):
                log.info("job done", extra=extra)
                self._count(job, "done")
            else:
                log.warning(
                    "job finished after its lease was lost; not marked done here", extra=extra
                )
                self._count(job, "lease_lost")

    async def _bury(self, job: ClaimedJob, error: str, extra: dict[str, Any]) -> None:
        if await self.store.bury(job, error):
            log.error("job failed permanently", extra={**extra, "error": error})
            self._count(job, "dead")
        else:
            self._count(job, "lease_lost")

    async def _heartbeat(
        self,
        job: ClaimedJob,
        handler_task: asyncio.Task[None],
        finished: asyncio.Event,
        lease_lost: asyncio.Event,
    ) -> None:
        interval = max(self.lease_s / 3, 0.05)
        while not finished.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout=interval)
                return
            try:
                still_ours = await self.store.heartbeat(job, self.lease_s)
            except Exception:
                # Keep trying: the lease is valid for a while yet.
                log.warning(
                    "job heartbeat failed",
                    exc_info=True,
                    extra={"job_id": job.id, "worker_id": self.worker_id},
                )
                continue
            if not still_ours and not finished.is_set():
                lease_lost.set()
                handler_task.cancel()
                return


async def _call(handler: JobHandler, payload: dict[str, Any], ctx: JobContext) -> None:
    # Inside the handler's task, so even a handler that is not a coroutine function fails the job
    # (and is retried) rather than the bookkeeping.
    await handler(payload, ctx)


RegistryFactory = Callable[[Settings], JobRegistry]


async def run_worker_forever(
    settings: Settings,
    build_registry: RegistryFactory,
    *,
    stop: asyncio.Event | None = None,
    metrics: Metrics | None = None,
    **worker_options: Any,
) -> None:
    """A standalone worker process: open the database, run jobs until SIGTERM/SIGINT (or ``stop``
    is set), then shut down gracefully. ``worker_options`` go to :class:`Worker`."""
    if settings.should_auto_migrate:
        await migrate(settings)
    registry = build_registry(settings)
    database = await Database.open(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    try:
        with database.activate():
            worker = Worker(registry, settings, metrics or Metrics(), database, **worker_options)
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, stop.set)
                    handled.append(sig)
            await worker.start()
            try:
                await stop.wait()
            finally:
                await worker.stop()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        try:
            await registry.close()
        finally:
            await database.close()
