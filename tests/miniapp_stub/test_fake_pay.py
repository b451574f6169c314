"""The fake WeChat Pay platform over HTTP, driven by a hand-written signer (independent of the
backend's client) so that the fake's own checks are what is tested."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from miniapp_stub.pay import (
    FakePayConfig,
    MerchantKeys,
    PlatformKeys,
    add_pay_routes,
    create_fake_pay_app,
    generate_platform_keys,
    generate_test_merchant,
)
from miniapp_stub.pay_keys import (
    ensure_demo_keys,
    load_private_key,
    load_public_key,
    rsa_sign,
    rsa_verify,
)
from miniapp_stub.wechat import FakeWeChatConfig, ManualClock, create_fake_wechat_app

APPID = "wx1111111111111111"
MCHID = "1230000109"

Client = TestClient[Any, Any]

# Parsing an RSA private key checks it (tens of ms); once per key is enough.
private_key = functools.lru_cache(load_private_key)
public_key = functools.lru_cache(load_public_key)
ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture(scope="module")
def merchant() -> MerchantKeys:
    return generate_test_merchant(MCHID, (APPID,))


@pytest.fixture(scope="module")
def other_merchant() -> MerchantKeys:
    return generate_test_merchant("1230000110", (APPID,))


@pytest.fixture(scope="module")
def platform() -> PlatformKeys:
    return generate_platform_keys()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_750_000_000.0)


@pytest.fixture
def config(
    merchant: MerchantKeys, other_merchant: MerchantKeys, platform: PlatformKeys, clock: ManualClock
) -> FakePayConfig:
    return FakePayConfig.for_merchants(
        merchant,
        other_merchant,
        platform=platform,
        clock=clock,
        notify_retry_delays_s=(0.01, 0.01),
        notify_timeout_s=2.0,
    )


@pytest.fixture
async def pay(config: FakePayConfig, aiohttp_client: ClientFactory) -> Client:
    return await aiohttp_client(create_fake_pay_app(config))


@dataclass
class Receiver:
    """A merchant's notify endpoint: records what arrives, answers the queued statuses."""

    server: TestServer
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/pay/notify"))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    server = TestServer(app, host="127.0.0.1")
    rec = Receiver(server)

    async def notify(request: web.Request) -> web.Response:
        rec.received.append((dict(request.headers), await request.read()))
        return web.Response(status=rec.statuses.pop(0) if rec.statuses else 204)

    app.router.add_post("/pay/notify", notify)
    await server.start_server()
    yield rec
    await server.close()


# --------------------------------------------------------------------------- helpers


def authorization(
    keys: MerchantKeys,
    method: str,
    path: str,
    body: bytes,
    timestamp: int,
    *,
    serial: str | None = None,
    mchid: str | None = None,
    sign_with: MerchantKeys | None = None,
) -> str:
    nonce = secrets.token_hex(16)
    message = f"{method}\n{path}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
    signature = rsa_sign(private_key((sign_with or keys).private_key_pem), message)
    return (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{mchid or keys.mchid}",nonce_str="{nonce}",'
        f'signature="{signature}",timestamp="{timestamp}",serial_no="{serial or keys.serial_no}"'
    )


async def call(
    client: Client,
    keys: MerchantKeys,
    clock: ManualClock,
    method: str,
    path: str,
    payload: dict[str, Any] | None = None,
    **auth: Any,
) -> tuple[int, Any, Any]:
    body = b"" if payload is None else json.dumps(payload).encode()
    timestamp = auth.pop("timestamp", int(clock()))
    headers = {"Authorization": authorization(keys, method, path, body, timestamp, **auth)}
    resp = await client.request(method, path, data=body or None, headers=headers)
    raw = await resp.read()
    return resp.status, (json.loads(raw) if raw else None), resp.headers


def order_body(out_trade_no: str = "FEE20250615000001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appid": APPID,
        "mchid": MCHID,
        "description": "诉讼费-民事案件受理费",
        "out_trade_no": out_trade_no,
        "notify_url": "https://court.example.cn/api/v1/filing/payments/wechat-notify",
        "amount": {"total": 5000, "currency": "CNY"},
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    }
    body.update(changes)
    return body


