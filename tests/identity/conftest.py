"""Identity tests: the backend talks over real HTTP to the fake WeChat platform and SMS gateway.

The fake runs on loopback in the test's event loop; ``settings`` is overridden so the backend's
``wechat_base_url`` and ``sms_base_url`` point at it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from backend.settings import Settings
from identity.consents import NOTICES
from identity.models import ConsentPurpose
from miniapp_stub.wechat import FakeWeChatConfig, create_fake_wechat_app

Client = TestClient[Any, Any]

# Valid resident ID numbers (GB 11643 check characters computed, fictitious people).
ADULT_ID = "33028119900307108X"  # female (sequence 108 is even), 1990-03-07
OTHER_ADULT_ID = "330281199003071119"  # male, 1990-03-07
MINOR_ID = "330281201501010028"  # female, 2015-01-01


@pytest.fixture
def wechat_config() -> FakeWeChatConfig:
    return FakeWeChatConfig()


@pytest.fixture
async def wechat_server(wechat_config: FakeWeChatConfig) -> AsyncIterator[TestServer]:
    server = TestServer(create_fake_wechat_app(wechat_config), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def settings(settings_factory: Callable[..., Settings], wechat_server: TestServer) -> Settings:
    base = str(wechat_server.make_url("")).rstrip("/")
    return settings_factory(wechat_base_url=base, sms_base_url=f"{base}/sms")


@dataclass
class Platform:
    """The fake platform's control API, as a test drives it."""

    session: aiohttp.ClientSession
    base: str

    async def control(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.session.post(f"{self.base}/__control/{path}", json=body or {}) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def login_code(self, **body: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.control("login-code", body)
        return result

    async def phone_code(self, phone: str, **body: Any) -> str:
        return str((await self.control("phone-code", {"phone": phone, **body}))["code"])

    async def fault(self, api: str, **body: Any) -> None:
        await self.control("faults", {"api": api, **body})

    async def sms_messages(self, phone: str | None = None) -> list[dict[str, Any]]:
        params = {"phone": phone} if phone else {}
        async with self.session.get(f"{self.base}/sms/__control/messages", params=params) as resp:
            messages: list[dict[str, Any]] = (await resp.json())["messages"]
            return messages

    async def last_otp(self, phone: str) -> str:
        messages = await self.sms_messages(phone)
        assert messages, "no SMS was sent"
        return str(messages[-1]["params"]["code"])


@pytest.fixture
async def platform(wechat_server: TestServer) -> AsyncIterator[Platform]:
    async with aiohttp.ClientSession() as session:
        yield Platform(session, str(wechat_server.make_url("")).rstrip("/"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def wechat_sign_in(client: Client, platform: Platform, **code_args: Any) -> dict[str, Any]:
    code = await platform.login_code(**code_args)
    resp = await client.post("/api/v1/identity/wechat/login", json={"code": code["code"]})
    assert resp.status == 200, await resp.text()
    out: dict[str, Any] = await resp.json()
    out["headers"] = bearer(out["access_token"])
    out["openid"] = code["openid"]
    return out


async def grant(client: Client, headers: dict[str, str], purpose: ConsentPurpose) -> None:
    resp = await client.post(
        "/api/v1/identity/consents",
        json={
            "purpose": purpose.value,
            "notice_version": NOTICES[purpose].version,
            "granted": True,
        },
        headers=headers,
    )
    assert resp.status == 200, await resp.text()


async def register(
    client: Client, headers: dict[str, str], id_number: str = ADULT_ID, name: str = "王小明"
) -> Any:
    await grant(client, headers, ConsentPurpose.PERSONAL_INFO)
    resp = await client.post(
        "/api/v1/identity/realname", json={"name": name, "id_number": id_number}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.fixture
def login(client: Client, platform: Platform) -> Callable[..., Any]:
    async def run(**code_args: Any) -> dict[str, Any]:
        return await wechat_sign_in(client, platform, **code_args)

    return run
