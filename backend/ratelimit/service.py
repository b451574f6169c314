"""Rate limits and lockouts: 429 with Retry-After, counted in the database so they hold across
processes and restarts.

``hit`` counts an attempt and refuses once the window's limit is passed; for lockouts ("5 failed
face checks per hour"), call ``ensure_not_locked`` before the attempt and ``hit`` only on failure.
"""

from __future__ import annotations

import hashlib
import time

from backend.db import Database
from backend.errors import TooManyRequests

_UPSERT = (
    "INSERT INTO rate_counter (key_hash, window_start, count) VALUES (?, ?, ?) "
    "ON CONFLICT (key_hash, window_start) "
    "DO UPDATE SET count = rate_counter.count + excluded.count RETURNING count"
)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _window(window_s: int, now: float | None) -> tuple[int, int]:
    current = now if now is not None else time.time()
    start = int(current // window_s) * window_s
    return start, max(1, int(start + window_s - current))


class RateLimiter:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def hit(
        self, key: str, *, limit: int, window_s: int, what: str, now: float | None = None
    ) -> int:
        """Count one attempt; raise 429 if this attempt is over the limit. Returns the count."""
        start, retry_after = _window(window_s, now)
        rows = await self.database.fetch(_UPSERT, _key_hash(key), start, 1)
        count = int(rows[0]["count"])
        if count == 1:  # a new window: the key's older windows are dead weight
            await self.database.fetch(
                "DELETE FROM rate_counter WHERE key_hash = ? AND window_start < ?",
                _key_hash(key),
                start,
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
        start, retry_after = _window(window_s, now)
        rows = await self.database.fetch(
            "SELECT count FROM rate_counter WHERE key_hash = ? AND window_start = ?",
            _key_hash(key),
            start,
        )
        if rows and int(rows[0]["count"]) >= limit:
            raise TooManyRequests(
                f"locked after too many {what}; try again in {retry_after} s",
                retry_after_s=retry_after,
                code="locked_out",
            )

    async def reset(self, key: str) -> None:
        await self.database.fetch("DELETE FROM rate_counter WHERE key_hash = ?", _key_hash(key))