async def create(
    client: Client, keys: MerchantKeys, clock: ManualClock, **changes: Any
) -> tuple[int, Any, Any]:
    return await call(
        client, keys, clock, "POST", "/v3/pay/transactions/jsapi", order_body(**changes)
    )


def platform_signed(platform: PlatformKeys, headers: Any, body: bytes) -> bool:
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode()
    return headers["Wechatpay-Serial"] == platform.serial and rsa_verify(
        public_key(platform.public_key_pem),
        message + body + b"\n",
        headers["Wechatpay-Signature"],
    )


def decrypt(keys: MerchantKeys, notification: bytes) -> dict[str, Any]:
    resource = json.loads(notification)["resource"]
    plain = AESGCM(keys.apiv3_key.encode()).decrypt(
        resource["nonce"].encode(),
        base64.b64decode(resource["ciphertext"]),
        resource["associated_data"].encode(),
    )
    result: dict[str, Any] = json.loads(plain)
    return result


async def control(client: Client, path: str, payload: dict[str, Any], status: int = 200) -> Any:
    resp = await client.post(f"/__control/pay/{path}", json=payload)
    assert resp.status == status, await resp.text()
    return await resp.json()


# --------------------------------------------------------------------------- request signatures


async def test_signed_order_gets_a_prepay_id_in_a_signed_answer(
    pay: Client, merchant: MerchantKeys, platform: PlatformKeys, clock: ManualClock
) -> None:
    body = json.dumps(order_body()).encode()
    headers = {
        "Authorization": authorization(
            merchant, "POST", "/v3/pay/transactions/jsapi", body, int(clock())
        )
    }
    resp = await pay.post("/v3/pay/transactions/jsapi", data=body, headers=headers)
    raw = await resp.read()
    assert resp.status == 200
    assert json.loads(raw)["prepay_id"].startswith("wx")
    assert platform_signed(platform, resp.headers, raw)
    assert resp.headers["Request-ID"]


@pytest.mark.parametrize(
    "auth",
    [
        {"sign_with": "other"},  # another key
        {"serial": "0" * 40},  # not the merchant's certificate
        {"mchid": "1999999999"},  # unknown merchant
        {"timestamp": 1_750_000_000 - 301},  # stale
        {"timestamp": 1_750_000_000 + 301},  # from the future
    ],
)
async def test_bad_request_signatures_are_refused(
    pay: Client,
    merchant: MerchantKeys,
    other_merchant: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
    auth: dict[str, Any],
) -> None:
    if auth.get("sign_with") == "other":
        auth = {"sign_with": other_merchant}
    status, body, headers = await call(
        pay, merchant, clock, "POST", "/v3/pay/transactions/jsapi", order_body(), **auth
    )
    assert (status, body["code"]) == (401, "SIGN_ERROR")
    assert platform_signed(
        platform, headers, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    )


async def test_missing_or_foreign_authorization_and_tampered_body(
    pay: Client, merchant: MerchantKeys, clock: ManualClock
) -> None:
    resp = await pay.post("/v3/pay/transactions/jsapi", json=order_body())
    assert (resp.status, (await resp.json())["code"]) == (401, "SIGN_ERROR")
    resp = await pay.post(
        "/v3/pay/transactions/jsapi", json=order_body(), headers={"Authorization": "Bearer x"}
    )
    assert resp.status == 401
    signed = json.dumps(order_body()).encode()
    header = authorization(merchant, "POST", "/v3/pay/transactions/jsapi", signed, int(clock()))
    tampered = json.dumps(order_body(amount={"total": 1, "currency": "CNY"})).encode()
    resp = await pay.post(
        "/v3/pay/transactions/jsapi", data=tampered, headers={"Authorization": header}
    )
    assert (resp.status, (await resp.json())["code"]) == (401, "SIGN_ERROR")
    # Signed for another path (the query string is part of the signed URL).
    path = "/v3/pay/transactions/out-trade-no/FEE20250615000001"
    header = authorization(merchant, "GET", path, b"", int(clock()))
    resp = await pay.get(path + "?mchid=" + MCHID, headers={"Authorization": header})
    assert resp.status == 401


