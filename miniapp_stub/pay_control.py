"""Test control of the fake WeChat Pay platform (``/__control/pay/``): the user pays, the
notification is redelivered or tampered with, faults are injected (see ``miniapp_stub.pay``)."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from miniapp_stub.pay_keys import CHINA_TZ, rfc3339
from miniapp_stub.pay_model import (
    PAY_CONFIG,
    PAY_STATE,
    FakePayState,
    Fault,
    Notification,
    Order,
    PayApiName,
    Tamper,
)
from miniapp_stub.pay_notify import notification_body, run_delivery

_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _PayBody(_Strict):
    prepay_id: str | None = None
    out_trade_no: str | None = None
    mchid: str | None = None
    outcome: Literal["success", "closed"] = "success"
    tamper: list[Tamper] = Field(default_factory=list)
    wait: bool = True
    bank_type: str = "OTHERS"
    payer_total: int | None = Field(None, ge=0)


class _RedeliverBody(_Strict):
    out_trade_no: str
    mchid: str | None = None
    tamper: list[Tamper] = Field(default_factory=list)
    wait: bool = True


class _FaultBody(_Strict):
    api: PayApiName
    count: int = Field(1, ge=1)
    kind: Literal["error", "bad_signature", "unsigned"] = "error"
    http_status: int = Field(500, ge=400, le=599)
    code: str = "SYSTEM_ERROR"
    message: str = "系统错误"


def _control_error(status: int, error: str, detail: Any) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
    }
    return kinds[status](
        text=json.dumps({"error": error, "detail": detail}, ensure_ascii=False),
        content_type="application/json",
    )


async def _control_body(request: web.Request, model: type[_M]) -> _M:
    raw: Any = {}
    text = await request.read()
    if text.strip():
        try:
            raw = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise _control_error(400, "invalid_json", "body is not JSON") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        detail = json.loads(exc.json(include_url=False, include_context=False))
        raise _control_error(400, "invalid_request", detail) from None


def _find_order(
    state: FakePayState,
    *,
    prepay_id: str | None = None,
    out_trade_no: str | None = None,
    mchid: str | None = None,
) -> Order:
    if prepay_id is not None:
        key = state.prepay.get(prepay_id)
        if key is None:
            raise _control_error(404, "unknown_prepay_id", prepay_id)
        return state.orders[key]
    if out_trade_no is None:
        raise _control_error(400, "invalid_request", "prepay_id or out_trade_no is required")
    found = [
        o
        for (m, no), o in state.orders.items()
        if no == out_trade_no and (mchid is None or m == mchid)
    ]
    if not found:
        raise _control_error(404, "unknown_order", out_trade_no)
    if len(found) > 1:
        raise _control_error(400, "ambiguous_order", "several merchants use it; give mchid")
    return found[0]


async def _control_pay(request: web.Request) -> web.Response:
    config, state = request.app[PAY_CONFIG], request.app[PAY_STATE]
    body = await _control_body(request, _PayBody)
    order = _find_order(
        state, prepay_id=body.prepay_id, out_trade_no=body.out_trade_no, mchid=body.mchid
    )
    now = config.clock()
    order.refresh(now)
    if order.trade_state != "NOTPAY":
        raise _control_error(409, "not_payable", order.trade_state)
    if body.prepay_id is not None and order.prepay_expires_at <= now:
        raise _control_error(409, "prepay_id_expired", body.prepay_id)
    if body.outcome == "closed":
        order.trade_state = "CLOSED"
        return web.json_response({"order": order.as_json(), "deliveries": []})
    order.trade_state = "SUCCESS"
    order.transaction_id = (
        "4200"
        + datetime.fromtimestamp(int(now), tz=CHINA_TZ).strftime("%Y%m%d")
        + "".join(secrets.choice("0123456789") for _ in range(16))
    )
    order.success_time = rfc3339(now)
    order.bank_type = body.bank_type
    order.payer_total = order.total if body.payer_total is None else body.payer_total
    notification_id, create_time = str(uuid.uuid4()), rfc3339(now)
    order.notification = Notification(
        id=notification_id,
        create_time=create_time,
        body=notification_body(config, order, notification_id, create_time, set()),
    )
    attempts = await run_delivery(state, config, order, set(body.tamper), body.wait)
    return web.json_response({"order": order.as_json(), "deliveries": attempts})


async def _control_redeliver(request: web.Request) -> web.Response:
    config, state = request.app[PAY_CONFIG], request.app[PAY_STATE]
    body = await _control_body(request, _RedeliverBody)
    order = _find_order(state, out_trade_no=body.out_trade_no, mchid=body.mchid)
    if order.notification is None:
        raise _control_error(409, "not_paid", order.trade_state)
    attempts = await run_delivery(state, config, order, set(body.tamper), body.wait)
    return web.json_response({"order": order.as_json(), "deliveries": attempts})


async def _control_orders(request: web.Request) -> web.Response:
    config, state = request.app[PAY_CONFIG], request.app[PAY_STATE]
    wanted = request.query.get("out_trade_no")
    orders = []
    for order in state.orders.values():
        if wanted is None or order.out_trade_no == wanted:
            order.refresh(config.clock())
            orders.append(order.as_json())
    return web.json_response({"orders": orders})


async def _control_faults(request: web.Request) -> web.Response:
    body = await _control_body(request, _FaultBody)
    fault = Fault(
        kind=body.kind, http_status=body.http_status, code=body.code, message=body.message
    )
    queue = request.app[PAY_STATE].faults.setdefault(body.api, [])
    queue.extend([fault] * body.count)
    return web.json_response({"api": body.api, "queued": len(queue)})


async def _control_reset(request: web.Request) -> web.Response:
    request.app[PAY_STATE].reset()
    return web.json_response({"reset": True})


def add_control_routes(app: web.Application) -> None:
    app.router.add_post("/__control/pay/pay", _control_pay)
    app.router.add_post("/__control/pay/redeliver", _control_redeliver)
    app.router.add_get("/__control/pay/orders", _control_orders)
    app.router.add_post("/__control/pay/faults", _control_faults)
    app.router.add_post("/__control/pay/reset", _control_reset)
