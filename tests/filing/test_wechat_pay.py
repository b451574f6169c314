"""The WeChat Pay client against the fake platform over real HTTP on loopback, with a notify
endpoint that does what the backend's route will do: verify, decrypt, re-check, answer."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.errors import AppError, ConfigurationError, ServiceUnavailable, UpstreamError
from filing.wechat_pay import (
    ORDER_CLOSED,
    ORDER_NOT_EXIST,
    ORDERPAID,
    PayDecryptionFailed,
    PayNotificationMalformed,
    PaySignatureInvalid,
    PayTransactionMismatch,
    Transaction,
    WeChatPayApiError,
    WeChatPayClient,
    WeChatPayConfig,
    check_transaction_matches,
)
from miniapp_stub.pay import (
    FakePayConfig,
    MerchantKeys,
    PlatformKeys,
    create_fake_pay_app,
    generate_platform_keys,
    generate_test_merchant,
)
from miniapp_stub.pay_keys import CHINA_TZ, load_private_key, load_public_key, rsa_sign, rsa_verify
from miniapp_stub.wechat import ManualClock

APPID = "wx1111111111111111"
MCHID = "1230000109"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
ORDER = "FEE2025061500001"

private_key = functools.lru_cache(load_private_key)


@pytest.fixture(scope="module")
def merchant() -> MerchantKeys:
    return generate_test_merchant(MCHID, (APPID,))


@pytest.fixture(scope="module")
def platform() -> PlatformKeys:
    return generate_platform_keys()


@pytest.fixture(scope="module")
def stranger() -> MerchantKeys:
    """Keys nobody configured: a forger's."""
    return generate_test_merchant(MCHID, (APPID,))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_750_000_000.0)


@pytest.fixture
async def fake(
    merchant: MerchantKeys, platform: PlatformKeys, clock: ManualClock
) -> AsyncIterator[TestServer]:
    config = FakePayConfig.for_merchants(
        merchant, platform=platform, clock=clock, notify_retry_delays_s=(0.01, 0.01)
    )
    server = TestServer(create_fake_pay_app(config), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


def pay_config(
    fake: TestServer, merchant: MerchantKeys, platform: PlatformKeys, **changes: Any
) -> WeChatPayConfig:
    values: dict[str, Any] = {
        "base_url": str(fake.make_url("/")),
        "appid": APPID,
        "mchid": MCHID,
        "merchant_serial": merchant.serial_no,
        "merchant_private_key_pem": merchant.private_key_pem,
        "apiv3_key": merchant.apiv3_key,
        "platform_public_keys": {platform.serial: platform.public_key_pem},
        **changes,
    }
    return WeChatPayConfig(**values)


@pytest.fixture
def client(
    http: aiohttp.ClientSession,
    fake: TestServer,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
) -> WeChatPayClient:
    return WeChatPayClient(http, pay_config(fake, merchant, platform), clock=clock)


@dataclass
class Receiver:
    """The backend's notify route in miniature: verify+decrypt, re-check, 204 or an error."""

    server: TestServer
    outcomes: list[Transaction | AppError] = field(default_factory=list)
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/api/v1/filing/payments/wechat-notify"))

    def last(self) -> Transaction:
        outcome = self.outcomes[-1]
        assert isinstance(outcome, Transaction), outcome
        return outcome


@pytest.fixture
async def receiver(client: WeChatPayClient, clock: ManualClock) -> AsyncIterator[Receiver]:
    app = web.Application()
    server = TestServer(app, host="127.0.0.1")
    rec = Receiver(server)

    async def notify(request: web.Request) -> web.Response:
        body = await request.read()
        rec.raw.append((dict(request.headers), body))
        try:
            tx = client.parse_notification(request.headers, body, now=clock())
        except AppError as exc:
            rec.outcomes.append(exc)
            return web.json_response({"code": "FAIL", "message": exc.code}, status=exc.status)
        rec.outcomes.append(tx)
        return web.Response(status=rec.statuses.pop(0) if rec.statuses else 204)

    app.router.add_post("/api/v1/filing/payments/wechat-notify", notify)
    await server.start_server()
    yield rec
    await server.close()


async def control(fake: TestServer, path: str, payload: dict[str, Any], status: int = 200) -> Any:
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.make_url(f"/__control/pay/{path}"), json=payload) as resp:
            assert resp.status == status, await resp.text()
            return await resp.json()