# --------------------------------------------------------------------------- order bodies


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"amount": {"total": 0, "currency": "CNY"}}, "PARAM_ERROR"),
        ({"amount": {"total": 12.5, "currency": "CNY"}}, "PARAM_ERROR"),
        ({"amount": {"total": True, "currency": "CNY"}}, "PARAM_ERROR"),
        ({"amount": {"total": "100", "currency": "CNY"}}, "PARAM_ERROR"),
        ({"amount": {"total": 100, "currency": "USD"}}, "PARAM_ERROR"),
        ({"out_trade_no": "A1234"}, "PARAM_ERROR"),
        ({"out_trade_no": "A" * 33}, "PARAM_ERROR"),
        ({"out_trade_no": "FEE-2025/0001"}, "PARAM_ERROR"),
        ({"appid": "wx9999999999999999"}, "APPID_MCHID_NOT_MATCH"),
        ({"mchid": "1230000110"}, "PARAM_ERROR"),
        ({"payer": {}}, "PARAM_ERROR"),
        ({"payer": {"openid": ""}}, "PARAM_ERROR"),
        ({"description": ""}, "PARAM_ERROR"),
        ({"description": "费" * 128}, "PARAM_ERROR"),
        ({"notify_url": "http://court.example.cn/notify"}, "PARAM_ERROR"),
        ({"notify_url": "https://court.example.cn/notify?order=1"}, "PARAM_ERROR"),
        ({"notify_url": "ftp://127.0.0.1/notify"}, "PARAM_ERROR"),
        ({"time_expire": "2025-06-15 10:00:00"}, "PARAM_ERROR"),
        ({"time_expire": "2020-01-01T00:00:00+08:00"}, "PARAM_ERROR"),
        ({"total_fee": 100}, "PARAM_ERROR"),
    ],
)
async def test_invalid_order_bodies(
    pay: Client, merchant: MerchantKeys, clock: ManualClock, changes: dict[str, Any], code: str
) -> None:
    status, body, _ = await create(pay, merchant, clock, **changes)
    assert (status, body["code"]) == (400, code), body


async def test_loopback_http_notify_urls_are_accepted_for_tests(
    pay: Client, merchant: MerchantKeys, clock: ManualClock
) -> None:
    for n, url in enumerate(["http://127.0.0.1:9/n", "http://localhost/n", "http://[::1]:8/n"]):
        status, body, _ = await create(
            pay, merchant, clock, out_trade_no=f"LOOP00{n}", notify_url=url
        )
        assert status == 200, body


async def test_body_that_is_not_json(
    pay: Client, merchant: MerchantKeys, clock: ManualClock
) -> None:
    body = b"appid=wx1"
    header = authorization(merchant, "POST", "/v3/pay/transactions/jsapi", body, int(clock()))
    resp = await pay.post(
        "/v3/pay/transactions/jsapi", data=body, headers={"Authorization": header}
    )
    assert (resp.status, (await resp.json())["code"]) == (400, "PARAM_ERROR")


# --------------------------------------------------------------------------- order lifecycle


async def test_order_creation_is_idempotent_for_the_same_body(
    pay: Client, merchant: MerchantKeys, clock: ManualClock
) -> None:
    _, first, _ = await create(pay, merchant, clock)
    _, again, _ = await create(pay, merchant, clock)
    assert again["prepay_id"] == first["prepay_id"]
    status, other, _ = await create(pay, merchant, clock, amount={"total": 5001, "currency": "CNY"})
    assert (status, other["code"]) == (400, "INVALID_REQUEST")
    clock.advance(7201)  # prepay_id lifetime: the same order gets a new one
    _, renewed, _ = await create(pay, merchant, clock)
    assert renewed["prepay_id"] != first["prepay_id"]
    stale = await pay.post("/__control/pay/pay", json={"prepay_id": first["prepay_id"]})
    assert stale.status == 404


