"""Database.read, the hot-path point read: committed data only, and on PostgreSQL its own small
connection pool that survives the server dropping a connection and a cancelled query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from backend.auth.models import Account
from backend.db import Database, RowLookup
from backend.settings import Settings
from tests.conftest import BACKEND

ACCOUNT_BY_ID = "SELECT display_name FROM account WHERE id = ?"
postgres_only = pytest.mark.skipif(BACKEND != "postgres", reason="the read pool is PostgreSQL's")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings)
    try:
        with database.activate():
            yield database
    finally:
        await database.close()


async def test_read_sees_each_committed_change(db: Database) -> None:
    account = await Account.create(id=uuid4(), display_name="first", roles=[])
    param = db.uuid_param(account.id)
    assert await db.read(ACCOUNT_BY_ID, param) == [{"display_name": "first"}]
    account.display_name = "second"
    await account.save(update_fields=["display_name"])
    assert await db.read(ACCOUNT_BY_ID, param) == [{"display_name": "second"}]
    assert await db.read(ACCOUNT_BY_ID, db.uuid_param(uuid4())) == []


async def test_concurrent_reads_each_get_their_own_row(db: Database) -> None:
    accounts = [await Account.create(id=uuid4(), display_name=f"a{i}", roles=[]) for i in range(12)]
    results = await asyncio.gather(
        *(db.read(ACCOUNT_BY_ID, db.uuid_param(a.id)) for a in accounts * 5)
    )
    assert [rows[0]["display_name"] for rows in results] == [a.display_name for a in accounts] * 5


async def test_a_failing_statement_leaves_reads_working(db: Database) -> None:
    with pytest.raises(Exception, match="no_such_table"):
        await db.read("SELECT * FROM no_such_table")
    account = await Account.create(id=uuid4(), display_name="still", roles=[])
    assert await db.read(ACCOUNT_BY_ID, db.uuid_param(account.id)) == [{"display_name": "still"}]


@postgres_only
async def test_read_survives_the_server_dropping_its_connection(db: Database) -> None:
    (first,) = await db.read("SELECT pg_backend_pid() AS pid")
    # As after a PostgreSQL restart or an idle-connection timeout.
    await db.fetch("SELECT pg_terminate_backend(?)", first["pid"])
    (second,) = await db.read("SELECT pg_backend_pid() AS pid")
    assert second["pid"] != first["pid"]


@postgres_only
async def test_a_cancelled_read_does_not_poison_the_pool(db: Database) -> None:
    slow = asyncio.create_task(db.read("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.3)  # the query is running on the server
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    account = await Account.create(id=uuid4(), display_name="after", roles=[])
    rows = await asyncio.wait_for(db.read(ACCOUNT_BY_ID, db.uuid_param(account.id)), timeout=2)
    assert rows == [{"display_name": "after"}]


@postgres_only
async def test_reads_use_a_bounded_number_of_connections(db: Database, settings: Settings) -> None:
    await asyncio.gather(*(db.read("SELECT pg_sleep(0.05)") for _ in range(40)))
    (row,) = await db.fetch(
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    # The read pool's connections plus Tortoise's pool, far fewer than 40 concurrent reads.
    assert row["n"] <= 4 + settings.db_pool_max


ACCOUNT_NAME = RowLookup("account", "id", "uuid", ("id", "display_name"))


async def test_read_row_gives_each_caller_its_own_row(db: Database) -> None:
    accounts = [await Account.create(id=uuid4(), display_name=f"r{i}", roles=[]) for i in range(7)]
    keys = [db.uuid_param(a.id) for a in accounts] * 3 + [db.uuid_param(uuid4())]
    rows = await asyncio.gather(*(db.read_row(ACCOUNT_NAME, key) for key in keys))
    assert [row["display_name"] if row else None for row in rows] == [
        a.display_name for a in accounts
    ] * 3 + [None]
    assert rows[0] is not None and str(rows[0]["id"]) == str(accounts[0].id)
    accounts[0].display_name = "renamed"
    await accounts[0].save(update_fields=["display_name"])
    row = await db.read_row(ACCOUNT_NAME, keys[0])
    assert row is not None and row["display_name"] == "renamed"


@postgres_only
async def test_read_rows_asked_for_together_share_one_query(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = [await Account.create(id=uuid4(), display_name=f"b{i}", roles=[]) for i in range(5)]
    pool = db._read_pool
    assert pool is not None
    queries: list[str] = []
    real_fetch = pool.fetch

    async def counting_fetch(text: str, params: tuple[object, ...]) -> list[Any]:
        queries.append(text)
        return await real_fetch(text, params)

    monkeypatch.setattr(pool, "fetch", counting_fetch)
    rows = await asyncio.gather(*(db.read_row(ACCOUNT_NAME, a.id) for a in accounts))
    assert [r["display_name"] for r in rows if r] == [a.display_name for a in accounts]
    assert len(queries) == 1
    # A caller that goes away does not take the others' read with it.
    first = asyncio.ensure_future(db.read_row(ACCOUNT_NAME, accounts[0].id))
    second = asyncio.ensure_future(db.read_row(ACCOUNT_NAME, accounts[1].id))
    await asyncio.sleep(0)
    first.cancel()
    row = await second
    assert row is not None and row["display_name"] == "b1"
    assert first.cancelled()


@postgres_only
async def test_a_failed_batch_fails_its_callers_and_not_later_reads(db: Database) -> None:
    broken = RowLookup("no_such_table", "id", "uuid", ("id",))
    results = await asyncio.gather(
        *(db.read_row(broken, uuid4()) for _ in range(3)), return_exceptions=True
    )
    assert all("no_such_table" in str(r) for r in results)
    account = await Account.create(id=uuid4(), display_name="fine", roles=[])
    row = await db.read_row(ACCOUNT_NAME, account.id)
    assert row is not None and row["display_name"] == "fine"
