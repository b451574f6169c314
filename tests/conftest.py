"""Test harness: one migrated database per run (SQLite or PostgreSQL), a clean slate per test.

``MC_TEST_DATABASE=postgres`` runs the suite on PostgreSQL (``MC_TEST_POSTGRES_URL``, default the
local server); it fails, never skips, when PostgreSQL is unreachable.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from backend.app import create_app
from backend.appkeys import AUTH, DATABASE
from backend.auth.models import Account
from backend.auth.principal import Actor, Role
from backend.db import migrate
from backend.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
BACKEND = os.environ.get("MC_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("MC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


RAM_DISK = Path("/dev/shm")


def pytest_configure(config: pytest.Config) -> None:
    # Every test's SQLite copy, keys and blobs on a RAM disk when there is one: SQLite commits
    # with synchronous=FULL and keys are written with fsync, and a disk shared by several runs
    # made those waits a noticeable part of a test. An explicit --basetemp or
    # PYTEST_DEBUG_TEMPROOT (pytest's own setting, read when the first tmp dir is made) wins.
    if config.option.basetemp is None and RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK):
        os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", str(RAM_DISK))


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database for the whole run."""
    if BACKEND == "sqlite":
        template = tmp_path_factory.mktemp("db") / "template.sqlite3"
        settings = Settings(database_url=f"sqlite://{template}", var_dir=template.parent)
        asyncio.run(migrate(settings))
        yield f"sqlite://{template}"
        return
    if BACKEND != "postgres":
        raise RuntimeError(f"MC_TEST_DATABASE must be sqlite or postgres, not {BACKEND!r}")
    name = f"mc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    try:
        asyncio.run(migrate(Settings(database_url=url, var_dir=tmp_path_factory.mktemp("pg"))))
        yield url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_postgres(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'tortoise_migrations'"
            )
        ]
        # Triggers keep audit_event append-only; a test reset is the one place allowed past them
        # (and with them the foreign keys, so the order of the deletes does not matter).
        await conn.execute("SET session_replication_role = replica")
        # DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's fixed cost per table
        # (new files, locks) made the reset of ~60 tables take 0.1-0.8 s, against ~2 ms.
        await conn.execute("; ".join(f'DELETE FROM "{t}"' for t in tables))
        await conn.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, $1)", "0" * 64)
    finally:
        await conn.close()


@pytest.fixture
async def fresh_database_url(database_url: str, tmp_path: Path) -> str:
    """The run's database with every table emptied (PostgreSQL) or copied afresh (SQLite)."""
    if BACKEND == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(database_url.removeprefix("sqlite://"), path)
        return f"sqlite://{path}"
    await _empty_postgres(database_url)
    return database_url


@pytest.fixture
def settings_factory(fresh_database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "var_dir": tmp_path / "var",
            "database_url": fresh_database_url,
            "auto_migrate": False,
            "run_worker": False,
            "log_level": "WARNING",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(
    app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> TestClient[Any, Any]:
    return await aiohttp_client(app)


class Accounts:
    """Creates accounts and signs them in through the real auth service."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def create(
        self, *roles: Role, court_code: str | None = None, name: str = "测试用户"
    ) -> Account:
        return await Account.create(
            id=uuid.uuid4(),
            display_name=name,
            roles=[r.value for r in roles or (Role.LITIGANT,)],
            court_code=court_code,
        )

    async def tokens(self, account: Account) -> dict[str, str]:
        pair = await self.app[AUTH].start_session(account, Actor.system("test"), method="test")
        return {"access": pair.access_token, "refresh": pair.refresh_token}

    async def headers(
        self, *roles: Role, court_code: str | None = None
    ) -> tuple[Account, dict[str, str]]:
        account = await self.create(*roles, court_code=court_code)
        tokens = await self.tokens(account)
        return account, {"Authorization": f"Bearer {tokens['access']}"}


@pytest.fixture
async def accounts(client: TestClient[Any, Any], app: web.Application) -> AsyncIterator[Accounts]:
    with app[DATABASE].activate():
        yield Accounts(app)
