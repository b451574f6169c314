"""State of the fake WeChat Pay platform: its configuration, orders and injected faults, and the
platform signature every answer and notification carries (see ``miniapp_stub.pay``)."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from miniapp_stub.pay_keys import (
    MerchantKeys,
    PlatformKeys,
    load_private_key,
    load_public_key,
    random_nonce,
    rsa_sign,
)
from miniapp_stub.wechat import DEFAULT_APPID

AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_S = 300

Clock = Callable[[], float]
PayApiName = Literal["jsapi", "query", "close"]
Tamper = Literal["signature", "serial", "stale", "ciphertext", "amount", "mchid", "appid"]
TradeState = Literal["NOTPAY", "SUCCESS", "CLOSED"]
STATE_DESC: dict[str, str] = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
}


@dataclass(frozen=True)
class FakeMerchant:
    """What the platform knows about a merchant: the public half of its API key."""

    mchid: str
    serial_no: str
    public_key_pem: str
    apiv3_key: str = field(repr=False)
    appids: tuple[str, ...] = (DEFAULT_APPID,)

    @classmethod
    def from_keys(cls, keys: MerchantKeys) -> FakeMerchant:
        return cls(keys.mchid, keys.serial_no, keys.public_key_pem, keys.apiv3_key, keys.appids)


@dataclass(frozen=True)
class FakePayConfig:
    merchants: tuple[FakeMerchant, ...]
    platform: PlatformKeys
    clock: Clock = time.time
    # Delays before each retry after the first attempt (the real platform backs off over 24 h).
    notify_retry_delays_s: tuple[float, ...] = (1.0, 2.0, 5.0, 15.0, 30.0)
    notify_timeout_s: float = 5.0
    # Real notify URLs must be public https; plain http is accepted on loopback hosts for tests.
    allow_http_loopback_notify: bool = True
    prepay_ttl_s: float = 7200.0
    control: bool = True

    def __post_init__(self) -> None:
        if not self.merchants:
            raise ValueError("at least one merchant is required")
        for merchant in self.merchants:
            if len(merchant.apiv3_key.encode()) != 32:
                raise ValueError(f"APIv3 key of {merchant.mchid} must be 32 bytes")

    @classmethod
    def for_merchants(
        cls, *merchants: MerchantKeys, platform: PlatformKeys, **options: Any
    ) -> FakePayConfig:
        return cls(tuple(FakeMerchant.from_keys(m) for m in merchants), platform, **options)

    def merchant(self, mchid: str) -> FakeMerchant | None:
        return next((m for m in self.merchants if m.mchid == mchid), None)


@dataclass
class Notification:
    id: str
    create_time: str
    body: bytes


@dataclass
class Order:
    mchid: str
    appid: str
    out_trade_no: str
    description: str
    notify_url: str
    total: int
    currency: str
    openid: str
    attach: str | None
    time_expire: str | None
    expire_at: float | None
    request: dict[str, Any]
    prepay_id: str
    prepay_expires_at: float
    created_at: float
    trade_state: TradeState = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    bank_type: str | None = None
    payer_total: int | None = None
    notification: Notification | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def refresh(self, now: float) -> None:
        if self.trade_state == "NOTPAY" and self.expire_at is not None and now >= self.expire_at:
            self.trade_state = "CLOSED"

    def transaction(self) -> dict[str, Any]:
        tx: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": self.trade_state,
            "trade_state_desc": STATE_DESC[self.trade_state],
            "payer": {},
            "amount": {"total": self.total, "currency": self.currency},
        }
        if self.attach is not None:
            tx["attach"] = self.attach
        if self.trade_state == "SUCCESS" or self.transaction_id is not None:
            tx["transaction_id"] = self.transaction_id
            tx["bank_type"] = self.bank_type
            tx["success_time"] = self.success_time
            tx["payer"] = {"openid": self.openid}
            tx["amount"]["payer_total"] = self.payer_total
            tx["amount"]["payer_currency"] = self.currency
        return tx

    def as_json(self) -> dict[str, Any]:
        return {
            "mchid": self.mchid,
            "appid": self.appid,
            "out_trade_no": self.out_trade_no,
            "description": self.description,
            "total": self.total,
            "currency": self.currency,
            "openid": self.openid,
            "notify_url": self.notify_url,
            "time_expire": self.time_expire,
            "prepay_id": self.prepay_id,
            "trade_state": self.trade_state,
            "transaction_id": self.transaction_id,
            "success_time": self.success_time,
            "notification_id": self.notification.id if self.notification else None,
            "deliveries": list(self.deliveries),
        }


@dataclass(frozen=True)
class Fault:
    kind: Literal["error", "bad_signature", "unsigned"]
    http_status: int
    code: str
    message: str


@dataclass
class FakePayState:
    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    prepay: dict[str, tuple[str, str]] = field(default_factory=dict)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    http: aiohttp.ClientSession | None = None

    def reset(self) -> None:
        self.orders.clear()
        self.prepay.clear()
        self.faults.clear()


PAY_CONFIG = web.AppKey("fake_pay_config", FakePayConfig)
PAY_STATE = web.AppKey("fake_pay_state", FakePayState)

# Parsed once per PEM: the fake signs every answer and verifies every request.
private_key = functools.lru_cache(maxsize=16)(load_private_key)
public_key = functools.lru_cache(maxsize=64)(load_public_key)


def platform_headers(
    config: FakePayConfig,
    body: bytes,
    *,
    corrupt: bool = False,
    serial: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(config.clock()))
    nonce = random_nonce()
    key = private_key(config.platform.private_key_pem)
    signed = f"{ts}\n{nonce}\n".encode() + body + b"\n"
    signature = rsa_sign(key, b"tampered\n" + signed if corrupt else signed)
    return {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial or config.platform.serial,
        "Wechatpay-Signature-Type": AUTH_SCHEMA,
    }


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