async def test_same_out_trade_no_is_separate_per_merchant(
    pay: Client, merchant: MerchantKeys, other_merchant: MerchantKeys, clock: ManualClock
) -> None:
    _, first, _ = await create(pay, merchant, clock)
    status, second, _ = await create(pay, other_merchant, clock, mchid=other_merchant.mchid)
    assert status == 200 and second["prepay_id"] != first["prepay_id"]
    ambiguous = await pay.post("/__control/pay/pay", json={"out_trade_no": "FEE20250615000001"})
    assert ambiguous.status == 400


async def test_query_pay_and_close(
    pay: Client, merchant: MerchantKeys, clock: ManualClock, receiver: Receiver
) -> None:
    path = "/v3/pay/transactions/out-trade-no/FEE20250615000001?mchid=" + MCHID
    status, body, _ = await call(pay, merchant, clock, "GET", path)
    assert (status, body["code"]) == (404, "ORDER_NOT_EXIST")
    _, created, _ = await create(pay, merchant, clock, notify_url=receiver.url)
    _, body, _ = await call(pay, merchant, clock, "GET", path)
    assert body["trade_state"] == "NOTPAY" and "transaction_id" not in body
    paid = await control(pay, "pay", {"prepay_id": created["prepay_id"]})
    assert paid["order"]["trade_state"] == "SUCCESS"
    _, body, _ = await call(pay, merchant, clock, "GET", path)
    assert body["trade_state"] == "SUCCESS"
    assert body["transaction_id"] == paid["order"]["transaction_id"]
    assert len(body["transaction_id"]) == 28 and body["transaction_id"].isdigit()
    assert body["amount"] == {
        "total": 5000,
        "currency": "CNY",
        "payer_total": 5000,
        "payer_currency": "CNY",
    }
    assert body["payer"]["openid"] == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
    by_id = f"/v3/pay/transactions/id/{body['transaction_id']}?mchid={MCHID}"
    assert (await call(pay, merchant, clock, "GET", by_id))[1] == body
    close = "/v3/pay/transactions/out-trade-no/FEE20250615000001/close"
    status, body, _ = await call(pay, merchant, clock, "POST", close, {"mchid": MCHID})
    assert (status, body["code"]) == (400, "ORDERPAID")
    status, body, _ = await create(pay, merchant, clock, notify_url=receiver.url)
    assert (status, body["code"]) == (400, "ORDERPAID")
    await control(pay, "pay", {"out_trade_no": "FEE20250615000001"}, status=409)


async def test_close_is_idempotent_and_final(
    pay: Client, merchant: MerchantKeys, platform: PlatformKeys, clock: ManualClock
) -> None:
    await create(pay, merchant, clock)
    close = "/v3/pay/transactions/out-trade-no/FEE20250615000001/close"
    for _ in range(2):
        status, body, headers = await call(pay, merchant, clock, "POST", close, {"mchid": MCHID})
        assert (status, body) == (204, None)
        assert platform_signed(platform, headers, b"")
    status, body, _ = await create(pay, merchant, clock)
    assert (status, body["code"]) == (400, "ORDER_CLOSED")
    await control(pay, "pay", {"out_trade_no": "FEE20250615000001"}, status=409)
    status, body, _ = await call(pay, merchant, clock, "POST", close, {"mchid": "1230000110"})
    assert status == 400


async def test_time_expire_closes_an_unpaid_order(
    pay: Client, merchant: MerchantKeys, clock: ManualClock
) -> None:
    await create(pay, merchant, clock, time_expire="2025-06-15T23:36:40+08:00")  # now + 30 min
    clock.advance(1801)
    orders = await pay.get("/__control/pay/orders")
    assert (await orders.json())["orders"][0]["trade_state"] == "CLOSED"
    await control(pay, "pay", {"out_trade_no": "FEE20250615000001"}, status=409)