async def place(client: WeChatPayClient, receiver: Receiver, **changes: Any) -> str:
    args: dict[str, Any] = {
        "out_trade_no": ORDER,
        "description": "诉讼费-民事案件受理费",
        "amount_fen": 5000,
        "payer_openid": OPENID,
        "notify_url": receiver.url,
        **changes,
    }
    return await client.create_jsapi_order(**args)


def matches(tx: Transaction, **changes: Any) -> None:
    expected: dict[str, Any] = {
        "expected_out_trade_no": ORDER,
        "expected_amount_fen": 5000,
        "appid": APPID,
        "mchid": MCHID,
        **changes,
    }
    check_transaction_matches(tx, **expected)


# --------------------------------------------------------------------------- happy path


async def test_order_pay_notify_verify_decrypt_and_match(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver, clock: ManualClock
) -> None:
    prepay_id = await place(client, receiver)
    assert prepay_id.startswith("wx")
    assert await place(client, receiver) == prepay_id  # placing again is safe

    before = await client.query_order(ORDER)
    assert (before.trade_state, before.paid, before.transaction_id) == ("NOTPAY", False, None)

    paid = await control(fake, "pay", {"prepay_id": prepay_id})
    assert [d["status"] for d in paid["deliveries"]] == [204]
    tx = receiver.last()
    matches(tx)
    assert tx.paid and tx.transaction_id == paid["order"]["transaction_id"]
    assert (tx.amount_total, tx.payer_total, tx.currency) == (5000, 5000, "CNY")
    assert tx.payer_openid == OPENID and OPENID not in repr(tx)
    assert tx.trade_type == "JSAPI" and tx.notification_id
    assert tx.success_time == datetime.fromtimestamp(clock(), tz=CHINA_TZ)

    queried = await client.query_order(ORDER)
    assert queried.paid and queried.transaction_id == tx.transaction_id
    matches(queried)


async def test_duplicate_notification_parses_to_the_same_transaction(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver
) -> None:
    await place(client, receiver)
    await control(fake, "pay", {"out_trade_no": ORDER})
    await control(fake, "redeliver", {"out_trade_no": ORDER})
    first, second = receiver.outcomes
    assert isinstance(first, Transaction) and isinstance(second, Transaction)
    assert first.transaction_id == second.transaction_id
    assert first.notification_id == second.notification_id
    assert first == second


async def test_notification_is_retried_until_the_backend_accepts_it(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver
) -> None:
    await place(client, receiver)
    receiver.statuses = [500]  # e.g. the database was briefly unavailable
    result = await control(fake, "pay", {"out_trade_no": ORDER})
    assert [d["status"] for d in result["deliveries"]] == [500, 204]
    assert len({o.transaction_id for o in receiver.outcomes if isinstance(o, Transaction)}) == 1


async def test_payment_params_are_signed_by_the_merchant(
    client: WeChatPayClient, receiver: Receiver, merchant: MerchantKeys, clock: ManualClock
) -> None:
    prepay_id = await place(client, receiver)
    params = client.mini_program_payment_params(prepay_id)
    assert set(params) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert (params["appId"], params["timeStamp"]) == (APPID, str(int(clock())))
    assert params["package"] == f"prepay_id={prepay_id}" and params["signType"] == "RSA"
    assert len(params["nonceStr"]) == 32
    message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    public = load_public_key(merchant.public_key_pem)
    assert rsa_verify(public, message.encode(), params["paySign"])
    assert not rsa_verify(
        public, message.replace("prepay_id=", "prepay_id=x").encode(), params["paySign"]
    )


