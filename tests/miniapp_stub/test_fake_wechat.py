"""The fake WeChat platform and SMS gateway, exercised over HTTP like the backend will use them."""

from __future__ import annotations

import argparse
import base64
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from miniapp_stub.sms import FakeSmsConfig, create_fake_sms_app
from miniapp_stub.wechat import (
    DEFAULT_APPID,
    DEFAULT_SECRET,
    FakeWeChatConfig,
    ManualClock,
    MiniProgram,
    config_from_args,
    configure_parser,
    create_fake_wechat_app,
)

APPID, SECRET = "wx1111111111111111", "s" * 32
OTHER, OTHER_SECRET = "wx2222222222222222", "t" * 32
TEMPLATE = "TPL_hearing_reminder"
SMS_KEY = {"X-Api-Key": "sms-test-key"}

Client = TestClient[Any, Any]
ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def config(clock: ManualClock) -> FakeWeChatConfig:
    return FakeWeChatConfig(
        apps=(MiniProgram(APPID, SECRET), MiniProgram(OTHER, OTHER_SECRET)),
        templates={TEMPLATE: ("thing1", "time2", "character_string3")},
        login_quota_per_minute=5,
        clock=clock,
        sms=FakeSmsConfig(api_keys=frozenset({"sms-test-key"})),
    )


@pytest.fixture
async def wx(config: FakeWeChatConfig, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_fake_wechat_app(config))


async def body(resp: Any) -> Any:
    # WeChat's content types are not reliable (jscode2session says text/plain); parse the text.
    return json.loads(await resp.text())


async def control(
    client: Client, path: str, payload: dict[str, Any] | None = None, status: int = 200
) -> Any:
    resp = await client.post(f"/__control/{path}", json=payload or {})
    assert resp.status == status, await resp.text()
    return await resp.json()


async def login_code(client: Client, **payload: Any) -> str:
    code: str = (await control(client, "login-code", payload))["code"]
    return code


async def session(
    client: Client,
    code: str,
    appid: str = APPID,
    secret: str = SECRET,
    grant_type: str = "authorization_code",
) -> Any:
    resp = await client.get(
        "/sns/jscode2session",
        params={"appid": appid, "secret": secret, "js_code": code, "grant_type": grant_type},
    )
    assert resp.status == 200
    return await body(resp)


async def token(client: Client, appid: str = APPID, secret: str = SECRET, **extra: Any) -> Any:
    resp = await client.post(
        "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": appid, "secret": secret, **extra},
    )
    assert resp.status == 200
    return await body(resp)


async def access_token(client: Client, appid: str = APPID, secret: str = SECRET) -> str:
    value: str = (await token(client, appid, secret))["access_token"]
    return value


async def phone_number(client: Client, access: str, code: str) -> Any:
    resp = await client.post(
        "/wxa/business/getuserphonenumber", params={"access_token": access}, json={"code": code}
    )
    assert resp.status == 200
    return await body(resp)


GOOD_DATA = {
    "thing1": {"value": "开庭提醒"},
    "time2": {"value": "2025年6月1日 09:30"},
    "character_string3": {"value": "A2025-0106-123"},
}


async def subscribe_send(client: Client, access: str, **payload: Any) -> Any:
    message = {
        "touser": "",
        "template_id": TEMPLATE,
        "page": "pages/case/index",
        "data": GOOD_DATA,
        **payload,
    }
    resp = await client.post(
        "/cgi-bin/message/subscribe/send", params={"access_token": access}, json=message
    )
    assert resp.status == 200
    return await body(resp)


# --------------------------------------------------------------------------- jscode2session


async def test_login_code_exchanges_for_openid_session_key_and_unionid(wx: Client) -> None:
    issued = await control(wx, "login-code", {"openid": "o_litigant_1", "unionid": "u_1"})
    resp = await wx.get(
        "/sns/jscode2session",
        params={
            "appid": APPID,
            "secret": SECRET,
            "js_code": issued["code"],
            "grant_type": "authorization_code",
        },
    )
    assert resp.content_type == "text/plain"  # as the real service answers
    result = await body(resp)
    assert result["openid"] == "o_litigant_1"
    assert result["unionid"] == "u_1"
    assert len(base64.b64decode(result["session_key"])) == 16
    assert "errcode" not in result


