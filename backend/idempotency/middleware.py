"""Idempotency-Key for state-changing requests (draft-ietf-httpapi-idempotency-key-header).

Same key and same request → the stored response is replayed; same key with a different
request → 422; a duplicate while the first is still running → 409. Keys are scoped to the
signed-in account; anonymous requests ignore the header. Failures (4xx/5xx raised as errors) are
not stored, so a client may fix its request and retry with the same key.

Run by the edge middleware (backend/http.py) for state-changing requests only, rather than as a
middleware of its own: every GET would otherwise pay for one more coroutine layer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiohttp import web
from tortoise.exceptions import IntegrityError

from backend.appkeys import PRINCIPAL
from backend.errors import BadRequest, Conflict, UnprocessableEntity
from backend.idempotency.models import IdempotencyRecord

HEADER = "Idempotency-Key"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")
# A record still unfinished after this long belongs to a request that died; it may be retried.
ABANDONED_AFTER = timedelta(minutes=2)
MAX_STORED_BODY = 256 * 1024
Handler = Callable[[web.Request], Awaitable[Any]]


async def _fingerprint(request: web.Request) -> str:
    digest = hashlib.sha256(f"{request.method} {request.path_qs}\n".encode())
    if request.content_type == "application/json":
        digest.update(await request.read())
    else:
        # Streamed uploads cannot be buffered to hash them; their declared shape stands in.
        digest.update(f"{request.content_type};{request.content_length}".encode())
    return digest.hexdigest()


async def _claim(owner: str, key: str, fingerprint: str) -> IdempotencyRecord | web.Response:
    try:
        return await IdempotencyRecord.create(owner=owner, key=key, fingerprint=fingerprint)
    except IntegrityError:
        pass
    existing = await IdempotencyRecord.get(owner=owner, key=key)
    if existing.fingerprint != fingerprint:
        raise UnprocessableEntity(
            "this Idempotency-Key was already used for a different request",
            code="idempotency_key_reused",
        )
    if existing.completed:
        response = web.Response(
            body=existing.response_body,
            status=existing.status_code or 200,
            content_type=(existing.content_type or "application/json").split(";")[0],
        )
        response.headers["Idempotent-Replayed"] = "true"
        return response
    stale_before = datetime.now(UTC) - ABANDONED_AFTER
    taken = await IdempotencyRecord.filter(
        id=existing.id, completed=False, created_at__lt=stale_before
    ).update(created_at=datetime.now(UTC))
    if taken:
        existing.created_at = datetime.now(UTC)
        return existing
    raise Conflict(
        "a request with this Idempotency-Key is still being processed",
        code="idempotency_in_progress",
        headers={"Retry-After": "1"},
    )


async def run_idempotent(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run a state-changing request under its Idempotency-Key, if it has one."""
    key = request.headers.get(HEADER)
    principal = request.get(PRINCIPAL)
    if key is None or request.method not in STATE_CHANGING or principal is None:
        return cast(web.StreamResponse, await handler(request))
    if not KEY_PATTERN.fullmatch(key):
        raise BadRequest(
            "Idempotency-Key must be 8-128 characters of A-Z a-z 0-9 _ . : -",
            code="bad_idempotency_key",
        )
    claimed = await _claim(principal.subject, key, await _fingerprint(request))
    if isinstance(claimed, web.Response):
        return claimed
    try:
        response = cast(web.StreamResponse, await handler(request))
    except BaseException:
        await IdempotencyRecord.filter(id=claimed.id).delete()
        raise
    body = response.body if isinstance(response, web.Response) else None
    storable = response.status < 500 and (
        body is None or (isinstance(body, bytes) and len(body) <= MAX_STORED_BODY)
    )
    if storable:
        await IdempotencyRecord.filter(id=claimed.id).update(
            completed=True,
            status_code=response.status,
            content_type=response.content_type,
            response_body=body or b"",
            completed_at=datetime.now(UTC),
        )
    else:
        await IdempotencyRecord.filter(id=claimed.id).delete()
    return response