async def test_order_numbers_with_url_special_characters(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver
) -> None:
    odd = "FEE-2025_06*15|01"
    await place(client, receiver, out_trade_no=odd)
    assert (await client.query_order(odd)).out_trade_no == odd
    await client.close_order(odd)
    assert (await client.query_order(odd)).trade_state == "CLOSED"


async def test_time_expire_and_attach_reach_the_platform(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver, clock: ManualClock
) -> None:
    expire = datetime.fromtimestamp(clock(), tz=CHINA_TZ) + timedelta(minutes=30)
    await place(client, receiver, time_expire=expire, attach="case:2025-0001")
    tx = await client.query_order(ORDER)
    assert tx.attach == "case:2025-0001"
    clock.advance(1801)
    assert (await client.query_order(ORDER)).trade_state == "CLOSED"


# --------------------------------------------------------------------------- refused notifications


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        ("signature", PaySignatureInvalid),
        ("serial", PaySignatureInvalid),
        ("stale", PaySignatureInvalid),
        ("ciphertext", PayDecryptionFailed),
    ],
)
async def test_forged_or_corrupt_notifications_are_refused(
    client: WeChatPayClient,
    fake: TestServer,
    receiver: Receiver,
    tamper: str,
    error: type[AppError],
) -> None:
    await place(client, receiver)
    result = await control(fake, "pay", {"out_trade_no": ORDER, "tamper": [tamper]})
    assert isinstance(receiver.outcomes[0], error)
    # Every attempt was refused with a non-2xx, so WeChat kept retrying.
    assert [d["status"] for d in result["deliveries"]] == [error.status] * 3
    # The genuine notification still gets through.
    await control(fake, "redeliver", {"out_trade_no": ORDER})
    matches(receiver.last())


@pytest.mark.parametrize(
    ("tamper", "fields"),
    [("amount", ["amount.total"]), ("mchid", ["mchid"]), ("appid", ["appid"])],
)
async def test_genuine_transactions_that_do_not_match_the_order(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver, tamper: str, fields: list[str]
) -> None:
    await place(client, receiver)
    await control(fake, "pay", {"out_trade_no": ORDER, "tamper": [tamper]})
    tx = receiver.last()  # signed and decryptable: only the re-check catches it
    with pytest.raises(PayTransactionMismatch) as caught:
        matches(tx)
    assert caught.value.extra["fields"] == fields
    assert caught.value.status == 400


async def test_mismatch_checks_our_own_order_too(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver
) -> None:
    await place(client, receiver)
    await control(fake, "pay", {"out_trade_no": ORDER})
    tx = receiver.last()
    with pytest.raises(PayTransactionMismatch, match=r"amount\.total"):
        matches(tx, expected_amount_fen=4999)
    with pytest.raises(PayTransactionMismatch, match="out_trade_no"):
        matches(tx, expected_out_trade_no="FEE2025061500002")
    unpaid = await client.query_order(ORDER)
    matches(unpaid)
    with pytest.raises(PayTransactionMismatch, match="trade_state"):
        matches(Transaction(APPID, MCHID, ORDER, "NOTPAY", "", 5000, "CNY"))
    matches(Transaction(APPID, MCHID, ORDER, "NOTPAY", "", 5000, "CNY"), require_paid=False)