async def test_generated_openid_is_stable_and_unionid_optional(wx: Client) -> None:
    first = await control(wx, "login-code", {})
    assert first["openid"].startswith("o") and len(first["openid"]) == 28
    again = await control(wx, "login-code", {"openid": first["openid"]})
    assert again["unionid"] == first["unionid"]
    result = await session(wx, await login_code(wx, with_unionid=False))
    assert "unionid" not in result and result["openid"]


async def test_code_is_single_use(wx: Client) -> None:
    code = await login_code(wx)
    assert "openid" in await session(wx, code)
    reused = await session(wx, code)
    assert reused["errcode"] == 40163
    assert reused["errmsg"].startswith("code been used, rid: ")


async def test_code_expires_after_five_minutes(wx: Client, clock: ManualClock) -> None:
    fresh = await login_code(wx)
    stale = await login_code(wx)
    clock.advance(299)
    assert "openid" in await session(wx, fresh)
    clock.advance(2)
    assert (await session(wx, stale))["errcode"] == 40029


async def test_unknown_code_and_code_of_another_app(wx: Client) -> None:
    assert (await session(wx, "0" * 32))["errcode"] == 40029
    other = await login_code(wx, appid=OTHER)
    assert (await session(wx, other))["errcode"] == 40029
    assert "openid" in await session(wx, other, OTHER, OTHER_SECRET)


@pytest.mark.parametrize(
    ("params", "errcode"),
    [
        ({"appid": "wx9999999999999999"}, 40013),
        ({"appid": ""}, 41002),
        ({"secret": "wrong"}, 40125),
        ({"secret": ""}, 41004),
        ({"grant_type": "client_credential"}, 40002),
        ({"js_code": ""}, 41008),
    ],
)
async def test_jscode2session_parameter_errors(
    wx: Client, params: dict[str, str], errcode: int
) -> None:
    query = {
        "appid": APPID,
        "secret": SECRET,
        "js_code": await login_code(wx),
        "grant_type": "authorization_code",
        **params,
    }
    result = await body(await wx.get("/sns/jscode2session", params=query))
    assert result["errcode"] == errcode
    assert "openid" not in result


async def test_minute_quota_per_appid(wx: Client, clock: ManualClock) -> None:
    clock.now = 60 * 29_000_000 + 20.0  # 20 s into a minute window
    for _ in range(5):
        assert (await session(wx, "nonexistent"))["errcode"] == 40029
    assert (await session(wx, await login_code(wx)))["errcode"] == 45011
    # another mini-program has its own quota
    assert "openid" in await session(wx, await login_code(wx, appid=OTHER), OTHER, OTHER_SECRET)
    clock.advance(40)  # next minute
    assert "openid" in await session(wx, await login_code(wx))


async def test_risky_user_is_refused_and_code_consumed(wx: Client) -> None:
    code = await login_code(wx, behaviour="risky")
    assert (await session(wx, code))["errcode"] == 40226
    assert (await session(wx, code))["errcode"] == 40163


async def test_busy_fails_then_the_same_code_works(wx: Client) -> None:
    code = await login_code(wx, behaviour="busy", failures=2)
    assert (await session(wx, code))["errcode"] == -1
    assert (await session(wx, code))["errcode"] == -1
    assert "openid" in await session(wx, code)


# --------------------------------------------------------------------------- stable_token


async def test_stable_token_is_reused_until_forced(wx: Client, clock: ManualClock) -> None:
    first = await token(wx)
    assert first["expires_in"] == 7200 and len(first["access_token"]) > 64
    clock.advance(100)
    again = await token(wx)
    assert again == {"access_token": first["access_token"], "expires_in": 7100}
    forced = await token(wx, force_refresh=True)
    assert forced["access_token"] != first["access_token"] and forced["expires_in"] == 7200
    old = await phone_number(wx, first["access_token"], "x")
    assert old["errcode"] == 40001


async def test_access_token_expiry(wx: Client, clock: ManualClock) -> None:
    first = await access_token(wx)
    clock.advance(7200)
    assert (await phone_number(wx, first, "x"))["errcode"] == 42001
    renewed = await token(wx)
    assert renewed["access_token"] != first and renewed["expires_in"] == 7200


