"""Phone binding through WeChat's phone button and through SMS one-time codes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from backend.audit.models import AuditEvent
from identity.keys import IDENTITY
from identity.models import ConsentPurpose, PhoneBinding, SmsOtp
from identity.phone import PHONE_CONTEXT
from tests.identity.conftest import Client, Platform, grant

PHONE = "13812345678"
WECHAT = "/api/v1/identity/phone/wechat"
SEND = "/api/v1/identity/phone/sms/send"
VERIFY = "/api/v1/identity/phone/sms/verify"


async def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
async def user(login: Callable[..., Any], client: Client, accounts: Any) -> dict[str, Any]:
    signed_in: dict[str, Any] = await login()
    await grant(client, signed_in["headers"], ConsentPurpose.PERSONAL_INFO)
    return signed_in


async def _backdate_sends(minutes: int) -> None:
    for otp in await SmsOtp.all():
        await SmsOtp.filter(id=otp.id).update(
            created_at=otp.created_at - timedelta(minutes=minutes)
        )


async def test_consent_comes_first(
    client: Client, login: Callable[..., Any], platform: Platform
) -> None:
    me = await login()
    code = await platform.phone_code(PHONE)
    body = await _problem(
        await client.post(WECHAT, json={"code": code}, headers=me["headers"]),
        403,
        "consent_required",
    )
    assert body["purpose"] == "personal_info"
    await _problem(
        await client.post(SEND, json={"phone": PHONE}, headers=me["headers"]),
        403,
        "consent_required",
    )


async def test_bind_through_wechat_masked_everywhere(
    client: Client, platform: Platform, user: dict[str, Any], app: web.Application
) -> None:
    code = await platform.phone_code(PHONE)
    resp = await client.post(WECHAT, json={"code": code}, headers=user["headers"])
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert out["phone_masked"] == "138****5678" and out["source"] == "wechat"
    assert PHONE not in await resp.text()
    me = await client.get("/api/v1/identity/me", headers=user["headers"])
    assert (await me.json())["phone"]["phone_masked"] == "138****5678"
    assert PHONE not in await me.text()

    binding = await PhoneBinding.get(account_id=user["account_id"])
    assert PHONE.encode() not in binding.phone_enc
    assert app[IDENTITY].cipher.decrypt(binding.phone_enc, context=PHONE_CONTEXT) == PHONE
    # the code is single use at WeChat
    await _problem(
        await client.post(WECHAT, json={"code": code}, headers=user["headers"]),
        400,
        "wechat_code_invalid",
    )


async def test_forged_watermark_is_refused(
    client: Client, platform: Platform, user: dict[str, Any]
) -> None:
    code = await platform.phone_code(PHONE, watermark_appid="wx0000000000evil00")
    await _problem(
        await client.post(WECHAT, json={"code": code}, headers=user["headers"]),
        400,
        "wechat_watermark_mismatch",
    )
    assert not await PhoneBinding.filter(account_id=user["account_id"]).exists()


async def test_sms_code_binds_once(
    client: Client, platform: Platform, user: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = user["headers"]
    resp = await client.post(SEND, json={"phone": "+86 138-1234-5678"}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"phone_masked": "138****5678", "expires_in": 600}
    code = await platform.last_otp(PHONE)
    assert len(code) == 6 and code.isdigit()
    wrong = "000000" if code != "000000" else "111111"
    await _problem(
        await client.post(VERIFY, json={"phone": PHONE, "code": wrong}, headers=headers),
        400,
        "otp_invalid",
    )
    resp = await client.post(VERIFY, json={"phone": PHONE, "code": code}, headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["source"] == "sms"
    # single use
    await _problem(
        await client.post(VERIFY, json={"phone": PHONE, "code": code}, headers=headers),
        400,
        "otp_invalid",
    )

    stored = await SmsOtp.get(account_id=user["account_id"])
    assert code not in stored.code_hash and PHONE not in stored.phone_hash
    details = json.dumps([e.details for e in await AuditEvent.all()])
    assert PHONE not in details and code not in details
    logged = "\n".join(r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert PHONE not in logged and code not in logged


async def test_sms_code_expires(client: Client, platform: Platform, user: dict[str, Any]) -> None:
    headers = user["headers"]
    assert (await client.post(SEND, json={"phone": PHONE}, headers=headers)).status == 200
    code = await platform.last_otp(PHONE)
    await SmsOtp.filter(account_id=user["account_id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await _problem(
        await client.post(VERIFY, json={"phone": PHONE, "code": code}, headers=headers),
        400,
        "otp_expired",
    )


async def test_a_new_code_replaces_the_old_one(
    client: Client, platform: Platform, user: dict[str, Any]
) -> None:
    headers = user["headers"]
    assert (await client.post(SEND, json={"phone": PHONE}, headers=headers)).status == 200
    first = await platform.last_otp(PHONE)
    await _backdate_sends(2)
    assert (await client.post(SEND, json={"phone": PHONE}, headers=headers)).status == 200
    second = await platform.last_otp(PHONE)
    if first != second:
        await _problem(
            await client.post(VERIFY, json={"phone": PHONE, "code": first}, headers=headers),
            400,
            "otp_invalid",
        )
    assert (
        await client.post(VERIFY, json={"phone": PHONE, "code": second}, headers=headers)
    ).status == 200


async def test_send_limits(
    client: Client, platform: Platform, user: dict[str, Any], login: Callable[..., Any]
) -> None:
    headers = user["headers"]
    assert (await client.post(SEND, json={"phone": PHONE}, headers=headers)).status == 200
    resp = await client.post(SEND, json={"phone": PHONE}, headers=headers)
    await _problem(resp, 429, "otp_cooldown")
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    # per account: another number right away is refused too
    await _problem(
        await client.post(SEND, json={"phone": "13912345678"}, headers=headers), 429, "otp_cooldown"
    )
    # per number: another account asking for the same number is refused too
    other = await login()
    await grant(client, other["headers"], ConsentPurpose.PERSONAL_INFO)
    await _problem(
        await client.post(SEND, json={"phone": PHONE}, headers=other["headers"]),
        429,
        "otp_cooldown",
    )
    for _ in range(4):
        await _backdate_sends(2)
        assert (await client.post(SEND, json={"phone": PHONE}, headers=headers)).status == 200
    await _backdate_sends(2)
    resp = await client.post(SEND, json={"phone": PHONE}, headers=headers)
    await _problem(resp, 429, "otp_daily_limit")
    assert int(resp.headers["Retry-After"]) > 23 * 3600
    assert len(await platform.sms_messages(PHONE)) == 5


async def test_lockout_after_five_wrong_codes(
    client: Client, platform: Platform, user: dict[str, Any]
) -> None:
    headers = user["headers"]
    assert (await client.post(SEND, json={"phone": PHONE}, headers=headers)).status == 200
    code = await platform.last_otp(PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        await _problem(
            await client.post(VERIFY, json={"phone": PHONE, "code": wrong}, headers=headers),
            400,
            "otp_invalid",
        )
    resp = await client.post(VERIFY, json={"phone": PHONE, "code": code}, headers=headers)
    await _problem(resp, 429, "locked_out")
    assert int(resp.headers["Retry-After"]) >= 1
    await _problem(
        await client.post(SEND, json={"phone": PHONE}, headers=headers), 429, "locked_out"
    )


async def test_bad_numbers_and_gateway_failure(
    client: Client, platform: Platform, user: dict[str, Any]
) -> None:
    headers = user["headers"]
    for bad in ("12812345678", "1381234567x", "+1 415 555 0100", "0571-88888888"):
        body = await _problem(
            await client.post(SEND, json={"phone": bad}, headers=headers), 422, "invalid_phone"
        )
        assert bad not in json.dumps(body)
    await _problem(
        await client.post(VERIFY, json={"phone": PHONE, "code": "12345"}, headers=headers),
        422,
        "validation_failed",
    )
    async with platform.session.post(
        f"{platform.base}/sms/__control/fail", json={"count": 1}
    ) as resp:
        assert resp.status == 200
    resp = await client.post(SEND, json={"phone": PHONE}, headers=headers)
    await _problem(resp, 503, "sms_unavailable")
    assert not await SmsOtp.all().exists()
    # nothing was sent, so nothing holds the number back
    assert (await client.post(SEND, json={"phone": PHONE}, headers=headers)).status == 200