async def test_stale_or_unknown_or_replayed_elsewhere(
    client: WeChatPayClient,
    fake: TestServer,
    receiver: Receiver,
    clock: ManualClock,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    http: aiohttp.ClientSession,
) -> None:
    await place(client, receiver)
    await control(fake, "pay", {"out_trade_no": ORDER})
    headers, body = receiver.raw[0]
    assert client.parse_notification(headers, body, now=clock() + 300).paid
    with pytest.raises(PaySignatureInvalid, match="5 minutes"):
        client.parse_notification(headers, body, now=clock() + 301)
    with pytest.raises(PaySignatureInvalid, match="5 minutes"):
        client.parse_notification(headers, body, now=clock() - 301)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert client.parse_notification(lowered, body, now=clock()).paid
    for missing in (
        "Wechatpay-Serial",
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Signature",
    ):
        partial = {k: v for k, v in headers.items() if k != missing}
        with pytest.raises(PaySignatureInvalid, match="missing"):
            client.parse_notification(partial, body, now=clock())
    probe = {
        **headers,
        "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"],
    }
    with pytest.raises(PaySignatureInvalid):
        client.parse_notification(probe, body, now=clock())
    with pytest.raises(PaySignatureInvalid):
        client.parse_notification(headers, body.replace(b'"id"', b'"Id"'), now=clock())
    # A client that does not know the platform key refuses even a genuine notification.
    rotated = WeChatPayClient(
        http,
        pay_config(fake, merchant, generate_platform_keys()),
        clock=clock,
    )
    with pytest.raises(PaySignatureInvalid, match="unknown"):
        rotated.parse_notification(headers, body, now=clock())
    # ... and one with the wrong APIv3 key cannot decrypt it.
    wrong_key = WeChatPayClient(
        http,
        pay_config(fake, merchant, platform, apiv3_key="x" * 32),
        clock=clock,
    )
    with pytest.raises(PayDecryptionFailed):
        wrong_key.parse_notification(headers, body, now=clock())


def signed_notification(platform: PlatformKeys, body: bytes, timestamp: int) -> dict[str, str]:
    nonce = "n" * 32
    signature = rsa_sign(
        private_key(platform.private_key_pem), f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    )
    return {
        "Wechatpay-Serial": platform.serial,
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
    }


def envelope(merchant: MerchantKeys, plaintext: bytes, **changes: Any) -> bytes:
    nonce = "abcdefghijkl"
    ciphertext = AESGCM(merchant.apiv3_key.encode()).encrypt(
        nonce.encode(), plaintext, b"transaction"
    )
    resource = {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": "transaction",
        "nonce": nonce,
    }
    resource.update(changes.pop("resource", {}))
    body = {
        "id": "EV-2018022511223320873",
        "create_time": "2025-06-15T23:06:40+08:00",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "summary": "支付成功",
        "resource": resource,
        **changes,
    }
    return json.dumps(body).encode()


GOOD_TX = {
    "appid": APPID,
    "mchid": MCHID,
    "out_trade_no": ORDER,
    "transaction_id": "4200000000202506150000000001",
    "trade_type": "JSAPI",
    "trade_state": "SUCCESS",
    "trade_state_desc": "支付成功",
    "bank_type": "CMC",
    "success_time": "2025-06-15T23:06:40+08:00",
    "payer": {"openid": OPENID},
    "amount": {"total": 5000, "payer_total": 5000, "currency": "CNY", "payer_currency": "CNY"},
}


def tx_json(**changes: Any) -> bytes:
    return json.dumps({**GOOD_TX, **changes}).encode()


def without(name: str) -> bytes:
    return json.dumps({k: v for k, v in GOOD_TX.items() if k != name}).encode()


Case = Callable[[MerchantKeys], bytes]
MALFORMED = [
    pytest.param(lambda m: envelope(m, tx_json()), None, id="genuine"),
    pytest.param(lambda m: b"not json", PayNotificationMalformed, id="not-json"),
    pytest.param(lambda m: b"[]", PayNotificationMalformed, id="not-an-object"),
    pytest.param(
        lambda m: envelope(m, tx_json(), event_type="REFUND.SUCCESS"),
        PayNotificationMalformed,
        id="other-event",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(), resource_type="plain"),
        PayNotificationMalformed,
        id="not-encrypted",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(), resource={"algorithm": "AES_CBC"}),
        PayNotificationMalformed,
        id="other-algorithm",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(), resource={"nonce": None}),
        PayNotificationMalformed,
        id="no-nonce",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(), resource={"nonce": "zyxwvutsrqpo"}),
        PayDecryptionFailed,
        id="wrong-nonce",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(), resource={"associated_data": "x"}),
        PayDecryptionFailed,
        id="wrong-associated-data",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(), resource={"ciphertext": "%%%"}),
        PayDecryptionFailed,
        id="ciphertext-not-base64",
    ),
    pytest.param(
        lambda m: envelope(m, b"not json"), PayNotificationMalformed, id="plaintext-not-json"
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(amount={"total": "5000"})),
        PayNotificationMalformed,
        id="amount-as-text",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(transaction_id=None)),
        PayNotificationMalformed,
        id="paid-without-transaction-id",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(trade_state="NOTPAY")),
        PayNotificationMalformed,
        id="success-event-unpaid",
    ),
    pytest.param(
        lambda m: envelope(m, tx_json(success_time="yesterday")),
        PayNotificationMalformed,
        id="bad-success-time",
    ),
    pytest.param(lambda m: envelope(m, without("mchid")), PayNotificationMalformed, id="no-mchid"),
]