@pytest.mark.parametrize(
    ("payload", "errcode"),
    [
        ({"appid": "wx9999999999999999"}, 40013),
        ({"secret": "nope"}, 40125),
        ({"grant_type": "authorization_code"}, 40002),
        ({"force_refresh": "yes"}, 47001),
    ],
)
async def test_stable_token_errors(wx: Client, payload: dict[str, Any], errcode: int) -> None:
    result = await body(
        await wx.post(
            "/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **payload},
        )
    )
    assert result["errcode"] == errcode and "access_token" not in result


async def test_stable_token_rejects_non_json(wx: Client) -> None:
    result = await body(await wx.post("/cgi-bin/stable_token", data=b"appid=x"))
    assert result["errcode"] == 47001


async def test_tokens_are_per_app(wx: Client) -> None:
    mine, theirs = await access_token(wx), await access_token(wx, OTHER, OTHER_SECRET)
    assert mine != theirs


# --------------------------------------------------------------------------- phone number


async def test_phone_number(wx: Client, clock: ManualClock) -> None:
    code = (await control(wx, "phone-code", {"phone": "13800138000"}))["code"]
    result = await phone_number(wx, await access_token(wx), code)
    assert result == {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": "13800138000",
            "purePhoneNumber": "13800138000",
            "countryCode": "86",
            "watermark": {"timestamp": int(clock()), "appid": APPID},
        },
    }


async def test_phone_number_prefixes(wx: Client) -> None:
    access = await access_token(wx)
    cn = (await control(wx, "phone-code", {"phone": "+8613900139000"}))["code"]
    assert (await phone_number(wx, access, cn))["phone_info"]["purePhoneNumber"] == "13900139000"
    hk = (await control(wx, "phone-code", {"phone": "91234567", "country_code": "852"}))["code"]
    info = (await phone_number(wx, access, hk))["phone_info"]
    assert info["phoneNumber"] == "+85291234567" and info["countryCode"] == "852"
    await control(wx, "phone-code", {"phone": "+8613900139000", "country_code": "852"}, status=400)


async def test_phone_code_single_use_expiry_and_app(wx: Client, clock: ManualClock) -> None:
    access = await access_token(wx)
    code = (await control(wx, "phone-code", {"phone": "13800138000"}))["code"]
    assert (await phone_number(wx, access, code))["errcode"] == 0
    assert (await phone_number(wx, access, code))["errcode"] == 40029
    assert (await phone_number(wx, access, "f" * 64))["errcode"] == 40029
    other = (await control(wx, "phone-code", {"phone": "13800138000", "appid": OTHER}))["code"]
    assert (await phone_number(wx, access, other))["errcode"] == 40029
    late = (await control(wx, "phone-code", {"phone": "13800138000"}))["code"]
    clock.advance(301)
    assert (await phone_number(wx, await access_token(wx), late))["errcode"] == 40029


async def test_phone_number_forged_watermark(wx: Client) -> None:
    code = (await control(wx, "phone-code", {"phone": "13800138000", "watermark_appid": OTHER}))[
        "code"
    ]
    result = await phone_number(wx, await access_token(wx), code)
    assert result["phone_info"]["watermark"]["appid"] == OTHER


async def test_phone_number_token_errors(wx: Client) -> None:
    code = (await control(wx, "phone-code", {"phone": "13800138000"}))["code"]
    missing = await body(await wx.post("/wxa/business/getuserphonenumber", json={"code": code}))
    assert missing["errcode"] == 41001
    assert (await phone_number(wx, "not-a-token", code))["errcode"] == 40001
    # the code survives failed calls
    assert (await phone_number(wx, await access_token(wx), code))["errcode"] == 0
    resp = await wx.post(
        "/wxa/business/getuserphonenumber", params={"access_token": await access_token(wx)}, json={}
    )
    assert (await body(resp))["errcode"] == 41008


# --------------------------------------------------------------------------- subscribe messages


