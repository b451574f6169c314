"""Idempotency-Key: replay the stored response, 422 on a changed body, 409 while in flight."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT
from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from backend.http import endpoint, request_actor
from backend.schemas import Input, Output


class OrderIn(Input):
    item: str
    slow: bool = False
    fail: bool = False


class OrderOut(Output):
    order_id: str
    item: str


@pytest.fixture
def app(app: web.Application) -> web.Application:
    @endpoint("create an order (test only)", body=OrderIn, response=OrderOut, status=201)
    async def create_order(request: web.Request, *, body: OrderIn) -> OrderOut:
        if body.slow:
            await asyncio.sleep(0.5)
        if body.fail:
            raise web.HTTPBadRequest()
        order_id = str(uuid.uuid4())
        async with in_transaction() as conn:
            await request.config_dict[AUDIT].record(
                conn, request_actor(request), "order.created", "order", order_id, {}
            )
        return OrderOut(order_id=order_id, item=body.item)

    app.router.add_post("/test/orders", create_order)
    return app


@pytest.fixture
async def auth(accounts: Any) -> dict[str, str]:
    return (await accounts.headers(Role.LITIGANT))[1]


async def post(client: Any, auth: dict[str, str], body: dict[str, Any], key: str | None) -> Any:
    headers = dict(auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post("/test/orders", json=body, headers=headers)


async def orders_created() -> int:
    return await AuditEvent.filter(action="order.created").count()


async def test_same_key_same_body_replays(client: Any, auth: dict[str, str]) -> None:
    first = await post(client, auth, {"item": "诉状"}, "key-00000001")
    second = await post(client, auth, {"item": "诉状"}, "key-00000001")
    assert first.status == second.status == 201
    assert await first.json() == await second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await orders_created() == 1


async def test_without_key_every_request_acts(client: Any, auth: dict[str, str]) -> None:
    await post(client, auth, {"item": "a"}, None)
    await post(client, auth, {"item": "a"}, None)
    assert await orders_created() == 2


async def test_same_key_different_body_is_422(client: Any, auth: dict[str, str]) -> None:
    assert (await post(client, auth, {"item": "a"}, "key-00000002")).status == 201
    resp = await post(client, auth, {"item": "b"}, "key-00000002")
    assert resp.status == 422
    assert (await resp.json())["code"] == "idempotency_key_reused"
    assert await orders_created() == 1


async def test_concurrent_duplicate_is_409(client: Any, auth: dict[str, str]) -> None:
    body = {"item": "a", "slow": True}
    first, second = await asyncio.gather(
        post(client, auth, body, "key-00000003"),
        post(client, auth, body, "key-00000003"),
    )
    statuses = sorted([first.status, second.status])
    assert statuses == [201, 409]
    conflict = first if first.status == 409 else second
    assert (await conflict.json())["code"] == "idempotency_in_progress"
    assert conflict.headers["Retry-After"] == "1"
    assert await orders_created() == 1
    # once finished, the duplicate is answered with the stored response
    assert (await post(client, auth, body, "key-00000003")).status == 201
    assert await orders_created() == 1


async def test_keys_are_scoped_per_account(
    client: Any, accounts: Any, auth: dict[str, str]
) -> None:
    other = (await accounts.headers(Role.LITIGANT))[1]
    assert (await post(client, auth, {"item": "a"}, "key-00000004")).status == 201
    resp = await post(client, other, {"item": "a"}, "key-00000004")
    assert resp.status == 201 and "Idempotent-Replayed" not in resp.headers
    assert await orders_created() == 2


async def test_failed_request_is_not_stored(client: Any, auth: dict[str, str]) -> None:
    assert (await post(client, auth, {"item": "a", "fail": True}, "key-00000005")).status == 400
    # the client fixes its request and retries with the same key
    resp = await post(client, auth, {"item": "a"}, "key-00000005")
    assert resp.status == 201


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space 123", "引号引号引号引号"])
async def test_malformed_key_is_400(client: Any, auth: dict[str, str], key: str) -> None:
    resp = await client.post(
        "/test/orders",
        json={"item": "a"},
        headers={**auth, "Idempotency-Key": key.encode().decode("latin-1")},
    )
    assert resp.status == 400
    assert (await resp.json())["code"] == "bad_idempotency_key"
    assert await orders_created() == 0