@pytest.mark.parametrize(("body", "error"), MALFORMED)
def test_signed_but_malformed_notifications(
    http: aiohttp.ClientSession,
    fake: TestServer,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
    body: Case,
    error: type[AppError] | None,
) -> None:
    client = WeChatPayClient(http, pay_config(fake, merchant, platform), clock=clock)
    raw = body(merchant)
    headers = signed_notification(platform, raw, int(clock()))
    if error is None:
        tx = client.parse_notification(headers, raw, now=clock())
        matches(tx)
        assert tx.bank_type == "CMC" and tx.notification_id == "EV-2018022511223320873"
        return
    with pytest.raises(error):
        client.parse_notification(headers, raw, now=clock())


# --------------------------------------------------------------------------- platform errors


async def test_refusals_carry_wechats_code(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver
) -> None:
    with pytest.raises(WeChatPayApiError) as caught:
        await client.query_order(ORDER)
    assert (caught.value.pay_code, caught.value.status) == (ORDER_NOT_EXIST, 502)
    assert caught.value.to_problem()["wechat_pay_code"] == ORDER_NOT_EXIST
    assert ORDER_NOT_EXIST in caught.value.detail
    await place(client, receiver)
    with pytest.raises(WeChatPayApiError) as caught:
        await place(client, receiver, amount_fen=5001)
    assert (caught.value.pay_code, caught.value.http_status) == ("INVALID_REQUEST", 400)
    await client.close_order(ORDER)
    await client.close_order(ORDER)  # again: fine
    with pytest.raises(WeChatPayApiError) as caught:
        await place(client, receiver)
    assert caught.value.pay_code == ORDER_CLOSED


async def test_paid_orders_cannot_be_placed_again_or_closed(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver
) -> None:
    await place(client, receiver)
    await control(fake, "pay", {"out_trade_no": ORDER})
    for attempt in (place(client, receiver), client.close_order(ORDER)):
        with pytest.raises(WeChatPayApiError) as caught:
            await attempt
        assert caught.value.pay_code == ORDERPAID


async def test_platform_outage_is_503_with_the_code(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver
) -> None:
    await control(fake, "faults", {"api": "jsapi"})
    with pytest.raises(ServiceUnavailable) as caught:
        await place(client, receiver)
    assert caught.value.status == 503 and caught.value.code == "wechat_pay_unavailable"
    assert caught.value.extra == {"wechat_pay_code": "SYSTEM_ERROR"}
    assert caught.value.headers["Retry-After"]
    await control(fake, "faults", {"api": "query", "http_status": 429, "code": "FREQUENCY_LIMITED"})
    with pytest.raises(ServiceUnavailable, match="FREQUENCY_LIMITED"):
        await client.query_order(ORDER)


@pytest.mark.parametrize("kind", ["bad_signature", "unsigned"])
async def test_answers_without_a_valid_platform_signature_are_not_trusted(
    client: WeChatPayClient, fake: TestServer, receiver: Receiver, kind: str
) -> None:
    await control(fake, "faults", {"api": "jsapi", "kind": kind})
    with pytest.raises(UpstreamError) as caught:
        await place(client, receiver)
    assert caught.value.code == "wechat_pay_bad_signature" and caught.value.status == 502