async def test_each_grant_allows_one_message(wx: Client, clock: ManualClock) -> None:
    openid = (await control(wx, "login-code", {}))["openid"]
    access = await access_token(wx)
    assert (await subscribe_send(wx, access, touser=openid))["errcode"] == 43101
    granted = await control(
        wx, "subscribe-grant", {"openid": openid, "template_id": TEMPLATE, "count": 2}
    )
    assert granted["remaining"] == 2
    first = await subscribe_send(wx, access, touser=openid)
    assert first["errcode"] == 0 and first["errmsg"] == "ok" and isinstance(first["msgid"], int)
    second = await subscribe_send(wx, access, touser=openid, lang="en_US")
    assert second["msgid"] != first["msgid"]
    assert (await subscribe_send(wx, access, touser=openid))["errcode"] == 43101

    messages = (await (await wx.get("/__control/messages")).json())["messages"]
    assert [m["msgid"] for m in messages] == [first["msgid"], second["msgid"]]
    assert messages[0] == {
        "msgid": first["msgid"],
        "appid": APPID,
        "touser": openid,
        "template_id": TEMPLATE,
        "page": "pages/case/index",
        "data": GOOD_DATA,
        "miniprogram_state": "formal",
        "lang": "zh_CN",
        "sent_at": clock(),
    }
    assert messages[1]["lang"] == "en_US"
    filtered = await (await wx.get("/__control/messages", params={"touser": "o_nobody"})).json()
    assert filtered == {"messages": []}


async def test_grants_are_per_template_and_app(wx: Client) -> None:
    await control(wx, "templates", {"template_id": "TPL_other", "keywords": ["thing1"]})
    openid = (await control(wx, "login-code", {}))["openid"]
    await control(wx, "subscribe-grant", {"openid": openid, "template_id": "TPL_other"})
    access = await access_token(wx)
    assert (await subscribe_send(wx, access, touser=openid))["errcode"] == 43101
    ok = await subscribe_send(
        wx, access, touser=openid, template_id="TPL_other", data={"thing1": {"value": "文书送达"}}
    )
    assert ok["errcode"] == 0
    # the openid belongs to APPID; OTHER's token cannot reach it
    other_access = await access_token(wx, OTHER, OTHER_SECRET)
    assert (await subscribe_send(wx, other_access, touser=openid))["errcode"] == 40003


@pytest.mark.parametrize(
    ("payload", "errcode"),
    [
        ({"touser": "o_unknown_user"}, 40003),
        ({"template_id": "TPL_missing"}, 40037),
        ({"data": {"thing1": {"value": "x"}}}, 47003),  # keyword missing
        ({"data": {**GOOD_DATA, "thing9": {"value": "x"}}}, 47003),  # not in template
        ({"data": {**GOOD_DATA, "thing1": {"value": "事" * 21}}}, 47003),  # thing: 20 at most
        ({"data": {**GOOD_DATA, "character_string3": {"value": "中文"}}}, 47003),
        ({"data": {**GOOD_DATA, "thing1": "not an object"}}, 47003),
        ({"data": []}, 47003),
        ({"miniprogram_state": "production"}, 47003),
        ({"lang": "fr_FR"}, 47003),
    ],
)
async def test_subscribe_send_errors(wx: Client, payload: dict[str, Any], errcode: int) -> None:
    openid = (await control(wx, "login-code", {}))["openid"]
    await control(wx, "subscribe-grant", {"openid": openid, "template_id": TEMPLATE})
    result = await subscribe_send(wx, await access_token(wx), **{"touser": openid, **payload})
    assert result["errcode"] == errcode
    # a refused message does not use up the grant
    assert (await subscribe_send(wx, await access_token(wx), touser=openid))["errcode"] == 0


async def test_subscribe_send_token_and_body_errors(wx: Client) -> None:
    assert (await subscribe_send(wx, "bogus", touser="x"))["errcode"] == 40001
    resp = await wx.post(
        "/cgi-bin/message/subscribe/send",
        params={"access_token": await access_token(wx)},
        data=b"[1, 2",
    )
    assert (await body(resp))["errcode"] == 47001


# --------------------------------------------------------------------------- control API


async def test_fault_injection(wx: Client) -> None:
    await control(wx, "faults", {"api": "stable_token", "count": 2})
    await control(wx, "faults", {"api": "stable_token", "http_status": 502})
    assert (await token(wx))["errcode"] == -1
    assert (await token(wx))["errcode"] == -1
    resp = await wx.post("/cgi-bin/stable_token", json={})
    assert resp.status == 502
    assert "access_token" in await token(wx)
    await control(wx, "faults", {"api": "jscode2session", "errcode": 45011, "errmsg": "quota"})
    assert (await session(wx, await login_code(wx)))["errcode"] == 45011


