"""What WeChat Pay says about a payment, and how it can be refused: the transaction as read
from a notification or a query, the re-check against our own order, and the errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from backend.errors import AppError, UpstreamError

__all__ = [
    "PayDecryptionFailed",
    "PayNotificationMalformed",
    "PaySignatureInvalid",
    "PayTransactionMismatch",
    "Transaction",
    "WeChatPayApiError",
    "check_transaction_matches",
    "parse_transaction",
]

log = logging.getLogger("mobile_court.filing.wechat_pay")


class PaySignatureInvalid(AppError):
    """A notification whose signature, signing key or timestamp is not acceptable."""

    status = 401
    code = "wechat_pay_signature_invalid"
    title = "Invalid WeChat Pay signature / 微信支付签名无效"


class PayDecryptionFailed(AppError):
    """A correctly signed notification whose resource does not decrypt with the APIv3 key."""

    status = 400
    code = "wechat_pay_decryption_failed"
    title = "WeChat Pay notification could not be decrypted / 微信支付通知解密失败"


class PayNotificationMalformed(AppError):
    """A correctly signed notification that is not a well-formed transaction notification."""

    status = 400
    code = "wechat_pay_notification_malformed"
    title = "Malformed WeChat Pay notification / 微信支付通知格式错误"


class PayTransactionMismatch(AppError):
    """A genuine transaction that does not belong to the order it claims (``extra.fields``)."""

    status = 400
    code = "wechat_pay_transaction_mismatch"
    title = "WeChat Pay transaction does not match the order / 微信支付交易与订单不符"


class WeChatPayApiError(UpstreamError):
    """WeChat Pay refused a call (4xx); ``pay_code`` is WeChat's code, e.g. ``ORDERPAID``."""

    title: ClassVar[str] = "WeChat Pay refused the request / 微信支付拒绝了请求"

    def __init__(self, api: str, http_status: int, pay_code: str, message: str) -> None:
        super().__init__(
            f"WeChat Pay refused the request ({pay_code}) / 微信支付拒绝了请求（{pay_code}）",
            code="wechat_pay_error",
            extra={"wechat_pay_code": pay_code},
        )
        self.api = api
        self.http_status = http_status
        self.pay_code = pay_code
        self.pay_message = message


# --------------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class Transaction:
    appid: str
    mchid: str
    out_trade_no: str
    trade_state: str  # SUCCESS | NOTPAY | CLOSED | REFUND | REVOKED | USERPAYING | PAYERROR
    trade_state_desc: str
    amount_total: int  # fen: what the order asked for
    currency: str
    transaction_id: str | None = None
    trade_type: str | None = None
    bank_type: str | None = None
    success_time: datetime | None = None
    payer_total: int | None = None  # fen the payer paid (less than total with coupons)
    payer_currency: str | None = None
    payer_openid: str | None = field(default=None, repr=False)
    attach: str | None = None
    notification_id: str | None = None  # set when parsed from a notification

    @property
    def paid(self) -> bool:
        return self.trade_state == "SUCCESS"


def parse_transaction(
    data: Any, bad: Callable[[str], AppError], *, notification_id: str | None = None
) -> Transaction:
    if not isinstance(data, dict):
        raise bad("the transaction is not an object")

    def text(name: str, source: dict[str, Any] = data, *, required: bool = True) -> str | None:
        value = source.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise bad(f"{name} missing or not a string")
        return value

    def integer(name: str, source: dict[str, Any], *, required: bool = True) -> int | None:
        value = source.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad(f"amount.{name} missing or not an integer")
        return value

    amount = data.get("amount")
    if not isinstance(amount, dict):
        raise bad("amount missing")
    payer = data.get("payer")
    payer = payer if isinstance(payer, dict) else {}
    trade_state = text("trade_state")
    success_raw = text("success_time", required=False)
    success_time = None
    if success_raw:
        try:
            success_time = datetime.fromisoformat(success_raw)
        except ValueError:
            raise bad("success_time is not an RFC 3339 time") from None
    transaction_id = text("transaction_id", required=False) or None
    if trade_state == "SUCCESS" and (transaction_id is None or success_time is None):
        raise bad("a paid transaction without transaction_id or success_time")
    total = integer("total", amount)
    currency = text("currency", amount, required=False) or "CNY"
    return Transaction(
        appid=str(text("appid")),
        mchid=str(text("mchid")),
        out_trade_no=str(text("out_trade_no")),
        trade_state=str(trade_state),
        trade_state_desc=text("trade_state_desc", required=False) or "",
        amount_total=int(total or 0),
        currency=currency,
        transaction_id=transaction_id,
        trade_type=text("trade_type", required=False),
        bank_type=text("bank_type", required=False),
        success_time=success_time,
        payer_total=integer("payer_total", amount, required=False),
        payer_currency=text("payer_currency", amount, required=False),
        payer_openid=text("openid", payer, required=False),
        attach=text("attach", required=False),
        notification_id=notification_id,
    )


def check_transaction_matches(
    tx: Transaction,
    *,
    expected_out_trade_no: str,
    expected_amount_fen: int,
    appid: str,
    mchid: str,
    require_paid: bool = True,
) -> None:
    """Raise :class:`PayTransactionMismatch` unless ``tx`` is (the payment of) our order."""
    expected: dict[str, tuple[object, object]] = {
        "out_trade_no": (tx.out_trade_no, expected_out_trade_no),
        "amount.total": (tx.amount_total, expected_amount_fen),
        "amount.currency": (tx.currency, "CNY"),
        "appid": (tx.appid, appid),
        "mchid": (tx.mchid, mchid),
    }
    if require_paid:
        expected["trade_state"] = (tx.trade_state, "SUCCESS")
    wrong = sorted(name for name, (got, want) in expected.items() if got != want)
    if wrong:
        log.error(
            "wechat pay transaction %s does not match order %s: %s",
            tx.transaction_id,
            expected_out_trade_no,
            ", ".join(wrong),
        )
        raise PayTransactionMismatch(
            "the WeChat Pay transaction does not match the order ("
            + ", ".join(wrong)
            + ") / 微信支付交易与订单不符",
            extra={"fields": wrong},
        )
