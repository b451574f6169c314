"""Row-by-row inserts and updates of a batch in one round trip.

Tortoise's ``bulk_update`` builds one ``CASE`` expression per column over every row, which costs
milliseconds of query building per row on a batch; an ``executemany`` of one prepared
``UPDATE … WHERE id = …`` costs almost nothing to build, and asyncpg pipelines the rows in one
round trip (SQLite runs them in-process).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


def _param(value: Any, postgres: bool) -> Any:
    if isinstance(value, UUID):
        return value if postgres else str(value)
    if isinstance(value, datetime):
        # One canonical offset, the form the ORM writes (on SQLite, text compared as text).
        return value.astimezone(UTC)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


async def update_rows(
    conn: BaseDBAsyncClient | None,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Model],
) -> None:
    """Write ``columns`` of each of ``rows`` (model instances, by primary key ``id``)."""
    if not rows:
        return
    db = conn if conn is not None else model._meta.db
    postgres = db.capabilities.dialect == "postgres"
    table = model._meta.db_table
    if postgres:
        sets = ", ".join(f'"{c}" = ${i}' for i, c in enumerate(columns, 1))
        sql = f'UPDATE "{table}" SET {sets} WHERE "id" = ${len(columns) + 1}'
    else:
        sets = ", ".join(f'"{c}" = ?' for c in columns)
        sql = f'UPDATE "{table}" SET {sets} WHERE "id" = ?'
    values = [
        [_param(getattr(row, c), postgres) for c in columns] + [_param(row.pk, postgres)]
        for row in rows
    ]
    await db.execute_many(sql, values)


async def insert_rows(
    conn: BaseDBAsyncClient | None,
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    defaults: dict[str, Any] | None = None,
    ignore_conflicts: bool = False,
) -> None:
    """Insert plain value tuples (``columns`` order) plus ``defaults`` for every row, without
    building a model instance per row; ``ignore_conflicts`` skips rows a unique key already
    has (``ON CONFLICT DO NOTHING``, PostgreSQL and SQLite alike)."""
    if not rows:
        return
    db = conn if conn is not None else model._meta.db
    postgres = db.capabilities.dialect == "postgres"
    fixed = dict(defaults or {})
    names = [*columns, *fixed]
    marks = (
        ", ".join(f"${i}" for i in range(1, len(names) + 1))
        if postgres
        else ", ".join("?" for _ in names)
    )
    quoted = ", ".join(f'"{n}"' for n in names)
    sql = f'INSERT INTO "{model._meta.db_table}" ({quoted}) VALUES ({marks})'
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    tail = [_param(v, postgres) for v in fixed.values()]
    await db.execute_many(sql, [[_param(v, postgres) for v in row] + tail for row in rows])