async def test_revoke_tokens_and_reset(wx: Client) -> None:
    access = await access_token(wx)
    assert (await control(wx, "revoke-tokens", {}))["revoked"] == 1
    assert (await phone_number(wx, access, "x"))["errcode"] == 40001
    code = await login_code(wx)
    await control(wx, "templates", {"template_id": "TPL_tmp", "keywords": ["thing1"]})
    await control(wx, "reset")
    assert (await session(wx, code))["errcode"] == 40029
    openid = (await control(wx, "login-code", {}))["openid"]
    await control(wx, "subscribe-grant", {"openid": openid, "template_id": "TPL_tmp"})
    sent = await subscribe_send(
        wx,
        await access_token(wx),
        touser=openid,
        template_id="TPL_tmp",
        data={"thing1": {"value": "x"}},
    )
    assert sent["errcode"] == 40037  # runtime templates are gone; configured ones remain
    await control(wx, "subscribe-grant", {"openid": openid, "template_id": TEMPLATE})
    assert (await subscribe_send(wx, await access_token(wx), touser=openid))["errcode"] == 0


async def test_control_rejects_bad_input(wx: Client) -> None:
    bad = await control(wx, "login-code", {"behaviour": "weird"}, status=400)
    assert bad["error"] == "invalid_request"
    assert (await control(wx, "login-code", {"role": "admin"}, status=400))[
        "error"
    ] == "invalid_request"
    assert (await control(wx, "login-code", {"appid": "wx_unknown"}, status=400))[
        "error"
    ] == "unknown_appid"
    resp = await wx.post("/__control/phone-code", data=b"{")
    assert resp.status == 400 and (await resp.json())["error"] == "invalid_json"


async def test_control_api_can_be_disabled(aiohttp_client: ClientFactory) -> None:
    client = await aiohttp_client(create_fake_wechat_app(FakeWeChatConfig(control=False, sms=None)))
    assert (await client.post("/__control/login-code", json={})).status == 404
    assert (await client.post("/sms/send", json={})).status == 404
    result = await session(client, "x", DEFAULT_APPID, DEFAULT_SECRET)
    assert result["errcode"] == 40029


# --------------------------------------------------------------------------- SMS gateway


async def sms_send(client: Client, prefix: str = "/sms", **payload: Any) -> Any:
    message = {
        "phone": "13800138000",
        "template": "otp",
        "params": {"code": "246810", "minutes": "5"},
        **payload,
    }
    return await client.post(f"{prefix}/send", json=message, headers=SMS_KEY)


async def test_sms_send_read_otp_and_reports(wx: Client, clock: ManualClock) -> None:
    resp = await sms_send(wx)
    assert resp.status == 200
    sent = await resp.json()
    assert sent["status"] == "queued" and sent["message_id"]
    listed = (
        await (await wx.get("/sms/__control/messages", params={"phone": "+8613800138000"})).json()
    )["messages"]
    assert len(listed) == 1
    assert listed[0]["params"]["code"] == "246810"
    assert "246810" in listed[0]["text"] and listed[0]["text"].startswith("【移动微法院】")
    status = await (await wx.get(f"/sms/messages/{sent['message_id']}", headers=SMS_KEY)).json()
    assert status["status"] == "delivered" and status["delivered_at"] == clock()
    reports = (await (await wx.get("/sms/reports", headers=SMS_KEY)).json())["reports"]
    assert [(r["message_id"], r["status"]) for r in reports] == [(sent["message_id"], "delivered")]
    assert (await (await wx.get("/sms/reports", headers=SMS_KEY)).json())["reports"] == []


async def test_sms_requires_api_key(wx: Client) -> None:
    resp = await wx.post(
        "/sms/send",
        json={"phone": "13800138000", "template": "otp", "params": {"code": "1", "minutes": "5"}},
    )
    assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"
    bad_key = await wx.get("/sms/reports", headers={"X-Api-Key": "nope"})
    assert bad_key.status == 401
    listed = await (await wx.get("/sms/__control/messages")).json()
    assert listed["messages"] == []


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"phone": "12345"}, "invalid_phone"),
        ({"phone": "+1 650 253 0000"}, "invalid_phone"),
        ({"template": "nope"}, "unknown_template"),
        ({"params": {"code": "1"}}, "invalid_params"),
        ({"params": {"code": "1", "minutes": "5", "extra": "x"}}, "invalid_params"),
        ({"priority": "high"}, "invalid_request"),
    ],
)
async def test_sms_validation(wx: Client, payload: dict[str, Any], error: str) -> None:
    resp = await sms_send(wx, **payload)
    assert resp.status == 400 and (await resp.json())["error"] == error


