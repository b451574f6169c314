"""Rate limits and lockouts: 429 with Retry-After, counted in the database so they hold across
processes and restarts.

``hit`` counts an attempt and refuses once the window's limit is passed; for lockouts ("5 failed
face checks per hour"), call ``ensure_not_locked`` before the attempt and ``hit`` only on failure.
"""

from __future__ import annotations

import hashlib
import time

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.errors import TooManyRequests

_UPSERT = (
    "INSERT INTO rate_counter (key_hash, window_start, count) VALUES ({p1}, {p2}, {p3}) "
    "ON CONFLICT (key_hash, window_start) "
    "DO UPDATE SET count = rate_counter.count + excluded.count RETURNING count"
)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class RateLimiter:
    def __init__(self, connection: BaseDBAsyncClient) -> None:
        self.connection = connection
        placeholders = (
            ("$1", "$2", "$3") if connection.capabilities.dialect == "postgres" else ("?", "?", "?")
        )
        self._upsert = _UPSERT.format(p1=placeholders[0], p2=placeholders[1], p3=placeholders[2])
        self._mark = placeholders

    @staticmethod
    def _window(window_s: int, now: float | None) -> tuple[int, int]:
        current = now if now is not None else time.time()
        start = int(current // window_s) * window_s
        return start, max(1, int(start + window_s - current))

    async def hit(
        self, key: str, *, limit: int, window_s: int, what: str, now: float | None = None
    ) -> int:
        """Count one attempt; raise 429 if this attempt is over the limit. Returns the count."""
        start, retry_after = self._window(window_s, now)
        # execute_query_dict: tortoise's execute_query drops RETURNING rows of an INSERT
        rows = await self.connection.execute_query_dict(self._upsert, [_key_hash(key), start, 1])
        count = int(rows[0]["count"])
        if count == 1:
            await self.connection.execute_query(
                f"DELETE FROM rate_counter WHERE key_hash = {self._mark[0]} "
                f"AND window_start < {self._mark[1]}",
                [_key_hash(key), start],
            )
        if count > limit:
            raise TooManyRequests(
                f"too many {what}; try again in {retry_after} s", retry_after_s=retry_after
            )
        return count

    async def ensure_not_locked(
        self, key: str, *, limit: int, window_s: int, what: str, now: float | None = None
    ) -> None:
        """Refuse while ``limit`` failures are already recorded in the current window."""
        start, retry_after = self._window(window_s, now)
        rows = await self.connection.execute_query_dict(
            f"SELECT count FROM rate_counter WHERE key_hash = {self._mark[0]} "
            f"AND window_start = {self._mark[1]}",
            [_key_hash(key), start],
        )
        if rows and int(rows[0]["count"]) >= limit:
            raise TooManyRequests(
                f"locked after too many {what}; try again in {retry_after} s",
                retry_after_s=retry_after,
                code="locked_out",
            )

    async def reset(self, key: str) -> None:
        await self.connection.execute_query(
            f"DELETE FROM rate_counter WHERE key_hash = {self._mark[0]}", [_key_hash(key)]
        )
