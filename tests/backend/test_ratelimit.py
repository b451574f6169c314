"""Rate limits and lockouts answer 429 with Retry-After and hold across processes (database)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from backend.appkeys import RATE_LIMITER
from backend.errors import TooManyRequests
from backend.ratelimit.models import RateCounter

T0 = 1_800_000_000.0  # a fixed clock, aligned to a 60 s window


async def test_limit_within_window_then_new_window(client: Any, app: web.Application) -> None:
    limiter = app[RATE_LIMITER]
    for expected in (1, 2, 3):
        assert (
            await limiter.hit("otp:13800000000", limit=3, window_s=60, what="codes", now=T0 + 1)
            == expected
        )
    with pytest.raises(TooManyRequests) as refused:
        await limiter.hit("otp:13800000000", limit=3, window_s=60, what="codes", now=T0 + 20)
    assert refused.value.headers["Retry-After"] == "40"
    assert refused.value.status == 429
    # other keys are independent; the next window starts afresh and drops the old one
    assert await limiter.hit("otp:other", limit=3, window_s=60, what="codes", now=T0) == 1
    assert (
        await limiter.hit("otp:13800000000", limit=3, window_s=60, what="codes", now=T0 + 61) == 1
    )
    assert await RateCounter.all().count() == 2


async def test_keys_are_stored_hashed(client: Any, app: web.Application) -> None:
    await app[RATE_LIMITER].hit("sms:13912345678", limit=5, window_s=60, what="codes")
    stored = await RateCounter.all().values_list("key_hash", flat=True)
    assert stored and all("13912345678" not in k for k in stored)


async def test_lockout_after_failures(client: Any, app: web.Application) -> None:
    limiter = app[RATE_LIMITER]
    key = "face:account-1"
    for _ in range(5):
        await limiter.ensure_not_locked(key, limit=5, window_s=3600, what="face checks", now=T0)
        await limiter.hit(key, limit=5, window_s=3600, what="face checks", now=T0)
    with pytest.raises(TooManyRequests) as locked:
        await limiter.ensure_not_locked(
            key, limit=5, window_s=3600, what="face checks", now=T0 + 100
        )
    assert locked.value.code == "locked_out"
    await limiter.reset(key)
    await limiter.ensure_not_locked(key, limit=5, window_s=3600, what="face checks", now=T0)