async def test_outcome_closed_closes_without_a_notification(
    pay: Client, merchant: MerchantKeys, clock: ManualClock, receiver: Receiver
) -> None:
    await create(pay, merchant, clock, notify_url=receiver.url)
    result = await control(pay, "pay", {"out_trade_no": "FEE20250615000001", "outcome": "closed"})
    assert result["order"]["trade_state"] == "CLOSED" and not receiver.received


# --------------------------------------------------------------------------- notifications


async def test_notification_is_signed_encrypted_and_redelivered_identically(
    pay: Client,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
    receiver: Receiver,
) -> None:
    _, created, _ = await create(pay, merchant, clock, notify_url=receiver.url)
    result = await control(pay, "pay", {"prepay_id": created["prepay_id"]})
    assert [d["status"] for d in result["deliveries"]] == [204]
    headers, body = receiver.received[0]
    assert platform_signed(platform, headers, body)
    assert headers["Wechatpay-Timestamp"] == str(int(clock()))
    envelope = json.loads(body)
    assert envelope["event_type"] == "TRANSACTION.SUCCESS"
    assert envelope["resource_type"] == "encrypt-resource"
    assert envelope["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert envelope["create_time"] == "2025-06-15T23:06:40+08:00"
    tx = decrypt(merchant, body)
    assert tx["out_trade_no"] == "FEE20250615000001"
    assert tx["transaction_id"] == result["order"]["transaction_id"]
    assert (tx["appid"], tx["mchid"], tx["trade_state"]) == (APPID, MCHID, "SUCCESS")
    assert tx["amount"]["total"] == 5000 and tx["success_time"].endswith("+08:00")

    await control(pay, "redeliver", {"out_trade_no": "FEE20250615000001"})
    headers2, body2 = receiver.received[1]
    assert body2 == body
    assert platform_signed(platform, headers2, body2)
    assert headers2["Wechatpay-Nonce"] != headers["Wechatpay-Nonce"]


async def test_failed_deliveries_are_retried(
    pay: Client, merchant: MerchantKeys, clock: ManualClock, receiver: Receiver
) -> None:
    await create(pay, merchant, clock, notify_url=receiver.url)
    receiver.statuses = [500, 404]
    result = await control(pay, "pay", {"out_trade_no": "FEE20250615000001"})
    assert [d["status"] for d in result["deliveries"]] == [500, 404, 204]
    assert len({body for _, body in receiver.received}) == 1
    receiver.statuses = [500, 500, 500]
    result = await control(pay, "redeliver", {"out_trade_no": "FEE20250615000001"})
    assert [d["status"] for d in result["deliveries"]] == [500, 500, 500]  # gave up
    orders = await (await pay.get("/__control/pay/orders?out_trade_no=FEE20250615000001")).json()
    assert len(orders["orders"][0]["deliveries"]) == 6


async def test_unreachable_notify_url_is_recorded(
    pay: Client, merchant: MerchantKeys, clock: ManualClock, unused_tcp_port: int
) -> None:
    await create(pay, merchant, clock, notify_url=f"http://127.0.0.1:{unused_tcp_port}/n")
    result = await control(pay, "pay", {"out_trade_no": "FEE20250615000001"})
    assert [d["error"] for d in result["deliveries"]] == ["ClientConnectorError"] * 3


async def test_background_delivery(
    pay: Client, merchant: MerchantKeys, clock: ManualClock, receiver: Receiver
) -> None:
    await create(pay, merchant, clock, notify_url=receiver.url)
    result = await control(pay, "pay", {"out_trade_no": "FEE20250615000001", "wait": False})
    assert result["deliveries"] == []
    for _ in range(200):
        if receiver.received:
            break
        await asyncio.sleep(0.01)
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    "tamper", ["signature", "serial", "stale", "ciphertext", "amount", "mchid", "appid"]
)
async def test_tampered_notifications(
    pay: Client,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
    receiver: Receiver,
    tamper: str,
) -> None:
    await create(pay, merchant, clock, notify_url=receiver.url)
    await control(pay, "pay", {"out_trade_no": "FEE20250615000001", "tamper": [tamper]})
    headers, body = receiver.received[0]
    signed = platform_signed(platform, headers, body)
    assert signed is (tamper not in ("signature", "serial"))
    if tamper == "stale":
        assert int(headers["Wechatpay-Timestamp"]) == int(clock()) - 600
        return
    if tamper == "ciphertext":
        with pytest.raises(InvalidTag):
            decrypt(merchant, body)
        return
    tx = decrypt(merchant, body)
    assert (tx["amount"]["total"] != 5000) is (tamper == "amount")
    assert (tx["mchid"] != MCHID) is (tamper == "mchid")
    assert (tx["appid"] != APPID) is (tamper == "appid")
    # The order itself is paid; a clean redelivery carries the genuine notification.
    await control(pay, "redeliver", {"out_trade_no": "FEE20250615000001"})
    assert decrypt(merchant, receiver.received[1][1])["amount"]["total"] == 5000


