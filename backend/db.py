"""Tortoise ORM wiring: one Tortoise app (and migration chain) per bounded module.

The ORM keeps its state in a context variable; the context object ``Tortoise.init`` returns is kept
on :class:`Database` and closed through it, because aiohttp may run cleanup in another context where
``Tortoise.close_connections()`` would silently close nothing (DESIGN §3).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import json
import os
import re
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate

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
)


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


class Database:
    """An initialised ORM context; models resolve connections through it while it is current."""

    def __init__(self, context: TortoiseContext) -> None:
        self.context = context
        self.dialect = str(context.db().capabilities.dialect)
        self.is_postgres = self.dialect == "postgres"

    @classmethod
    async def open(cls, settings: Settings) -> Database:
        """A new ORM context, made current in the calling task.

        ``Tortoise.init`` would re-initialise (and close the connections of) whatever context is
        already current, so two databases in one task would silently share one; a context of our
        own avoids that.
        """
        context = TortoiseContext()
        context.__enter__()
        await context.init(config=tortoise_config(settings))
        return cls(context)

    def connection(self) -> BaseDBAsyncClient:
        return self.context.db()

    def activate(self) -> AbstractContextManager[TortoiseContext]:
        """Make this ORM context current in a task that did not inherit it."""
        return self.context

    async def close(self) -> None:
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


def as_datetime(value: datetime | str) -> datetime:
    """A timestamp column from a raw row: asyncpg gives datetimes, SQLite ISO text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


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