async def test_unreachable_platform_is_503(
    http: aiohttp.ClientSession,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
    unused_tcp_port: int,
) -> None:
    config = WeChatPayConfig(
        f"http://127.0.0.1:{unused_tcp_port}",
        APPID,
        MCHID,
        merchant.serial_no,
        merchant.private_key_pem,
        merchant.apiv3_key,
        {platform.serial: platform.public_key_pem},
    )
    with pytest.raises(ServiceUnavailable):
        await WeChatPayClient(http, config, clock=clock).query_order(ORDER)


async def test_wrong_merchant_key_is_a_sign_error_without_leaking_keys(
    http: aiohttp.ClientSession,
    fake: TestServer,
    merchant: MerchantKeys,
    stranger: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = pay_config(fake, merchant, platform, merchant_private_key_pem=stranger.private_key_pem)
    forger = WeChatPayClient(http, config, clock=clock)
    with pytest.raises(WeChatPayApiError) as caught:
        await forger.query_order(ORDER)
    assert (caught.value.pay_code, caught.value.http_status) == ("SIGN_ERROR", 401)
    text = json.dumps(caught.value.to_problem()) + caplog.text + repr(config)
    for secret in (stranger.private_key_pem[40:80], merchant.apiv3_key, "BEGIN PRIVATE"):
        assert secret not in text


async def test_clock_skew_between_us_and_the_platform_is_a_sign_error(
    http: aiohttp.ClientSession,
    fake: TestServer,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    clock: ManualClock,
) -> None:
    late = WeChatPayClient(http, pay_config(fake, merchant, platform), clock=lambda: clock() - 400)
    with pytest.raises(WeChatPayApiError) as caught:
        await late.query_order(ORDER)
    assert caught.value.pay_code == "SIGN_ERROR"


# --------------------------------------------------------------------------- configuration


def test_configuration_errors(
    http: aiohttp.ClientSession,
    fake: TestServer,
    merchant: MerchantKeys,
    platform: PlatformKeys,
    tmp_path: Path,
) -> None:
    broken: list[dict[str, Any]] = [
        {"apiv3_key": "short"},
        {"platform_public_keys": {}},
        {"merchant_private_key_pem": "not a key"},
        {"platform_public_keys": {"PUB_KEY_ID_X": "not a key"}},
    ]
    for changes in broken:
        with pytest.raises(ConfigurationError):
            WeChatPayClient(http, pay_config(fake, merchant, platform, **changes))
    (tmp_path / "merchant.pem").write_text(merchant.private_key_pem)
    (tmp_path / "platform.pem").write_text(platform.public_key_pem)
    loaded = WeChatPayConfig.from_files(
        base_url="https://api.mch.weixin.qq.com",
        appid=APPID,
        mchid=MCHID,
        merchant_serial=merchant.serial_no,
        merchant_private_key_file=tmp_path / "merchant.pem",
        apiv3_key=merchant.apiv3_key,
        platform_public_key_files={platform.serial: tmp_path / "platform.pem"},
    )
    WeChatPayClient(http, loaded)
    with pytest.raises(ConfigurationError):
        WeChatPayConfig.from_files(
            base_url="https://api.mch.weixin.qq.com",
            appid=APPID,
            mchid=MCHID,
            merchant_serial=merchant.serial_no,
            merchant_private_key_file=tmp_path / "missing.pem",
            apiv3_key=merchant.apiv3_key,
            platform_public_key_files={},
        )


async def test_programming_errors_are_caught_before_calling_wechat(
    client: WeChatPayClient, receiver: Receiver
) -> None:
    for changes in (
        {"amount_fen": 0},
        {"amount_fen": 12.5},
        {"amount_fen": True},
        {"out_trade_no": "bad/no"},
        {"description": ""},
        {"notify_url": "/relative"},
        {"time_expire": datetime(2030, 1, 1)},
    ):
        with pytest.raises(ValueError):
            await place(client, receiver, **changes)
