"""Paying a registered case's fee with WeChat Pay (JSAPI v3, DESIGN §4): the order, the
verified payment notification, and the payment status.

The order is placed with WeChat outside any database transaction (the ``Payment`` row, with its
server-chosen ``out_trade_no``, is committed first; placing the same order again is safe). The
notification is verified and decrypted by :class:`WeChatPayClient`, re-checked against our own
order, and applied idempotently by ``transaction_id``: payment, the filing's fee, a timeline event
and the audit event change in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, HTTP_CLIENT, SETTINGS
from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound, ServiceUnavailable, UnprocessableEntity
from backend.settings import Settings
from filing.access import RESOURCE
from filing.filings import add_event
from filing.models import Filing, FilingStatus, Payment, PaymentStatus
from filing.wechat_pay import WeChatPayClient, WeChatPayConfig, check_transaction_matches
from filing.workflow import utcnow
from identity.models import WeChatIdentity

log = logging.getLogger("mobile_court.filing.payments")

NOTIFY_PATH = "/api/v1/filing/payments/wechat-notify"


@dataclass(frozen=True)
class Payments:
    """The payment dependencies; ``client`` is None while WeChat Pay is not configured."""

    client: WeChatPayClient | None
    audit: AuditLog
    appid: str
    notify_url: str

    def require_client(self) -> WeChatPayClient:
        if self.client is None:
            raise ServiceUnavailable(
                "payment is not available / 暂不支持在线缴费", code="payment_unavailable"
            )
        return self.client


PAYMENTS = web.AppKey("payments", Payments)


def build_client(session: Any, settings: Settings) -> WeChatPayClient | None:
    """The client, or None when the merchant key, APIv3 key or platform key is not configured."""
    if (
        settings.wechat_pay_merchant_key_file is None
        or settings.wechat_pay_apiv3_key is None
        or settings.wechat_pay_platform_public_key_file is None
        or not settings.wechat_pay_mchid
    ):
        return None
    config = WeChatPayConfig.from_files(
        base_url=settings.wechat_pay_base_url,
        appid=settings.wechat_appid,
        mchid=settings.wechat_pay_mchid,
        merchant_serial=settings.wechat_pay_merchant_serial,
        merchant_private_key_file=settings.wechat_pay_merchant_key_file,
        apiv3_key=settings.wechat_pay_apiv3_key.get_secret_value(),
        platform_public_key_files={
            settings.wechat_pay_platform_serial: settings.wechat_pay_platform_public_key_file
        },
    )
    return WeChatPayClient(session, config)


async def payments_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the WeChat Pay client on the shared HTTP session (append after the HTTP client)."""
    settings = app[SETTINGS]
    client = build_client(app[HTTP_CLIENT], settings)
    if client is None:
        log.info("wechat pay is not configured: the payment endpoints answer 503")
    app[PAYMENTS] = Payments(
        client=client,
        audit=app[AUDIT],
        appid=settings.wechat_appid,
        notify_url=settings.public_base_url.rstrip("/") + NOTIFY_PATH,
    )
    yield


def fee_fen(filing: Filing) -> int:
    total = Decimal(filing.fee_total or 0)
    return int((total * 100).to_integral_value())


def _new_out_trade_no() -> str:
    return "FEE" + uuid4().hex[:24]


async def _payer_openid(account_id: UUID, appid: str) -> str:
    identity = await WeChatIdentity.filter(account_id=account_id, appid=appid).first()
    if identity is None:
        raise UnprocessableEntity(
            "pay from the mini-program: this account has no WeChat identity"
            " / 请在小程序中登录后缴费",
            code="no_wechat_identity",
        )
    return identity.openid


async def start_payment(
    deps: Payments, principal: Principal, filing: Filing
) -> tuple[Payment, dict[str, str]]:
    """The pending order of this payer for the filing's fee (placed if new) and the
    ``wx.requestPayment`` parameters."""
    client = deps.require_client()
    if filing.status != FilingStatus.REGISTERED.value:
        raise Conflict("only a registered case's fee can be paid", code="invalid_transition")
    amount = fee_fen(filing)
    if filing.fee_paid_at is not None or amount <= 0:
        raise Conflict("the fee is already paid or nothing is due", code="fee_not_due")
    openid = await _payer_openid(principal.account_id, deps.appid)
    async with in_transaction() as conn:
        locked = await Filing.select_for_update().using_db(conn).get(id=filing.id)
        if locked.fee_paid_at is not None:
            raise Conflict("the fee is already paid", code="fee_not_due")
        payment = (
            await Payment.filter(
                filing_id=filing.id,
                payer_account_id=principal.account_id,
                status=PaymentStatus.PENDING.value,
                amount_fen=amount,
            )
            .using_db(conn)
            .first()
        )
        if payment is None:
            payment = await Payment.create(
                id=uuid4(),
                filing_id=filing.id,
                out_trade_no=_new_out_trade_no(),
                amount_fen=amount,
                payer_account_id=principal.account_id,
                status=PaymentStatus.PENDING.value,
                using_db=conn,
            )
    # Outside the transaction: WeChat answers the same prepay_id for the same order again.
    description = f"诉讼费 {filing.case_number or ''}".strip()[:127]
    prepay_id = await client.create_jsapi_order(
        payment.out_trade_no, description, amount, openid, deps.notify_url
    )
    if payment.prepay_id != prepay_id:
        payment.prepay_id = prepay_id
        await payment.save(update_fields=["prepay_id", "updated_at"])
    return payment, client.mini_program_payment_params(prepay_id)


async def apply_notification(deps: Payments, headers: Any, body: bytes, actor: Actor) -> None:
    """Verify, decrypt, re-check and apply one payment notification (idempotent)."""
    client = deps.require_client()
    tx = client.parse_notification(headers, body, now=time.time())
    async with in_transaction() as conn:
        payment = (
            await Payment.select_for_update()
            .using_db(conn)
            .get_or_none(out_trade_no=tx.out_trade_no)
        )
        if payment is None:
            log.error("wechat pay notification for an unknown order %s", tx.out_trade_no)
            raise NotFound("no such order")
        check_transaction_matches(
            tx,
            expected_out_trade_no=payment.out_trade_no,
            expected_amount_fen=payment.amount_fen,
            appid=client.appid,
            mchid=client.mchid,
        )
        if payment.status == PaymentStatus.PAID.value:
            if payment.transaction_id == tx.transaction_id:
                return  # a repeated notification: already applied
            log.error("order %s paid by two transactions", payment.out_trade_no)
            raise Conflict("the order was paid by another transaction", code="already_paid")
        filing = await Filing.select_for_update().using_db(conn).get(id=payment.filing_id)  # type: ignore[attr-defined]
        paid_at = tx.success_time or utcnow()
        payment.status = PaymentStatus.PAID.value
        payment.transaction_id = tx.transaction_id
        payment.paid_at = paid_at
        await payment.save(
            using_db=conn, update_fields=["status", "transaction_id", "paid_at", "updated_at"]
        )
        if filing.fee_paid_at is None:
            filing.fee_paid_at = paid_at
            await filing.save(using_db=conn, update_fields=["fee_paid_at", "updated_at"])
        await add_event(
            conn,
            filing,
            "fee_paid",
            payment.payer_account_id,
            {"amount_fen": payment.amount_fen, "out_trade_no": payment.out_trade_no},
        )
        await deps.audit.record(
            conn,
            actor,
            "filing.fee_paid",
            RESOURCE,
            str(filing.id),
            {"out_trade_no": payment.out_trade_no, "amount_fen": payment.amount_fen},
        )
