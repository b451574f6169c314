"""/api/v1/filing/: paying a registered case's fee with WeChat Pay, WeChat's payment
notification, and the payment status of a case."""

from __future__ import annotations

from aiohttp import web

from backend.http import endpoint, request_actor, require_principal
from backend.schemas import Output
from filing import payments
from filing.access import EDIT, READ
from filing.models import Payment
from filing.payments import PAYMENTS
from filing.record import authorize, iso

routes = web.RouteTableDef()
TAGS = ("filing",)


class PaymentOut(Output):
    out_trade_no: str
    amount_fen: int
    status: str
    created_at: str | None
    paid_at: str | None


class PaymentStartOut(Output):
    payment: PaymentOut
    # What the mini-program passes to wx.requestPayment.
    request_payment: dict[str, str]


class PaymentListOut(Output):
    fee_total_fen: int
    fee_paid: bool
    fee_paid_at: str | None
    items: list[PaymentOut]


def payment_out(payment: Payment) -> PaymentOut:
    return PaymentOut(
        out_trade_no=payment.out_trade_no,
        amount_fen=payment.amount_fen,
        status=payment.status,
        created_at=iso(payment.created_at),
        paid_at=iso(payment.paid_at),
    )


@routes.post("/filings/{filing_id}/payments")
@endpoint(
    "Pay the case fee with WeChat Pay: the order and the wx.requestPayment parameters",
    response=PaymentStartOut,
    status=201,
    tags=TAGS,
    errors=(404, 409, 422, 502, 503),
)
async def start_payment(request: web.Request) -> PaymentStartOut:
    principal = require_principal(request)
    deps = request.config_dict[PAYMENTS]
    deps.require_client()
    filing, _, _ = await authorize(request, EDIT)
    payment, params = await payments.start_payment(deps, principal, filing)
    return PaymentStartOut(payment=payment_out(payment), request_payment=params)


@routes.get("/filings/{filing_id}/payments")
@endpoint("The case fee's payments", response=PaymentListOut, tags=TAGS, errors=(404, 503))
async def list_payments(request: web.Request) -> PaymentListOut:
    request.config_dict[PAYMENTS].require_client()
    filing, _, _ = await authorize(request, READ)
    rows = await Payment.filter(filing_id=filing.id).order_by("created_at", "id")
    return PaymentListOut(
        fee_total_fen=payments.fee_fen(filing),
        fee_paid=filing.fee_paid_at is not None,
        fee_paid_at=iso(filing.fee_paid_at),
        items=[payment_out(p) for p in rows],
    )


@routes.post("/payments/wechat-notify")
@endpoint(
    "WeChat Pay's payment notification (signed by WeChat; verified before it is read)",
    public=True,
    status=204,
    tags=TAGS,
    errors=(400, 401, 404, 409, 503),
)
async def wechat_notify(request: web.Request) -> None:
    deps = request.config_dict[PAYMENTS]
    body = await request.read()
    await payments.apply_notification(deps, request.headers, body, request_actor(request))
