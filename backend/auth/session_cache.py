"""Recently validated sessions, so most requests authenticate without a database round trip.

Correctness does not rest on the TTL: every revocation (logout, account disabled, refresh-token
reuse, role change) evicts the entry in this process at once and, on PostgreSQL, is broadcast with
``NOTIFY`` from inside the revoking transaction, so every other server process evicts it as the
transaction commits. While the listening connection is down the cache is bypassed entirely. The
short TTL only bounds staleness for writers that bypass the service (a DBA editing rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.auth.principal import Role

log = logging.getLogger("mobile_court.auth")

CHANNEL = "mc_auth_revoked"
MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class SessionState:
    account_id: UUID
    roles: frozenset[Role]
    court_code: str | None
    expires_at: datetime


class SessionCache:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[UUID, tuple[float, SessionState]] = {}
        # False while revocations from other processes could be missed.
        self.enabled = ttl_s > 0

    def get(self, session_id: UUID) -> SessionState | None:
        if not self.enabled:
            return None
        found = self._entries.get(session_id)
        if found is None:
            return None
        stored_at, state = found
        if self.clock() - stored_at > self.ttl_s:
            del self._entries[session_id]
            return None
        return state

    def put(self, session_id: UUID, state: SessionState) -> None:
        if not self.enabled:
            return
        if len(self._entries) >= MAX_ENTRIES:
            # Dropping the oldest half keeps this O(1) amortised; a miss costs one query.
            for key in list(self._entries)[: MAX_ENTRIES // 2]:
                del self._entries[key]
        self._entries[session_id] = (self.clock(), state)

    def evict_session(self, session_id: UUID) -> None:
        self._entries.pop(session_id, None)

    def evict_account(self, account_id: UUID) -> None:
        for key in [k for k, (_, s) in self._entries.items() if s.account_id == account_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()

    def apply(self, message: str) -> None:
        """A revocation broadcast: ``s:<session id>`` or ``a:<account id>``."""
        kind, _, raw = message.partition(":")
        try:
            target = UUID(raw)
        except ValueError:
            log.warning("ignoring malformed revocation message")
            return
        if kind == "s":
            self.evict_session(target)
        elif kind == "a":
            self.evict_account(target)


async def broadcast(conn: BaseDBAsyncClient, message: str) -> None:
    """Queue a revocation for other processes; PostgreSQL delivers it when ``conn`` commits."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, message])


async def listen_for_revocations(dsn: str, cache: SessionCache) -> None:
    """Keep a LISTEN connection open for as long as the task runs; bypass the cache when it
    is down, and start from an empty cache whenever it comes back."""
    while True:
        connection: asyncpg.Connection | None = None
        lost = asyncio.Event()
        try:
            connection = await asyncpg.connect(dsn)
            await connection.add_listener(CHANNEL, lambda *args: cache.apply(args[3]))
            connection.add_termination_listener(lambda _c, lost=lost: lost.set())
            cache.clear()
            cache.enabled = cache.ttl_s > 0
            await lost.wait()
            log.warning("revocation listener lost its connection; bypassing the session cache")
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("revocation listener cannot connect: %s", type(exc).__name__)
        finally:
            cache.enabled = False
            if connection is not None and not connection.is_closed():
                with contextlib.suppress(Exception):
                    await connection.close()
        await asyncio.sleep(1)
