"""Enqueueing durable jobs and registering their handlers.

A job is written through the caller's transaction connection, so it exists exactly when the change
that causes it commits::

    async with in_transaction() as conn:
        await filing.save(conn)
        await enqueue(conn, "service.send_notice", {"filing_id": str(filing.id)})

Delivery is **at least once**: a worker can die (or lose its lease) after a handler's effect has
committed but before the job is marked done, and the job then runs again. Every handler must
therefore be idempotent — key its effect on something stable (the job id from ``ctx.job_id``, or a
business key from the payload) and make a repeat a no-op, e.g. insert a marker row with a unique key
in the same transaction as the effect and skip when it already exists.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from backend.jobs.models import Job

MAX_KIND_LENGTH = 64
MAX_DEDUPE_KEY_LENGTH = 128


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler knows about the run it is part of (``attempt`` counts from 1)."""

    job_id: int
    kind: str
    attempt: int
    max_attempts: int
    worker_id: str

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


JobHandler = Callable[[dict[str, Any], JobContext], Awaitable[None]]


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (bad payload, vanished record): the job goes
    straight to ``dead`` with this message as its ``last_error``."""


class JobRegistry:
    """Maps a job kind (``"<domain>.<action>"``) to its handler; one registry per application."""

    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Register ``async def closer()`` releasing what handlers keep for the worker's
        lifetime (an HTTP session, pooled SMTP connections) instead of opening per job.
        Handlers open such resources lazily, on first use in the running loop; whoever owns
        the registry (the application, a standalone worker) calls :meth:`close` at the end."""
        self._closers.append(closer)

    async def close(self) -> None:
        """Run the closers, newest first; a failing one does not stop the others."""
        closers, self._closers = self._closers[::-1], []
        errors = []
        for closer in closers:
            try:
                await closer()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def register(self, kind: str, handler: JobHandler) -> JobHandler:
        """Register ``async def handler(payload: dict, ctx: JobContext) -> None``.

        The handler must be idempotent (see the module documentation): it may run more than once
        for one job. Returns the handler so this can be used as a plain call or a decorator helper.
        """
        _check_kind(kind)
        if kind in self._handlers and self._handlers[kind] is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        self._handlers[kind] = handler
        return handler

    def get(self, kind: str) -> JobHandler | None:
        return self._handlers.get(kind)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers


def _check_kind(kind: str) -> None:
    if not kind or len(kind) > MAX_KIND_LENGTH or not kind.isascii() or not kind.isprintable():
        raise ValueError(f"job kind must be 1–{MAX_KIND_LENGTH} printable ASCII characters")


def _check_keys(value: Any) -> None:
    # json.dumps would silently turn {1: ...} into {"1": ...}; a payload must already be JSON.
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("job payload keys must be strings")
            _check_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_keys(item)


def _normalise_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(payload, Mapping):
        raise ValueError("job payload must be a JSON object (a mapping)")
    _check_keys(payload)
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job payload is not JSON-serialisable: {exc}") from exc
    # Handlers see exactly what a database round trip yields (tuples become lists, and so on).
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def _normalise_run_at(run_at: datetime | None) -> datetime:
    if run_at is None:
        return datetime.now(UTC)
    if run_at.tzinfo is None or run_at.utcoffset() is None:
        raise ValueError("run_at must be timezone-aware")
    # One canonical offset: on SQLite timestamps are compared as text.
    return run_at.astimezone(UTC)


async def enqueue(
    conn: BaseDBAsyncClient,
    kind: str,
    payload: Mapping[str, Any],
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 8,
) -> Job:
    """Write a job through ``conn`` — normally the caller's ``in_transaction()`` connection, so the
    job commits or rolls back with the change that causes it.

    ``run_at`` (timezone-aware) delays the first run; ``dedupe_key`` makes enqueueing idempotent:
    when a job with that key already exists (in any status) nothing is written and that job is
    returned. Raises ValueError for a payload that is not a JSON object.
    """
    _check_kind(kind)
    data = _normalise_payload(payload)
    when = _normalise_run_at(run_at)
    if isinstance(max_attempts, bool) or not 1 <= max_attempts <= 1000:
        raise ValueError("max_attempts must be between 1 and 1000")
    if dedupe_key is None:
        return await Job.create(
            kind=kind, payload=data, run_at=when, max_attempts=max_attempts, using_db=conn
        )
    if not dedupe_key or len(dedupe_key) > MAX_DEDUPE_KEY_LENGTH:
        raise ValueError(f"dedupe_key must be 1–{MAX_DEDUPE_KEY_LENGTH} characters")

    existing = await Job.filter(dedupe_key=dedupe_key).using_db(conn).first()
    if existing is not None:
        return existing
    try:
        # A savepoint: on PostgreSQL a failed INSERT would otherwise abort the caller's whole
        # transaction when a concurrent transaction committed the same key first.
        async with conn._in_transaction() as savepoint:
            return await Job.create(
                kind=kind,
                payload=data,
                run_at=when,
                max_attempts=max_attempts,
                dedupe_key=dedupe_key,
                using_db=savepoint,
            )
    except IntegrityError:
        existing = await Job.filter(dedupe_key=dedupe_key).using_db(conn).first()
        if existing is None:
            raise
        return existing
