"""Durable jobs: transactional enqueue, retries, dead letters, dedupe, leases, crash recovery."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.transactions import in_transaction

from backend.appkeys import DATABASE, JOBS, METRICS
from backend.db import Database
from backend.jobs.models import Job, JobStatus
from backend.jobs.queue import JobContext, JobRegistry, PermanentJobError, enqueue
from backend.jobs.worker import JobStore, Worker, default_retry_delay, describe_error
from backend.observability import Metrics
from backend.settings import Settings
from tests.conftest import BACKEND
from tests.support import jobs_crash_worker as crash

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings)
    try:
        with database.activate():
            yield database
    finally:
        await database.close()


def make_worker(
    registry: JobRegistry, settings: Settings, database: Database, **options: Any
) -> Worker:
    options.setdefault("poll_s", 0.02)
    options.setdefault("retry_delay", lambda attempt: 0.01)
    return Worker(registry, settings, options.pop("metrics", Metrics()), database, **options)


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], within: float = 10.0, interval: float = 0.02
) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def job_is(job_id: int, status: JobStatus) -> bool:
    job = await Job.get(id=job_id)
    return job.status == status


async def add_job(kind: str, payload: dict[str, Any] | None = None, **options: Any) -> Job:
    async with in_transaction() as conn:
        return await enqueue(conn, kind, payload or {}, **options)


def count(metrics: Metrics, kind: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "jobs_finished_total", {"kind": kind, "outcome": outcome}
    )
    return value or 0.0


# --- enqueue -------------------------------------------------------------------------------------


async def test_enqueue_rolls_back_with_the_transaction(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with in_transaction() as conn:
            await enqueue(conn, "test.noop", {"n": 1})
            raise Boom
    assert await Job.all().count() == 0

    job = await add_job("test.noop", {"n": 2})
    stored = await Job.get(id=job.id)
    assert (stored.status, stored.attempts, stored.payload) == (JobStatus.QUEUED, 0, {"n": 2})


@pytest.mark.parametrize(
    "payload",
    [
        {"when": datetime.now(UTC)},
        {"s": {1, 2}},
        {"x": float("nan")},
        {"nested": {1: "int key"}},
        ["not", "an", "object"],
    ],
)
async def test_enqueue_rejects_non_json_payloads(db: Database, payload: Any) -> None:
    async with in_transaction() as conn:
        with pytest.raises(ValueError):
            await enqueue(conn, "test.noop", payload)
        with pytest.raises(ValueError):
            await enqueue(conn, "test.noop", {}, run_at=datetime.now())  # naive
    assert await Job.all().count() == 0


async def test_dedupe_key_returns_the_existing_job(db: Database) -> None:
    first = await add_job("test.noop", {"v": 1}, dedupe_key="filing-42-notice")
    again = await add_job("test.noop", {"v": 2}, dedupe_key="filing-42-notice")
    assert again.id == first.id and again.payload == {"v": 1}
    # In one transaction too, and the transaction stays usable afterwards.
    async with in_transaction() as conn:
        a = await enqueue(conn, "test.noop", {}, dedupe_key="k2")
        b = await enqueue(conn, "test.noop", {}, dedupe_key="k2")
        c = await enqueue(conn, "test.noop", {})
    assert a.id == b.id != c.id
    assert await Job.all().count() == 3


async def test_dedupe_races_between_transactions(db: Database) -> None:
    async def attempt(n: int) -> int:
        async with in_transaction() as conn:
            job = await enqueue(conn, "test.noop", {"n": n}, dedupe_key="race")
            await asyncio.sleep(0.01)
            return job.id

    ids = await asyncio.gather(*(attempt(n) for n in range(5)))
    assert len(set(ids)) == 1
    assert await Job.filter(dedupe_key="race").count() == 1


# --- running, retrying, dying --------------------------------------------------------------------


async def test_retries_with_backoff_then_succeeds(db: Database, settings: Settings) -> None:
    runs: list[JobContext] = []

    async def flaky(payload: dict[str, Any], ctx: JobContext) -> None:
        runs.append(ctx)
        if ctx.attempt < 3:
            raise ConnectionError("upstream busy")

    registry = JobRegistry()
    registry.register("test.flaky", flaky)
    delays: list[int] = []
    metrics = Metrics()
    worker = make_worker(
        registry,
        settings,
        db,
        metrics=metrics,
        retry_delay=lambda attempt: delays.append(attempt) or 0.05,
    )
    job = await add_job("test.flaky", {"x": 1})
    await worker.start()
    try:
        await wait_until(lambda: job_is(job.id, JobStatus.DONE))
    finally:
        await worker.stop()
    stored = await Job.get(id=job.id)
    assert stored.attempts == 3 and stored.finished_at is not None
    assert stored.locked_by is None and stored.lease_until is None
    assert stored.last_error == "ConnectionError: upstream busy"
    assert [ctx.attempt for ctx in runs] == [1, 2, 3] and delays == [1, 2]
    assert {ctx.job_id for ctx in runs} == {job.id}
    assert count(metrics, "test.flaky", "retry") == 2 and count(metrics, "test.flaky", "done") == 1


async def test_failed_job_waits_exponential_backoff(db: Database, settings: Settings) -> None:
    for attempt in range(1, 15):
        base = min(2**attempt, 300)
        assert all(0.8 * base <= default_retry_delay(attempt) <= 1.2 * base for _ in range(20))

    async def fail(payload: dict[str, Any], ctx: JobContext) -> None:
        raise RuntimeError("nope")

    registry = JobRegistry()
    registry.register("test.fail", fail)
    worker = Worker(registry, settings, Metrics(), db, poll_s=0.02)  # the default backoff
    job = await add_job("test.fail")
    assert await worker.run_once() == 1
    stored = await Job.get(id=job.id)
    assert stored.status == JobStatus.QUEUED and stored.attempts == 1
    wait = (stored.run_at - datetime.now(UTC)).total_seconds()
    assert 1.2 <= wait <= 2.4  # 2 s ± 20%, less the time since
    assert await worker.run_once() == 0  # not due yet


async def test_max_attempts_then_dead(db: Database, settings: Settings) -> None:
    runs = 0

    async def always_fails(payload: dict[str, Any], ctx: JobContext) -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("call to 13812345678 failed, access_token=abc.def password: hunter2")

    registry = JobRegistry()
    registry.register("test.doomed", always_fails)
    metrics = Metrics()
    worker = make_worker(registry, settings, db, metrics=metrics)
    job = await add_job("test.doomed", max_attempts=3)
    await worker.start()
    try:
        await wait_until(lambda: job_is(job.id, JobStatus.DEAD))
        await asyncio.sleep(0.1)  # would it run again?
    finally:
        await worker.stop()
    stored = await Job.get(id=job.id)
    assert runs == 3 and stored.attempts == 3 and stored.finished_at is not None
    assert stored.last_error is not None
    for secret in ("13812345678", "abc.def", "hunter2"):
        assert secret not in stored.last_error
    assert count(metrics, "test.doomed", "dead") == 1
    assert count(metrics, "test.doomed", "retry") == 2


async def test_unknown_kind_and_permanent_errors_die_at_once(
    db: Database, settings: Settings
) -> None:
    async def refuse(payload: dict[str, Any], ctx: JobContext) -> None:
        raise PermanentJobError("filing no longer exists")

    registry = JobRegistry()
    registry.register("test.refuse", refuse)
    registry.register("test.not-async", lambda payload, ctx: None)  # type: ignore[arg-type,return-value]
    worker = make_worker(registry, settings, db)
    unknown = await add_job("test.nobody-handles-this")
    refused = await add_job("test.refuse")
    broken = await add_job("test.not-async", max_attempts=1)
    assert await worker.run_once() == 3
    broken_job = await Job.get(id=broken.id)
    assert broken_job.status == JobStatus.DEAD and broken_job.last_error is not None
    assert broken_job.last_error.startswith("TypeError")
    unknown_job, refused_job = await Job.get(id=unknown.id), await Job.get(id=refused.id)
    assert unknown_job.status == JobStatus.DEAD and unknown_job.attempts == 1
    assert unknown_job.last_error is not None and "no handler" in unknown_job.last_error
    assert "test.nobody-handles-this" in unknown_job.last_error
    assert refused_job.status == JobStatus.DEAD and refused_job.attempts == 1
    assert refused_job.last_error == "PermanentJobError: filing no longer exists"


async def test_run_at_delays_the_first_run(db: Database, settings: Settings) -> None:
    ran: list[int] = []

    async def note(payload: dict[str, Any], ctx: JobContext) -> None:
        ran.append(ctx.job_id)

    registry = JobRegistry()
    registry.register("test.note", note)
    worker = make_worker(registry, settings, db)
    later = await add_job("test.note", run_at=datetime.now(UTC) + timedelta(minutes=1))
    now = await add_job("test.note")
    assert await worker.run_once() == 1 and ran == [now.id]
    assert await worker.run_once() == 0
    # Move the clock instead of sleeping: a loaded machine must not decide the outcome.
    await Job.filter(id=later.id).update(run_at=datetime.now(UTC) - timedelta(seconds=1))
    assert await worker.run_once() == 1 and ran == [now.id, later.id]


def test_registry_rejects_conflicting_handlers() -> None:
    async def one(payload: dict[str, Any], ctx: JobContext) -> None: ...
    async def two(payload: dict[str, Any], ctx: JobContext) -> None: ...

    registry = JobRegistry()
    registry.register("a.b", one)
    registry.register("a.b", one)  # idempotent
    with pytest.raises(ValueError):
        registry.register("a.b", two)
    with pytest.raises(ValueError):
        registry.register("", one)
    assert "a.b" in registry and registry.get("a.c") is None


def test_describe_error_masks_secrets() -> None:
    exc = ValueError(
        "Authorization: Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig "
        "id 11010519491231002X url postgres://u:pw@host/db " + "x" * 5000
    )
    text = describe_error(exc)
    assert len(text) <= 2000 and text.startswith("ValueError: ")
    for secret in ("eyJhbGci", "11010519491231002X", ":pw@"):
        assert secret not in text


# --- leases and concurrency ----------------------------------------------------------------------


async def test_two_workers_never_run_the_same_job_concurrently(
    db: Database, settings: Settings
) -> None:
    active: set[int] = set()
    overlaps: list[int] = []
    runs: dict[int, int] = {}
    workers_seen: set[str] = set()

    async def tracked(payload: dict[str, Any], ctx: JobContext) -> None:
        workers_seen.add(ctx.worker_id)
        if ctx.job_id in active:
            overlaps.append(ctx.job_id)
        active.add(ctx.job_id)
        runs[ctx.job_id] = runs.get(ctx.job_id, 0) + 1
        await asyncio.sleep(0.01 * (ctx.job_id % 4))
        active.discard(ctx.job_id)

    registry = JobRegistry()
    registry.register("test.tracked", tracked)
    # A second ORM context with its own connections (pool), as another process would have.
    # Opened in a task of its own so the test's current ORM context stays the test's.
    other_db = await asyncio.create_task(Database.open(settings), context=contextvars.Context())
    assert other_db.context is not db.context
    try:
        workers = [
            make_worker(registry, settings, db, concurrency=4),
            make_worker(registry, settings, other_db, concurrency=4),
        ]
        ids = []
        for n in range(40):
            ids.append((await add_job("test.tracked", {"n": n})).id)
        for worker in workers:
            await worker.start()
        try:
            await wait_until(lambda: _all_done(len(ids)))
        finally:
            for worker in workers:
                await worker.stop()
    finally:
        await other_db.close()
    assert overlaps == []
    assert runs == dict.fromkeys(ids, 1)
    assert {job.attempts for job in await Job.all()} == {1}
    assert workers_seen == {worker.worker_id for worker in workers}


async def test_concurrent_claims_never_overlap(db: Database, settings: Settings) -> None:
    for n in range(30):
        await add_job("test.any", {"n": n})
    store = JobStore(db)
    batches = await asyncio.gather(*(store.claim(f"w{i}", 4, 30) for i in range(10)))
    claimed = [job.id for batch in batches for job in batch]
    assert len(claimed) == len(set(claimed)) == 30


@pytest.mark.postgres_only
@pytest.mark.skipif(BACKEND != "postgres", reason="row locks need PostgreSQL")
async def test_claim_skips_rows_locked_by_another_transaction(
    db: Database, settings: Settings
) -> None:
    first = await add_job("test.any")
    second = await add_job("test.any")
    store = JobStore(db)
    other = await asyncpg.connect(settings.effective_database_url)
    try:
        async with other.transaction():
            # Another worker's claim transaction is holding the first row.
            await other.execute("SELECT id FROM job WHERE id = $1 FOR UPDATE", first.id)
            claimed = await asyncio.wait_for(store.claim("w", 5, 30), 5)  # skips, no waiting
            assert [job.id for job in claimed] == [second.id]
    finally:
        await other.close()
    assert [job.id for job in await store.claim("w", 5, 30)] == [first.id]


async def _all_done(expected: int) -> bool:
    return await Job.filter(status=JobStatus.DONE).count() == expected


async def test_heartbeat_keeps_a_long_job_leased(db: Database, settings: Settings) -> None:
    runs: list[str] = []

    async def slow(payload: dict[str, Any], ctx: JobContext) -> None:
        runs.append(ctx.worker_id)
        await asyncio.sleep(2.5)  # well past the lease

    registry = JobRegistry()
    registry.register("test.slow", slow)
    workers = [make_worker(registry, settings, db, lease_s=1.2) for _ in range(2)]
    job = await add_job("test.slow")
    for worker in workers:
        await worker.start()
    try:
        await wait_until(lambda: job_is(job.id, JobStatus.DONE))
    finally:
        for worker in workers:
            await worker.stop()
    assert len(runs) == 1
    assert (await Job.get(id=job.id)).attempts == 1


async def test_a_stolen_lease_cannot_be_clobbered(db: Database, settings: Settings) -> None:
    store = JobStore(db)
    job = await add_job("test.any")
    [first] = await store.claim("worker-a", 5, lease_s=30)
    assert first.attempts == 1 and await store.claim("worker-b", 5, lease_s=30) == []
    # Worker A stalls past its lease; B takes the job over.
    await Job.filter(id=job.id).update(lease_until=datetime.now(UTC) - timedelta(seconds=1))
    [second] = await store.claim("worker-b", 5, lease_s=30)
    assert second.id == job.id and second.attempts == 2
    assert not await store.heartbeat(first, 30)
    assert not await store.complete(first)
    assert not await store.retry(first, 1, "late failure")
    assert not await store.release(first)
    stored = await Job.get(id=job.id)
    assert (stored.status, stored.locked_by) == (JobStatus.RUNNING, "worker-b")
    assert await store.complete(second)
    assert (await Job.get(id=job.id)).status == JobStatus.DONE


async def test_losing_the_lease_cancels_the_handler(db: Database, settings: Settings) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def long(payload: dict[str, Any], ctx: JobContext) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    registry = JobRegistry()
    registry.register("test.long", long)
    metrics = Metrics()
    worker = make_worker(registry, settings, db, lease_s=0.6, metrics=metrics)
    job = await add_job("test.long")
    await worker.start()
    try:
        await asyncio.wait_for(started.wait(), 5)
        await Job.filter(id=job.id).update(locked_by="someone-else")
        await asyncio.wait_for(cancelled.wait(), 5)
        await wait_until(lambda: _async(worker.active_jobs == 0))
    finally:
        await worker.stop()
    stored = await Job.get(id=job.id)
    assert (stored.status, stored.locked_by) == (JobStatus.RUNNING, "someone-else")
    assert count(metrics, "test.long", "lease_lost") == 1


async def _async(value: bool) -> bool:
    return value


async def test_stop_waits_for_short_jobs_and_releases_long_ones(
    db: Database, settings: Settings
) -> None:
    started: set[str] = set()

    async def sleeper(payload: dict[str, Any], ctx: JobContext) -> None:
        started.add(payload["name"])
        await asyncio.sleep(payload["seconds"])

    registry = JobRegistry()
    registry.register("test.sleep", sleeper)
    metrics = Metrics()
    worker = make_worker(registry, settings, db, shutdown_timeout_s=0.5, metrics=metrics)
    short = await add_job("test.sleep", {"name": "short", "seconds": 0.2})
    long = await add_job("test.sleep", {"name": "long", "seconds": 30})
    await worker.start()
    await wait_until(lambda: _async(started == {"short", "long"}))
    begun = time.monotonic()
    await worker.stop()
    assert time.monotonic() - begun < 3
    assert (await Job.get(id=short.id)).status == JobStatus.DONE
    released = await Job.get(id=long.id)
    assert (released.status, released.attempts, released.locked_by) == (JobStatus.QUEUED, 0, None)
    assert count(metrics, "test.sleep", "released") == 1
    # Whoever starts next picks it up straight away.
    assert [c.id for c in await JobStore(db).claim("next", 5, 30)] == [long.id]


async def test_embedded_worker_runs_inside_the_server(
    settings_factory: Callable[..., Settings], aiohttp_client: Any
) -> None:
    from backend.app import create_app

    app = create_app(settings_factory(run_worker=True, job_poll_s=0.02))
    seen: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def notify(payload: dict[str, Any], ctx: JobContext) -> None:
        seen.append(payload)
        done.set()

    app[JOBS].register("test.notify", notify)
    client = await aiohttp_client(app)
    assert (await client.get("/healthz")).status == 200
    with app[DATABASE].activate():
        job = await add_job("test.notify", {"filing": "F-1"})
    await asyncio.wait_for(done.wait(), 5)
    assert seen == [{"filing": "F-1"}]
    with app[DATABASE].activate():
        await wait_until(lambda: job_is(job.id, JobStatus.DONE))
    assert count(app[METRICS], "test.notify", "done") == 1


# --- crash recovery across processes -------------------------------------------------------------


def start_worker_process(settings: Settings, lease_s: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.jobs_crash_worker",
            settings.effective_database_url,
            str(settings.var_dir),
            str(lease_s),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def rows(text: str, values: list[Any] | None = None) -> list[dict[str, Any]]:
    async with in_transaction() as conn:
        return await crash.query(conn, text, values)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


@pytest.mark.slow
async def test_worker_killed_mid_job_completes_once_after_restart(
    db: Database, settings: Settings
) -> None:
    async with in_transaction() as conn:
        await crash.create_tables(conn)
    job = await add_job(
        crash.EFFECT_KIND, {"key": "fee-refund-7", "amount": 30, "pause_after_effect_s": 60}
    )
    proc = start_worker_process(settings, lease_s=2.0)
    try:
        # The first worker applies the effect, then is killed before it can mark the job done.
        await wait_until(lambda: _has_rows("SELECT effect_key FROM jobs_test_effect"), within=20)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        stop_process(proc)
    orphan = await Job.get(id=job.id)
    assert orphan.status == JobStatus.RUNNING and orphan.attempts == 1

    # A new worker (this process) re-claims it once the dead worker's lease runs out.
    registry = crash.build_registry()
    worker = make_worker(registry, settings, db, lease_s=2.0, poll_s=0.05)
    begun = time.monotonic()
    await worker.start()
    try:
        await wait_until(lambda: job_is(job.id, JobStatus.DONE), within=10)
    finally:
        await worker.stop()
    assert time.monotonic() - begun < 5
    finished = await Job.get(id=job.id)
    assert finished.attempts == 2 and finished.locked_by is None
    runs = await rows("SELECT attempt, pid FROM jobs_test_run ORDER BY attempt")
    assert [(r["attempt"], r["pid"] == os.getpid()) for r in runs] == [(1, False), (2, True)]
    assert await rows("SELECT total FROM jobs_test_counter") == [{"total": 30}]
    assert len(await rows("SELECT effect_key FROM jobs_test_effect")) == 1


@pytest.mark.slow
async def test_sigterm_lets_the_running_job_finish(db: Database, settings: Settings) -> None:
    async with in_transaction() as conn:
        await crash.create_tables(conn)
    job = await add_job(
        crash.EFFECT_KIND, {"key": "notice-9", "amount": 1, "pause_before_effect_s": 1.0}
    )
    proc = start_worker_process(settings, lease_s=5.0)
    try:
        await wait_until(lambda: _has_rows("SELECT job_id FROM jobs_test_run"), within=20)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 15) == 0
    finally:
        stop_process(proc)
    finished = await Job.get(id=job.id)
    assert (finished.status, finished.attempts) == (JobStatus.DONE, 1)
    assert await rows("SELECT total FROM jobs_test_counter") == [{"total": 1}]


async def _has_rows(text: str) -> bool:
    return bool(await rows(text))
