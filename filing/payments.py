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
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, HTTP_CLIENT, SETTINGS
from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import (
    Conflict,
    NotFound,
    ServiceUnavailable,
    UnprocessableEntity,
    UpstreamError,
)
from backend.settings import Settings
from filing.access import RESOURCE
from filing.fees import amount_due
from filing.filings import add_event
from filing.models import Filing, FilingStatus, Payment, PaymentStatus
from filing.wechat_pay import WeChatPayClient, WeChatPayConfig, check_transaction_matches
from filing.workflow import china_date, utcnow
from identity.models import WeChatIdentity

log = logging.getLogger("mobile_court.filing.payments")

NOTIFY_PATH = "/api/v1/filing/payments/wechat-notify"
# An order can be paid for this long (sent as time_expire); then another payer may start one.
PAYMENT_WINDOW = timedelta(minutes=15)


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
    """What is due now in fen: the notice's total, or what a granted reduction/waiver left."""
    due = amount_due(filing.fee_total, filing.fee_payable)
    return 0 if due is None else int((due * 100).to_integral_value())


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


def _payable_fen(filing: Filing) -> int:
    if filing.status != FilingStatus.REGISTERED.value:
        raise Conflict("only a registered case's fee can be paid", code="invalid_transition")
    amount = fee_fen(filing)
    if filing.fee_paid_at is not None or amount <= 0:
        raise Conflict("the fee is already paid or nothing is due", code="fee_not_due")
    if filing.fee_due_on is not None and filing.fee_due_on < china_date(utcnow()):
        # Decree 481 Art. 22: unpaid after the deadline, the filing counts as withdrawn; a
        # deferral granted before then moves the deadline.
        raise Conflict(
            f"the payment deadline {filing.fee_due_on} has passed / 缴费期限已过",
            code="fee_overdue",
            extra={"due_on": str(filing.fee_due_on)},
        )
    return amount


async def start_payment(
    deps: Payments, principal: Principal, filing: Filing
) -> tuple[Payment, dict[str, str]]:
    """The payer's open order for what is due now (placed if new) and the
    ``wx.requestPayment`` parameters.

    At most one payable order per fee: while one party's order is open another party's attempt
    is refused (``payment_in_progress``) until it expires; an order for an amount no longer due
    (a reduction was granted since) is closed. Should money still arrive for a closed or
    superseded order, the notification records it for refund instead of crediting it twice.
    """
    client = deps.require_client()
    _payable_fen(filing)
    openid = await _payer_openid(principal.account_id, deps.appid)
    now = utcnow()
    to_close: list[str] = []
    async with in_transaction() as conn:
        # The filing row lock serialises concurrent payers of the same fee.
        locked = await Filing.select_for_update().using_db(conn).get(id=filing.id)
        amount = _payable_fen(locked)
        payment: Payment | None = None
        open_orders = await Payment.filter(
            filing_id=filing.id, status=PaymentStatus.PENDING.value
        ).using_db(conn)
        for order in open_orders:
            live = order.expires_at is None or order.expires_at > now
            if live and order.amount_fen == amount:
                if order.payer_account_id != principal.account_id:
                    raise Conflict(
                        "another party is paying this fee right now; try again later / "
                        "其他当事人正在缴纳本案诉讼费",
                        code="payment_in_progress",
                        extra={"retry_after": order.expires_at.isoformat()}
                        if order.expires_at
                        else None,
                    )
                payment = order
                continue
            order.status = PaymentStatus.CLOSED.value
            await order.save(using_db=conn, update_fields=["status", "updated_at"])
            if live:
                to_close.append(order.out_trade_no)
        if payment is None:
            payment = await Payment.create(
                id=uuid4(),
                filing_id=filing.id,
                out_trade_no=_new_out_trade_no(),
                amount_fen=amount,
                payer_account_id=principal.account_id,
                status=PaymentStatus.PENDING.value,
                expires_at=now + PAYMENT_WINDOW,
                using_db=conn,
            )
    for out_trade_no in to_close:
        try:
            await client.close_order(out_trade_no)
        except UpstreamError:
            # Paid meanwhile, or WeChat unreachable: a late payment is recorded for refund.
            log.warning("could not close superseded order %s", out_trade_no)
    # Outside the transaction: WeChat answers the same prepay_id for the same order again.
    description = f"诉讼费 {filing.case_number or ''}".strip()[:127]
    prepay_id = await client.create_jsapi_order(
        payment.out_trade_no,
        description,
        payment.amount_fen,
        openid,
        deps.notify_url,
        payment.expires_at,
    )
    if payment.prepay_id != prepay_id:
        payment.prepay_id = prepay_id
        await payment.save(update_fields=["prepay_id", "updated_at"])
    return payment, client.mini_program_payment_params(prepay_id)


async def apply_notification(deps: Payments, headers: Any, body: bytes, actor: Actor) -> None:
    """Verify, decrypt, re-check and apply one payment notification (idempotent).

    Money is credited to the fee once: a payment for a fee already paid, or for an order that
    was closed or superseded, is recorded as ``refund_due`` (Decree 481 Art. 53) and changes
    nothing else.
    """
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
        if payment.transaction_id is not None:
            if payment.transaction_id == tx.transaction_id:
                return  # a repeated notification: already applied
            log.error("order %s paid by two transactions", payment.out_trade_no)
            raise Conflict("the order was paid by another transaction", code="already_paid")
        filing = await Filing.select_for_update().using_db(conn).get(id=payment.filing_id)  # type: ignore[attr-defined]
        paid_at = tx.success_time or utcnow()
        payment.transaction_id = tx.transaction_id
        payment.paid_at = paid_at
        details = {"amount_fen": payment.amount_fen, "out_trade_no": payment.out_trade_no}
        credit = (
            payment.status == PaymentStatus.PENDING.value
            and filing.fee_paid_at is None
            and payment.amount_fen == fee_fen(filing)
        )
        if not credit:
            reason = "fee_already_paid" if filing.fee_paid_at is not None else "order_superseded"
            log.warning("order %s paid but not credited (%s)", payment.out_trade_no, reason)
            payment.status = PaymentStatus.REFUND_DUE.value
            await payment.save(
                using_db=conn, update_fields=["status", "transaction_id", "paid_at", "updated_at"]
            )
            await add_event(conn, filing, "payment_refund_due", None, {**details, "reason": reason})
            await deps.audit.record(
                conn,
                actor,
                "filing.payment_refund_due",
                RESOURCE,
                str(filing.id),
                {**details, "reason": reason},
            )
            return
        payment.status = PaymentStatus.PAID.value
        await payment.save(
            using_db=conn, update_fields=["status", "transaction_id", "paid_at", "updated_at"]
        )
        filing.fee_paid_at = paid_at
        await filing.save(using_db=conn, update_fields=["fee_paid_at", "updated_at"])
        # Other open orders can no longer be paid usefully: close them here (a late payment
        # for one is recorded for refund above).
        await (
            Payment.filter(filing_id=filing.id, status=PaymentStatus.PENDING.value)
            .using_db(conn)
            .update(status=PaymentStatus.CLOSED.value)
        )
        await add_event(conn, filing, "fee_paid", payment.payer_account_id, details)
        await deps.audit.record(conn, actor, "filing.fee_paid", RESOURCE, str(filing.id), details)
