"""A standalone job worker for the crash tests, plus the idempotent handler both sides register.

Run as ``python -m tests.support.jobs_crash_worker DATABASE_URL VAR_DIR LEASE_S``: it serves jobs
through :func:`backend.jobs.worker.run_worker_forever` until SIGTERM (graceful) or SIGKILL.

The handler's effect adds ``amount`` to a counter. It is made idempotent the usual way: a marker row
with a unique key is inserted in the same transaction as the effect, and a repeat whose marker
already exists changes nothing. Each run is also logged (outside that transaction) so a test can see
how many times the handler actually ran and in which process.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from backend.jobs.queue import JobContext, JobRegistry
from backend.jobs.worker import run_worker_forever
from backend.settings import Settings

EFFECT_KIND = "test.effect"

TABLES = (
    "CREATE TABLE IF NOT EXISTS jobs_test_run (job_id BIGINT NOT NULL, attempt INT NOT NULL, "
    "pid INT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS jobs_test_effect (effect_key VARCHAR(64) PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS jobs_test_counter (name VARCHAR(64) PRIMARY KEY, "
    "total INT NOT NULL)",
)


def sql(conn: BaseDBAsyncClient, text: str) -> str:
    if conn.capabilities.dialect != "postgres":
        return text
    counter = iter(range(1, 100))
    return re.sub(r"\?", lambda _: f"${next(counter)}", text)


async def query(
    conn: BaseDBAsyncClient, text: str, values: list[Any] | None = None
) -> list[dict[str, Any]]:
    return list(await conn.execute_query_dict(sql(conn, text), values or []))


async def create_tables(conn: BaseDBAsyncClient) -> None:
    for statement in TABLES:
        await conn.execute_script(statement)
    for statement in (
        "DELETE FROM jobs_test_run",
        "DELETE FROM jobs_test_effect",
        "DELETE FROM jobs_test_counter",
    ):
        await conn.execute_script(statement)


async def apply_effect(payload: dict[str, Any], ctx: JobContext) -> None:
    async with in_transaction() as conn:
        await query(
            conn,
            "INSERT INTO jobs_test_run (job_id, attempt, pid) VALUES (?, ?, ?) RETURNING job_id",
            [ctx.job_id, ctx.attempt, os.getpid()],
        )
    first = ctx.attempt == 1
    if first and payload.get("pause_before_effect_s"):
        await asyncio.sleep(float(payload["pause_before_effect_s"]))
    async with in_transaction() as conn:
        marker = await query(
            conn,
            "INSERT INTO jobs_test_effect (effect_key) VALUES (?) "
            "ON CONFLICT DO NOTHING RETURNING effect_key",
            [payload["key"]],
        )
        if marker:  # first time this effect is applied
            await query(
                conn,
                "INSERT INTO jobs_test_counter (name, total) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET total = jobs_test_counter.total + ? "
                "RETURNING total",
                ["effect", payload["amount"], payload["amount"]],
            )
    if first and payload.get("pause_after_effect_s"):
        # A worker killed here has applied the effect but not yet marked the job done.
        await asyncio.sleep(float(payload["pause_after_effect_s"]))


def build_registry(settings: Settings | None = None) -> JobRegistry:
    registry = JobRegistry()
    registry.register(EFFECT_KIND, apply_effect)
    return registry


def main(argv: list[str]) -> None:
    database_url, var_dir, lease_s = argv[0], argv[1], float(argv[2])
    settings = Settings(
        database_url=database_url,
        var_dir=var_dir,
        auto_migrate=False,
        job_poll_s=0.05,
        worker_concurrency=2,
        log_level="WARNING",
    )
    asyncio.run(
        run_worker_forever(settings, build_registry, lease_s=lease_s, shutdown_timeout_s=10.0)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