async def test_sms_failure_control_for_retries(wx: Client) -> None:
    await wx.post("/sms/__control/fail", json={"count": 2})
    assert (await sms_send(wx)).status == 503
    assert (await sms_send(wx)).status == 503
    assert (await sms_send(wx)).status == 200
    listed = await (await wx.get("/sms/__control/messages")).json()
    assert len(listed["messages"]) == 1 and listed["send_attempts"] == 3
    await wx.post("/sms/__control/fail", json={"count": 5, "status": 500})
    await wx.post("/sms/__control/fail", json={"count": 0})
    assert (await sms_send(wx)).status == 200


async def test_sms_manual_delivery_and_rate_limit(aiohttp_client: ClientFactory) -> None:
    clock = ManualClock(1_750_000_000.0)
    client = await aiohttp_client(
        create_fake_sms_app(
            FakeSmsConfig(
                api_keys=frozenset({"sms-test-key"}),
                auto_deliver=False,
                per_phone_per_minute=2,
                clock=clock,
            )
        )
    )
    first = await (await sms_send(client, prefix="")).json()
    assert (await sms_send(client, prefix="", phone="8613800138000")).status == 200
    limited = await sms_send(client, prefix="")
    assert limited.status == 429 and limited.headers["Retry-After"] == "20"
    assert (await sms_send(client, prefix="", phone="13900139000")).status == 200
    status = await (await client.get(f"/messages/{first['message_id']}", headers=SMS_KEY)).json()
    assert status["status"] == "queued"
    assert (await (await client.get("/reports", headers=SMS_KEY)).json())["reports"] == []
    resp = await client.post(
        "/__control/deliver",
        json={"message_id": first["message_id"], "status": "failed", "error_code": "MOBILE_OFF"},
    )
    assert resp.status == 200
    reports = (await (await client.get("/reports", headers=SMS_KEY)).json())["reports"]
    assert reports[0]["status"] == "failed" and reports[0]["error_code"] == "MOBILE_OFF"
    again = await client.post(
        "/__control/deliver", json={"message_id": first["message_id"], "status": "delivered"}
    )
    assert again.status == 409
    unknown = await client.get("/messages/nope", headers=SMS_KEY)
    assert unknown.status == 404
    clock.advance(20)
    assert (await sms_send(client, prefix="")).status == 200
    await client.post("/__control/reset")
    assert (await (await client.get("/__control/messages")).json())["messages"] == []


# --------------------------------------------------------------------------- CLI


def test_cli_arguments_build_config() -> None:
    parser = configure_parser(argparse.ArgumentParser())
    args = parser.parse_args(
        [
            "--port",
            "9001",
            "--app",
            f"{APPID}:{SECRET}",
            "--template",
            "TPL=thing1,time2",
            "--login-quota",
            "7",
            "--sms-api-key",
            "k1",
        ]
    )
    config = config_from_args(args)
    assert args.port == 9001
    assert config.apps == (MiniProgram(APPID, SECRET),)
    assert dict(config.templates) == {"TPL": ("thing1", "time2")}
    assert config.login_quota_per_minute == 7
    assert config.sms is not None and config.sms.api_keys == frozenset({"k1"})
    default = config_from_args(parser.parse_args(["--no-sms"]))
    assert default.apps == (MiniProgram(DEFAULT_APPID, DEFAULT_SECRET),) and default.sms is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--app", "no-secret"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_module_entry_point_serves() -> None:
    port = _free_port()
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "miniapp_stub.wechat", "--port", str(port)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = (
            f"http://127.0.0.1:{port}/sns/jscode2session?appid={DEFAULT_APPID}"
            f"&secret={DEFAULT_SECRET}&js_code=x&grant_type=authorization_code"
        )
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    assert json.loads(resp.read())["errcode"] == 40029
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_app_keys_are_typed() -> None:
    app = create_fake_wechat_app()
    assert all(isinstance(key, web.AppKey) for key in app)
