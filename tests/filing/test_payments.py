"""Paying a registered case's fee over real HTTP: the fake WeChat Pay platform on loopback
places the order and POSTs its signed notification to our server's notify URL."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from backend.app import create_app
from backend.auth.principal import Role
from backend.settings import Settings
from filing.models import CaseEvent, Filing, Payment
from identity.models import WeChatIdentity
from miniapp_stub.pay import (
    FakePayConfig,
    MerchantKeys,
    PlatformKeys,
    create_fake_pay_app,
    generate_platform_keys,
    generate_test_merchant,
)
from tests.filing.workflow_helpers import (
    DEFENDANT_ID,
    PLAINTIFF_ID,
    person,
    seed,
    verify_real_name,
)

Client = Any
API = "/api/v1/filing"
APPID = "wxf00dcafe0000c0de"
MCHID = "1230000109"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def merchant() -> MerchantKeys:
    return generate_test_merchant(MCHID, (APPID,))


@pytest.fixture(scope="module")
def platform() -> PlatformKeys:
    return generate_platform_keys()


@pytest.fixture
async def fake(merchant: MerchantKeys, platform: PlatformKeys) -> AsyncIterator[TestServer]:
    config = FakePayConfig.for_merchants(
        merchant, platform=platform, notify_retry_delays_s=(0.01, 0.01)
    )
    server = TestServer(create_fake_pay_app(config), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings],
    tmp_path: Path,
    fake: TestServer,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    port: int,
) -> Settings:
    keys = tmp_path / "pay"
    keys.mkdir()
    (keys / "merchant.pem").write_text(merchant.private_key_pem)
    (keys / "platform.pem").write_text(platform.public_key_pem)
    return settings_factory(
        public_base_url=f"http://127.0.0.1:{port}",
        wechat_appid=APPID,
        wechat_pay_base_url=str(fake.make_url("/")),
        wechat_pay_mchid=MCHID,
        wechat_pay_merchant_serial=merchant.serial_no,
        wechat_pay_merchant_key_file=keys / "merchant.pem",
        wechat_pay_apiv3_key=merchant.apiv3_key,
        wechat_pay_platform_serial=platform.serial,
        wechat_pay_platform_public_key_file=keys / "platform.pem",
    )


@pytest.fixture
async def client(
    app: web.Application,
    port: int,
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> TestClient[Any, Any]:
    # On the port public_base_url names, so the notify URL of each order reaches this server.
    return await aiohttp_client(app, server_kwargs={"host": "127.0.0.1", "port": port})


@pytest.fixture
async def control(fake: TestServer) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    async with aiohttp.ClientSession() as http:

        async def call(path: str, **body: Any) -> Any:
            async with http.post(fake.make_url(f"/__control/pay/{path}"), json=body) as response:
                data = await response.json()
                assert response.status == 200, data
                return data

        yield call


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _registered_case(
    client: Client, app: web.Application, accounts: Any
) -> tuple[str, Any, dict[str, str]]:
    await seed(app)
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    draft = await _ok(
        await client.post(
            f"{API}/filings",
            json={
                "court": "浙0281",
                "cause": "4.cont.loan.private",
                "claim_amount": "100000",
                "claims": "判令被告归还借款100000元",
                "facts_and_reasons": "被告于2025年借款未还。",
            },
            headers=headers,
        ),
        201,
    )
    url = f"{API}/filings/{draft['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        await _ok(await client.post(f"{url}/parties", json=body, headers=headers), 201)
    await _ok(await client.post(f"{url}/submit", headers=headers))
    registered = await _ok(await client.post(f"{url}/register", headers=clerk))
    assert registered["status"] == "registered"
    return url, plaintiff, headers


async def test_fee_paid_through_the_fake_platform(
    client: Client,
    app: web.Application,
    accounts: Any,
    control: Callable[..., Awaitable[Any]],
) -> None:
    url, plaintiff, headers = await _registered_case(client, app, accounts)
    _, outsider = await accounts.headers(Role.LITIGANT)
    filing = await Filing.get(id=url.rsplit("/", 1)[1])
    assert filing.fee_total and filing.fee_total > 0

    # No WeChat identity yet: the order cannot name a payer.
    refused = await client.post(f"{url}/payments", headers=headers)
    assert refused.status == 422, await refused.text()
    await WeChatIdentity.create(
        id=uuid.uuid4(),
        account_id=plaintiff.id,
        appid=APPID,
        openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        last_login_at=datetime.now(UTC),
    )
    # Outsiders see nothing of the case, its payments included.
    assert (await client.post(f"{url}/payments", headers=outsider)).status == 404
    assert (await client.get(f"{url}/payments", headers=outsider)).status == 404

    started = await _ok(await client.post(f"{url}/payments", headers=headers), 201)
    order = started["payment"]
    assert order["status"] == "pending"
    assert order["amount_fen"] == int(filing.fee_total * 100)
    params = started["request_payment"]
    assert params["appId"] == APPID and params["package"].startswith("prepay_id=")
    again = await _ok(await client.post(f"{url}/payments", headers=headers), 201)
    assert again["payment"]["out_trade_no"] == order["out_trade_no"]
    assert again["request_payment"]["package"] == params["package"]
    assert await Payment.filter(filing_id=filing.id).count() == 1

    async def fee_events() -> int:
        return await CaseEvent.filter(filing_id=filing.id, kind="fee_paid").count()

    # A notification with a forged signature is refused every time and changes nothing.
    forged = await control(
        "pay", prepay_id=params["package"].removeprefix("prepay_id="), tamper=["signature"]
    )
    assert forged["deliveries"] and {d["status"] for d in forged["deliveries"]} == {401}
    status = await _ok(await client.get(f"{url}/payments", headers=headers))
    assert status["fee_paid"] is False and status["items"][0]["status"] == "pending"
    assert await fee_events() == 0

    # The genuine notification: paid, once.
    delivered = await control("redeliver", out_trade_no=order["out_trade_no"])
    assert [d["status"] for d in delivered["deliveries"]] == [204]
    status = await _ok(await client.get(f"{url}/payments", headers=headers))
    assert status["fee_paid"] is True
    assert [p["status"] for p in status["items"]] == ["paid"]
    assert await fee_events() == 1

    # WeChat retries: a duplicate answers 204 and changes nothing.
    duplicate = await control("redeliver", out_trade_no=order["out_trade_no"])
    assert [d["status"] for d in duplicate["deliveries"]] == [204]
    assert await fee_events() == 1
    paid = await Payment.filter(filing_id=filing.id)
    assert len(paid) == 1 and paid[0].status == "paid" and paid[0].transaction_id
    # A paid fee takes no new order.
    assert (await client.post(f"{url}/payments", headers=headers)).status == 409
    # A wrong amount inside a validly signed notification is refused.
    wrong = await control("redeliver", out_trade_no=order["out_trade_no"], tamper=["amount"])
    assert {d["status"] for d in wrong["deliveries"]} == {400}
    assert await fee_events() == 1


async def test_payments_unavailable_without_keys(
    settings_factory: Callable[..., Settings],
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    plain = await aiohttp_client(create_app(settings_factory()))
    response = await plain.post(f"{API}/payments/wechat-notify", data=b"{}")
    assert response.status == 503
    assert (await response.json())["code"] == "payment_unavailable"