# --------------------------------------------------------------------------- faults, mounting, keys


async def test_injected_faults(
    pay: Client, merchant: MerchantKeys, platform: PlatformKeys, clock: ManualClock
) -> None:
    await control(pay, "faults", {"api": "jsapi"})
    status, body, _ = await create(pay, merchant, clock)
    assert (status, body["code"]) == (500, "SYSTEM_ERROR")
    await control(pay, "faults", {"api": "jsapi", "kind": "bad_signature"})
    resp = await pay.post(
        "/v3/pay/transactions/jsapi",
        data=(raw := json.dumps(order_body()).encode()),
        headers={
            "Authorization": authorization(
                merchant, "POST", "/v3/pay/transactions/jsapi", raw, int(clock())
            )
        },
    )
    assert resp.status == 200 and not platform_signed(platform, resp.headers, await resp.read())
    await control(pay, "faults", {"api": "query", "kind": "unsigned"})
    path = "/v3/pay/transactions/out-trade-no/FEE20250615000001?mchid=" + MCHID
    status, _, headers = await call(pay, merchant, clock, "GET", path)
    assert status == 200 and "Wechatpay-Signature" not in headers
    await control(pay, "faults", {"api": "nope"}, status=400)
    await control(pay, "reset", {})
    assert (await (await pay.get("/__control/pay/orders")).json())["orders"] == []


async def test_mounts_next_to_the_fake_wechat_platform(
    config: FakePayConfig, merchant: MerchantKeys, clock: ManualClock, aiohttp_client: ClientFactory
) -> None:
    app = create_fake_wechat_app(FakeWeChatConfig(clock=clock))
    both = await aiohttp_client(add_pay_routes(app, config))
    issued = await both.post("/__control/login-code", json={})
    assert issued.status == 200
    status, body, _ = await create(both, merchant, clock)
    assert status == 200 and body["prepay_id"]


def test_config_refuses_a_short_apiv3_key(merchant: MerchantKeys, platform: PlatformKeys) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        FakePayConfig.for_merchants(
            MerchantKeys(merchant.mchid, merchant.serial_no, "", merchant.public_key_pem, "short"),
            platform=platform,
        )


def test_demo_keys_are_created_once_and_shared(tmp_path: Path) -> None:
    first = ensure_demo_keys(tmp_path / "keys")
    again = ensure_demo_keys(tmp_path / "keys")
    assert again.merchant.private_key_pem == first.merchant.private_key_pem
    assert again.platform.private_key_pem == first.platform.private_key_pem
    assert len(first.merchant.apiv3_key.encode()) == 32
    files = {p.name: p for p in (tmp_path / "keys").iterdir()}
    assert sorted(files) == [
        "merchant_private_key.pem",
        "merchant_public_key.pem",
        "platform_private_key.pem",
        "platform_public_key.pem",
    ]
    assert files["platform_public_key.pem"].read_text() == first.platform.public_key_pem
    assert oct(files["merchant_private_key.pem"].stat().st_mode & 0o777) == "0o600"
    message = b"GET\n/v3/x\n1\nn\n\n"
    signature = rsa_sign(load_private_key(first.merchant.private_key_pem), message)
    assert rsa_verify(
        load_public_key(files["merchant_public_key.pem"].read_bytes()), message, signature
    )
