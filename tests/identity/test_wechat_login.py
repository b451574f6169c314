"""WeChat sign-in and the WeChat client, end to end over HTTP against the fake platform."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from backend.audit.models import AuditEvent
from backend.auth.models import Account
from backend.errors import BadRequest
from identity.keys import IDENTITY, WECHAT_CLIENT
from identity.models import WeChatIdentity
from identity.wechat_client import WeChatApiError, WeChatClient
from identity.wechat_login import SESSION_KEY_CONTEXT
from miniapp_stub.wechat import DEFAULT_SECRET, FakeWeChatConfig
from tests.identity.conftest import Client, Platform

LOGIN = "/api/v1/identity/wechat/login"


def _our_logs(caplog: pytest.LogCaptureFixture) -> str:
    # aiohttp.access here is the fake WeChat server's own access log (WeChat's side in real life)
    return "\n".join(
        r.getMessage() + json.dumps(r.__dict__, default=str)
        for r in caplog.records
        if r.name != "aiohttp.access"
    )


async def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    return body


async def test_new_then_returning_user(
    client: Client, platform: Platform, login: Callable[..., Any], accounts: Any
) -> None:
    first = await login()
    assert first["is_new_account"] is True
    assert first["token_type"] == "Bearer" and first["refresh_token"]
    second = await login(openid=first["openid"])
    assert second["is_new_account"] is False
    assert second["account_id"] == first["account_id"]

    account = await Account.get(id=first["account_id"])
    assert account.roles == ["litigant"]
    assert account.display_name == "微信用户"  # a nickname, never a real name
    me = await client.get("/api/v1/identity/me", headers=second["headers"])
    assert me.status == 200
    assert (await me.json())["wechat_linked"] is True
    assert await WeChatIdentity.filter(account_id=first["account_id"]).count() == 1


async def test_unionid_links_a_new_openid_to_the_same_account(
    login: Callable[..., Any], accounts: Any
) -> None:
    first = await login(unionid="oUNION_shared_person_0000000")
    other_app_openid = await login(
        openid="oSECOND_openid_000000000000", unionid="oUNION_shared_person_0000000"
    )
    assert other_app_openid["is_new_account"] is False
    assert other_app_openid["account_id"] == first["account_id"]
    assert await WeChatIdentity.filter(account_id=first["account_id"]).count() == 2
    without = await login(with_unionid=False)
    assert without["is_new_account"] is True and without["account_id"] != first["account_id"]
    identity = await WeChatIdentity.get(account_id=without["account_id"])
    assert identity.unionid is None


async def test_session_key_stays_on_the_server(
    client: Client, platform: Platform, app: web.Application, accounts: Any
) -> None:
    code = await platform.login_code()
    resp = await client.post(LOGIN, json={"code": code["code"]})
    text = await resp.text()
    assert resp.status == 200
    assert "session_key" not in text and code["openid"] not in text
    identity = await WeChatIdentity.get(openid=code["openid"])
    assert identity.session_key_enc is not None
    session_key = app[IDENTITY].cipher.decrypt(
        identity.session_key_enc, context=SESSION_KEY_CONTEXT
    )
    assert len(session_key) == 24  # base64 of 16 bytes, stored only encrypted
    assert session_key.encode() not in identity.session_key_enc
    events = await AuditEvent.filter(action="identity.wechat_login")
    assert len(events) == 1
    dumped = json.dumps(events[0].details)
    assert code["openid"] not in dumped and session_key not in dumped
    assert events[0].details["new_account"] is True


async def test_invalid_and_reused_codes(client: Client, platform: Platform) -> None:
    await _problem(
        await client.post(LOGIN, json={"code": "not-a-code"}), 400, "wechat_code_invalid"
    )
    code = (await platform.login_code())["code"]
    assert (await client.post(LOGIN, json={"code": code})).status == 200
    body = await _problem(await client.post(LOGIN, json={"code": code}), 400, "wechat_code_invalid")
    assert "微信" not in body["title"] or body["title"]  # bilingual title from the error class
    await _problem(await client.post(LOGIN, json={}), 422, "validation_failed")


async def test_risky_user_is_refused(client: Client, platform: Platform) -> None:
    code = (await platform.login_code(behaviour="risky"))["code"]
    await _problem(await client.post(LOGIN, json={"code": code}), 403, "wechat_risky_user")


async def test_busy_is_retried_once(client: Client, platform: Platform) -> None:
    once = (await platform.login_code(behaviour="busy", failures=1))["code"]
    assert (await client.post(LOGIN, json={"code": once})).status == 200
    twice = (await platform.login_code(behaviour="busy", failures=2))["code"]
    resp = await client.post(LOGIN, json={"code": twice})
    await _problem(resp, 503, "wechat_busy")
    assert resp.headers["Retry-After"]
    # the code was not consumed by the busy answers: trying again works
    assert (await client.post(LOGIN, json={"code": twice})).status == 200


async def test_wechat_rate_limit_and_server_errors(
    client: Client, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = (await platform.login_code())["code"]
    await platform.fault("jscode2session", errcode=45011, errmsg="minute-quota")
    resp = await client.post(LOGIN, json={"code": code})
    await _problem(resp, 429, "wechat_rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    await platform.fault("jscode2session", http_status=502)
    await _problem(await client.post(LOGIN, json={"code": code}), 503, "wechat_unavailable")
    await platform.fault("jscode2session", errcode=40013, errmsg="invalid appid")
    body = await _problem(await client.post(LOGIN, json={"code": code}), 502, "wechat_error")
    assert body["wechat_errcode"] == 40013
    logged = _our_logs(caplog)
    assert "errcode 40013" in logged
    assert DEFAULT_SECRET not in logged and code not in logged
    assert (await client.post(LOGIN, json={"code": code})).status == 200


# The real service says text/plain (the default fake does too); a JSON content type works as well.
@pytest.mark.parametrize(
    "wechat_config", [FakeWeChatConfig(jscode2session_content_type="application/json")]
)
async def test_json_content_type_also_parses(client: Client, platform: Platform) -> None:
    code = (await platform.login_code())["code"]
    assert (await client.post(LOGIN, json={"code": code})).status == 200


async def test_wechat_unreachable_is_503(
    settings_factory: Callable[..., Any],
    aiohttp_client: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from backend.app import create_app

    caplog.set_level(logging.DEBUG)

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await aiohttp_client(
        create_app(settings_factory(wechat_base_url=f"http://127.0.0.1:{port}"))
    )
    resp = await client.post(LOGIN, json={"code": "the-login-code"})
    await _problem(resp, 503, "wechat_unavailable")
    secret = DEFAULT_SECRET
    assert secret not in await resp.text()
    # request URLs carry the app secret and the code: neither may reach a log line
    logged = _our_logs(caplog)
    assert "wechat jscode2session unreachable" in logged
    assert secret not in logged and "the-login-code" not in logged


async def test_logins_are_rate_limited_per_address(client: Client) -> None:
    statuses = []
    for _ in range(70):  # 30 a minute; fixed windows, so at most two windows' worth pass
        resp = await client.post(LOGIN, json={"code": "bogus"})
        statuses.append(resp.status)
        if resp.status == 429:
            assert int(resp.headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {400}


# ---------------------------------------------------------------- the client itself


async def test_access_token_is_cached_and_fetched_once(
    client: Client, app: web.Application, platform: Platform
) -> None:
    wechat: WeChatClient = app[WECHAT_CLIENT]
    calls: list[str] = []
    original = wechat._call

    async def counting(api: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(api)
        await asyncio.sleep(0.01)  # let the concurrent callers pile up on the lock
        return await original(api, *args, **kwargs)

    wechat._call = counting  # type: ignore[method-assign]
    tokens = await asyncio.gather(*(wechat.access_token() for _ in range(10)))
    assert len(set(tokens)) == 1 and calls == ["stable_token"]
    assert await wechat.access_token() == tokens[0] and calls == ["stable_token"]

    # revoked behind our back: the next call sees 40001, refetches once and succeeds
    await platform.control("revoke-tokens")
    code = await platform.phone_code("13800138000")
    phone = await wechat.phone_number(code)
    assert phone.pure_phone_number == "13800138000"
    assert calls.count("stable_token") == 2
    assert "13800138000" not in repr(phone)


async def test_subscribe_message_and_grant_exhaustion(
    client: Client, app: web.Application, platform: Platform
) -> None:
    wechat: WeChatClient = app[WECHAT_CLIENT]
    await platform.control("templates", {"template_id": "TPL1", "keywords": ["thing1", "time2"]})
    openid = (await platform.login_code())["openid"]
    await platform.control("subscribe-grant", {"openid": openid, "template_id": "TPL1"})
    msgid = await wechat.send_subscribe_message(
        openid, "TPL1", {"thing1": "开庭提醒", "time2": "2026-05-01 09:00"}, page="pages/case"
    )
    assert msgid > 0
    with pytest.raises(WeChatApiError) as refused:
        await wechat.send_subscribe_message(
            openid, "TPL1", {"thing1": "开庭提醒", "time2": "2026-05-01 09:00"}
        )
    assert refused.value.errcode == 43101 and refused.value.code == "wechat_no_grant"
    with pytest.raises(BadRequest):
        await wechat.phone_number("used-or-unknown")
