"""Payment notifications of the fake WeChat Pay platform: the encrypted resource, the signed
envelope, and delivery to the merchant's ``notify_url`` with retries."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniapp_stub.pay_keys import random_nonce
from miniapp_stub.pay_model import (
    PAY_STATE,
    FakePayConfig,
    FakePayState,
    Order,
    dumps,
    platform_headers,
)


def _encrypt(apiv3_key: str, plaintext: bytes, *, corrupt: bool = False) -> dict[str, str]:
    nonce = random_nonce(12)
    associated_data = "transaction"
    sealed = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    if corrupt:
        sealed = bytes([sealed[0] ^ 0x01]) + sealed[1:]
    return {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def notification_body(
    config: FakePayConfig, order: Order, notification_id: str, create_time: str, tamper: set[str]
) -> bytes:
    merchant = config.merchant(order.mchid)
    assert merchant is not None
    tx = order.transaction()
    if "amount" in tamper:
        tx["amount"]["total"] += 1
        tx["amount"]["payer_total"] = tx["amount"]["total"]
    if "mchid" in tamper:
        tx["mchid"] = "1900000999" if order.mchid != "1900000999" else "1900000998"
    if "appid" in tamper:
        tx["appid"] = "wx0000000000000bad"
    resource = _encrypt(merchant.apiv3_key, dumps(tx), corrupt="ciphertext" in tamper)
    return dumps(
        {
            "id": notification_id,
            "create_time": create_time,
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": resource,
        }
    )


async def deliver(
    config: FakePayConfig, state: FakePayState, order: Order, tamper: set[str]
) -> list[dict[str, Any]]:
    """POST the order's notification until a 2xx answer or the retries run out."""
    notification = order.notification
    assert notification is not None
    body = notification.body
    if tamper & {"amount", "mchid", "appid", "ciphertext"}:
        body = notification_body(config, order, notification.id, notification.create_time, tamper)
    session = state.http
    if session is None:
        raise RuntimeError("the fake pay platform is not running (no HTTP session)")
    attempts: list[dict[str, Any]] = []
    for attempt, delay in enumerate((0.0, *config.notify_retry_delays_s), start=1):
        if delay:
            await asyncio.sleep(delay)
        now = config.clock()
        headers = platform_headers(
            config,
            body,
            corrupt="signature" in tamper,
            serial="PUB_KEY_ID_0100000000000000000000000000000000" if "serial" in tamper else None,
            timestamp=int(now) - 600 if "stale" in tamper else None,
        )
        headers["Content-Type"] = "application/json"
        record: dict[str, Any] = {
            "attempt": attempt,
            "at": now,
            "notification_id": notification.id,
            "tamper": sorted(tamper),
            "status": None,
            "error": None,
        }
        try:
            async with session.post(
                order.notify_url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=config.notify_timeout_s),
            ) as response:
                await response.read()
                record["status"] = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            record["error"] = type(exc).__name__
        attempts.append(record)
        order.deliveries.append(record)
        if record["status"] is not None and 200 <= record["status"] < 300:
            break
    return attempts


async def http_session_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[PAY_STATE]
    async with aiohttp.ClientSession() as session:
        state.http = session
        yield
        for task in list(state.tasks):
            task.cancel()
        if state.tasks:
            await asyncio.gather(*state.tasks, return_exceptions=True)
        state.http = None


async def run_delivery(
    state: FakePayState, config: FakePayConfig, order: Order, tamper: set[str], wait: bool
) -> list[dict[str, Any]]:
    if wait:
        return await deliver(config, state, order, tamper)
    task = asyncio.create_task(deliver(config, state, order, tamper))
    state.tasks.add(task)
    task.add_done_callback(state.tasks.discard)
    return []
