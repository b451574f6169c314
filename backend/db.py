"""Tortoise ORM wiring: one Tortoise app (and migration chain) per bounded module.

The ORM keeps its state in a context variable; the context object ``Tortoise.init`` returns is kept
on :class:`Database` and closed through it, because aiohttp may run cleanup in another context where
``Tortoise.close_connections()`` would silently close nothing (DESIGN §3).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import json
import os
import re
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate
from tortoise.models import Model

from backend.settings import Settings

# (app label, models module, migrations module). Order matters only for readability: Tortoise
# resolves cross-app foreign keys ("auth.Account") and migration dependencies itself.
APPS: tuple[tuple[str, str, str], ...] = (
    ("auth", "backend.auth.models", "backend.auth.migrations"),
    ("audit", "backend.audit.models", "backend.audit.migrations"),
    ("idempotency", "backend.idempotency.models", "backend.idempotency.migrations"),
    ("ratelimit", "backend.ratelimit.models", "backend.ratelimit.migrations"),
    ("jobs", "backend.jobs.models", "backend.jobs.migrations"),
    ("blobs", "backend.storage.models", "backend.storage.migrations"),
    ("identity", "identity.models", "identity.migrations"),
    ("filing", "filing.models", "filing.migrations"),
    ("service", "service_of_process.models", "service_of_process.migrations"),
    ("hearings", "hearings.models", "hearings.migrations"),
    ("async_hearings", "hearings.asynchronous.models", "hearings.asynchronous.migrations"),
    ("mediation", "hearings.mediation.models", "hearings.mediation.migrations"),
)

M = TypeVar("M", bound=Model)

# Connections of the PostgreSQL read pool (capped by db_pool_max). Four already keep a point
# read's round trip overlapped with the event loop's other work; more only add idle backends.
READ_POOL_SIZE = 4


def _connection(settings: Settings) -> str | dict[str, Any]:
    url = settings.effective_database_url
    if url.startswith("sqlite://"):
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers proceed during a write; FULL sync so an acknowledged commit survives
        # power loss, not just a process crash.
        sep = "&" if "?" in url else "?"
        return f"{url}{sep}journal_mode=WAL&synchronous=FULL&foreign_keys=ON"
    url = url.replace("postgresql://", "postgres://", 1)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}minsize=1&maxsize={settings.db_pool_max}"


def tortoise_config(settings: Settings) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(settings)},
        "apps": {
            label: {"models": [models], "default_connection": "default", "migrations": migrations}
            for label, models, migrations in APPS
        },
        "use_tz": True,
        "timezone": "UTC",
    }


class ReadPool:
    """A few asyncpg connections reserved for :meth:`Database.read`'s point reads.

    Going through Tortoise's pool costs more than the query itself: its wrappers, asyncpg's
    ``Pool.acquire`` queue, and a task per release (``asyncio.shield``). Here a connection is
    taken from a list under a FIFO semaphore and given back; asyncpg caches each connection's
    prepared statements. Connections open on first use; one the server closed is replaced (the
    read retried once), one whose query was cancelled (it may still be busy) is dropped.
    """

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self._slots = asyncio.Semaphore(size)
        self._idle: list[asyncpg.Connection] = []
        self._closed = False

    async def fetch(self, text: str, params: tuple[Any, ...]) -> list[asyncpg.Record]:
        async with self._slots:
            if self._closed:
                raise RuntimeError("the database is closed")
            connection = self._take_idle()
            if connection is not None:
                try:
                    return await self._run(connection, text, params)
                except Exception:
                    if not connection.is_closed():
                        raise
                    # Dropped by the server while idle (restart, terminated): a point read can
                    # simply be repeated, on a new connection.
            return await self._run(await asyncpg.connect(self.dsn), text, params)

    async def _run(
        self, connection: asyncpg.Connection, text: str, params: tuple[Any, ...]
    ) -> list[asyncpg.Record]:
        try:
            rows: list[asyncpg.Record] = await connection.fetch(text, *params)
        except Exception:
            if not connection.is_closed():
                self._give_back(connection)  # the statement failed, not the connection
            raise
        except BaseException:
            connection.terminate()  # cancelled mid-query: it may still be busy
            raise
        self._give_back(connection)
        return rows

    def _give_back(self, connection: asyncpg.Connection) -> None:
        if self._closed:
            connection.terminate()
        else:
            self._idle.append(connection)

    def _take_idle(self) -> asyncpg.Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.is_closed():
                return connection
        return None

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)


@dataclass(frozen=True)
class RowLookup:
    """A hot point read: some columns of one row of ``table`` by its (unique) ``key`` column.

    ``key_type`` is the key column's PostgreSQL type, for the batched query's array parameter.
    Identifiers here are constants from our code, never from a request.
    """

    table: str
    key: str
    key_type: str
    columns: tuple[str, ...]

    @property
    def single_sql(self) -> str:
        return f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE {self.key} = ?"

    @property
    def batch_sql(self) -> str:
        # One result row per requested position (n), so each caller gets its own lookup's row
        # even when several ask for the same key.
        cols = ", ".join(f"t.{c}" for c in self.columns)
        return (
            f"SELECT q.n AS batch_position, {cols} "
            f"FROM unnest($1::{self.key_type}[]) WITH ORDINALITY AS q(k, n) "
            f"JOIN {self.table} t ON t.{self.key} = q.k"
        )


_Waiter = tuple[Any, "asyncio.Future[dict[str, Any] | None]"]


class _LookupBatcher:
    """Coalesces the :class:`RowLookup` reads made in one event-loop turn into one query.

    Under load the loop wakes for many requests at once and each then wants its row; one round
    trip for all of them replaces a socket send, a PostgreSQL wake-up and a receive per request.
    The batch runs once the current turn's callbacks are done (``call_soon``), so a lone read
    waits one loop turn at most, and in a task of its own, so a caller that
    goes away (cancelled) does not cancel the others' read.
    """

    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool
        self._pending: dict[RowLookup, list[_Waiter]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def get(self, lookup: RowLookup, key: Any) -> asyncio.Future[dict[str, Any] | None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any] | None] = loop.create_future()
        waiting = self._pending.get(lookup)
        if waiting is None:
            waiting = self._pending[lookup] = []
            loop.call_soon(self._flush, lookup)
        waiting.append((key, future))
        return future

    def _flush(self, lookup: RowLookup) -> None:
        batch = self._pending.pop(lookup)
        task = asyncio.get_running_loop().create_task(self._run(lookup, batch))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(
        self,
        lookup: RowLookup,
        batch: list[_Waiter],
    ) -> None:
        try:
            rows = await self._pool.fetch(lookup.batch_sql, ([key for key, _ in batch],))
        except BaseException as exc:
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        found = {row["batch_position"]: row for row in rows}
        for position, (_, future) in enumerate(batch, start=1):
            if future.done():
                continue  # its caller was cancelled
            row = found.get(position)
            future.set_result(None if row is None else {c: row[c] for c in lookup.columns})

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


class Database:
    """An initialised ORM context; models resolve connections through it while it is current."""

    def __init__(
        self,
        context: TortoiseContext,
        sqlite_path: Path | None = None,
        read_pool: ReadPool | None = None,
    ) -> None:
        self.context = context
        self.dialect = str(context.db().capabilities.dialect)
        self.is_postgres = self.dialect == "postgres"
        self._read_pool = read_pool
        self._batcher = _LookupBatcher(read_pool) if read_pool is not None else None
        self._reader: sqlite3.Connection | None = None
        if sqlite_path is not None:
            # Read-only, autocommit: every statement sees the latest committed data (WAL keeps
            # readers from ever waiting on the writer).
            self._reader = sqlite3.connect(
                f"file:{sqlite_path}?mode=ro",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            self._reader.row_factory = sqlite3.Row
            # Pages come from the OS page cache by memory map instead of a read() per page.
            self._reader.execute("PRAGMA mmap_size = 268435456")

    @classmethod
    async def open(cls, settings: Settings) -> Database:
        """A new ORM context, made current in the calling task.

        ``Tortoise.init`` would re-initialise (and close the connections of) whatever context is
        already current, so two databases in one task would silently share one; a context of our
        own avoids that.
        """
        context = TortoiseContext()
        context.__enter__()
        config = tortoise_config(settings)
        if settings.is_postgres:
            config["connections"]["default"] = _postgres_connection(settings)
        await context.init(config=config)
        database_url = settings.effective_database_url
        sqlite_path = read_pool = None
        if database_url.startswith("sqlite://") and ":memory:" not in database_url:
            sqlite_path = Path(database_url.removeprefix("sqlite://").split("?", 1)[0])
        if settings.is_postgres:
            read_pool = ReadPool(database_url, size=min(READ_POOL_SIZE, settings.db_pool_max))
        return cls(context, sqlite_path, read_pool)

    def connection(self) -> BaseDBAsyncClient:
        return self.context.db()

    def activate(self) -> AbstractContextManager[TortoiseContext]:
        """Make this ORM context current in a task that did not inherit it."""
        return self.context

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._batcher is not None:
            await self._batcher.close()
        if self._read_pool is not None:
            await self._read_pool.close()
        await self.context.close_connections()

    async def ping(self) -> None:
        await self.connection().execute_query("SELECT 1")

    def sql(self, text: str) -> str:
        """Raw SQL is written with ``?`` placeholders; asyncpg wants ``$1, $2, …``."""
        return _numbered_placeholders(text) if self.is_postgres else text

    def uuid_param(self, value: UUID) -> UUID | str:
        # Tortoise stores UUIDs as native uuid on PostgreSQL and as CHAR(36) text on SQLite.
        return value if self.is_postgres else str(value)

    async def fetch(self, text: str, *params: Any) -> list[dict[str, Any]]:
        """A raw query for hot paths where building the ORM query costs more than running it."""
        return list(await self.connection().execute_query_dict(self.sql(text), list(params)))

    async def read(self, text: str, *params: Any) -> list[dict[str, Any]]:
        """An indexed point read of committed data, outside any transaction, on a hot path.

        On SQLite it runs on the event loop through the read-only connection: a point read
        takes microseconds, ten times less than handing it to aiosqlite's thread and back. On
        PostgreSQL it goes through the lean :class:`ReadPool`. Do not use it for scans, or where
        the caller's own uncommitted writes must be seen.
        """
        if self._read_pool is not None:
            return [dict(row) for row in await self._read_pool.fetch(self.sql(text), params)]
        if self._reader is None:
            return await self.fetch(text, *params)
        return [dict(row) for row in self._reader.execute(text, params).fetchall()]

    async def read_models(self, model: type[M], text: str, *params: Any) -> list[M]:
        """:meth:`read` of whole rows (``SELECT *``) as model instances, for hot paths whose
        code works on models: the rows are what the ORM's own query would get from the driver,
        handed to the same constructor the ORM uses (``Model.raw`` does the same, but through
        the ORM's pool), so the instances are identical and only the query building is saved.
        """
        init = model._init_from_db
        return [init(**row) for row in await self.read(text, *params)]

    async def read_row(self, lookup: RowLookup, key: Any) -> dict[str, Any] | None:
        """:meth:`read` of one row by key (``uuid_param`` for a UUID key), or None.

        On PostgreSQL the lookups made at the same moment share one query (see
        :class:`_LookupBatcher`); each still reads the database after its caller asked.
        """
        if self._batcher is not None:
            return await self._batcher.get(lookup, key)
        rows = await self.read(lookup.single_sql, key)
        return rows[0] if rows else None


async def _light_reset(connection: asyncpg.Connection) -> None:
    """Return a pooled connection without asyncpg's default four-statement reset.

    Our pooled connections never carry session state (no SET, LISTEN or advisory locks: the
    revocation listener has its own connection), so only an abandoned transaction needs undoing;
    the default reset costs a round trip per query.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


def _postgres_connection(settings: Settings) -> dict[str, Any]:
    expanded: dict[str, Any] = expand_db_url(_connection(settings))  # type: ignore[arg-type]
    expanded["credentials"]["reset"] = _light_reset
    return expanded


def ids_clause(db: Database, column: str, ids: Sequence[UUID]) -> tuple[str, list[Any]]:
    """``column`` is one of ``ids``: the SQL condition (``?`` placeholders) and its parameters.
    One array parameter on PostgreSQL (one prepared statement whatever the count), an ``IN``
    list on SQLite, which has no arrays."""
    values = [db.uuid_param(i) for i in ids]
    if db.is_postgres:
        return f"{column} = ANY(?::uuid[])", [values]
    return f"{column} IN ({', '.join('?' for _ in values)})", values


def as_datetime(value: datetime | str) -> datetime:
    """A timestamp column from a raw row: asyncpg gives datetimes, SQLite ISO text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def as_uuid(value: object) -> UUID:
    """A uuid column from a raw row: asyncpg gives UUIDs, SQLite text."""
    return value if isinstance(value, UUID) else UUID(str(value))


def as_date(value: object) -> date:
    """A date column from a raw row: asyncpg gives dates, SQLite ISO text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def as_json(value: Any) -> Any:
    """A JSON column from a raw row: both drivers may hand back the text."""
    return json.loads(value) if isinstance(value, str | bytes) else value


@functools.lru_cache(maxsize=512)
def _numbered_placeholders(text: str) -> str:
    counter = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(counter)}", text)


async def migrate(
    settings: Settings, progress: Callable[[str, str, str], object] | None = None
) -> None:
    """Apply every pending migration (idempotent), in an ORM context of its own."""

    async def run() -> None:
        try:
            await tortoise_migrate(config=tortoise_config(settings), progress=progress)
        finally:
            await Tortoise.close_connections()

    await asyncio.create_task(run(), context=contextvars.Context())


async def makemigrations(
    settings: Settings, apps: tuple[str, ...] = (), name: str | None = None
) -> None:
    """Developer command: write new migration files for model changes (tortoise's autodetector)."""
    from tortoise.cli.cli import CLIContext
    from tortoise.cli.cli import makemigrations as tortoise_makemigrations

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(tortoise_config(settings), fh)
    try:
        await tortoise_makemigrations(
            CLIContext(config=None, config_file=fh.name), apps, False, name
        )
    finally:
        os.unlink(fh.name)
