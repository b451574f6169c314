"""Fake WeChat Pay (API v3, JSAPI): signed requests, signed responses, encrypted notifications.

Merchant API (every request signed ``WECHATPAY2-SHA256-RSA2048`` over
``METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n``; every answer, errors and 204s included,
signed by the platform key over ``timestamp\\nnonce\\nbody\\n`` in ``Wechatpay-Timestamp``,
``Wechatpay-Nonce``, ``Wechatpay-Signature``, ``Wechatpay-Serial``). Errors are HTTP 4xx/5xx with
``{code, message}`` (``detail`` too for PARAM_ERROR):

- ``POST /v3/pay/transactions/jsapi {appid, mchid, description, out_trade_no, time_expire?,
  attach?, notify_url, amount: {total, currency?}, payer: {openid}}`` -> ``200 {prepay_id}``.
  Same ``out_trade_no`` with the same body: the same ``prepay_id`` (a new one once it is older
  than 2 h); with another body: 400 INVALID_REQUEST. 400 PARAM_ERROR (bad field, mchid not the
  signer's), 400 APPID_MCHID_NOT_MATCH, 400 ORDERPAID / ORDER_CLOSED for a finished order.
- ``GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`` and
  ``GET /v3/pay/transactions/id/{transaction_id}?mchid=`` -> the transaction (``trade_state``
  NOTPAY | SUCCESS | CLOSED; an unpaid order past ``time_expire`` reads CLOSED); 404
  ORDER_NOT_EXIST.
- ``POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close {mchid}`` -> 204 (again on a
  closed order); 400 ORDERPAID; 404 ORDER_NOT_EXIST.
- 401 SIGN_ERROR: missing or malformed ``Authorization``, unknown mchid, serial other than the
  merchant's, timestamp more than 5 minutes off, or a signature that does not verify.

Payment notifications: ``POST notify_url`` with ``{id, create_time, event_type:
"TRANSACTION.SUCCESS", resource_type: "encrypt-resource", summary, resource: {algorithm:
"AEAD_AES_256_GCM", ciphertext, associated_data: "transaction", nonce, original_type:
"transaction"}}``, signed like a response; the ciphertext is the transaction, encrypted with the
merchant's APIv3 key. Any non-2xx answer (or no answer within ``notify_timeout_s``) is retried
after each of ``notify_retry_delays_s`` with a fresh signature over the same body.

Control API for tests (``/__control/pay/``, only when ``FakePayConfig.control``), JSON in and out,
400 ``{error, detail}`` on bad input, 404 unknown order, 409 order in the wrong state:

- ``POST pay {prepay_id | out_trade_no, mchid?, outcome: success|closed, tamper?: [...],
  wait?: true, bank_type?, payer_total?}``: the user pays (or the order is closed unpaid). On
  success the order is marked paid and its notification delivered to ``notify_url``; with
  ``wait`` the answer comes after delivery (retries included) and lists the attempts.
  ``tamper`` (this delivery only): ``signature`` (does not verify), ``serial`` (unknown platform
  serial), ``stale`` (timestamp 10 min old, validly signed), ``ciphertext`` (corrupted, validly
  signed), ``amount`` / ``mchid`` / ``appid`` (wrong values inside a validly encrypted and signed
  resource).
- ``POST redeliver {out_trade_no, mchid?, tamper?, wait?}``: the same notification again (same
  ``id`` and body; fresh signature headers).
- ``GET orders?out_trade_no=`` -> ``{orders: [...]}`` with each delivery attempt.
- ``POST faults {api: jsapi|query|close, count?, kind?: error|bad_signature|unsigned,
  http_status?, code?, message?}``: the next ``count`` calls answer that error (default 500
  SYSTEM_ERROR), or a normal answer whose signature is wrong or missing.
- ``POST reset`` forgets orders and faults.

Run it on its own (``create_fake_pay_app``, ``main``: port 8931) or next to the fake WeChat
platform on one port (``add_pay_routes(app, config)``: the paths do not overlap).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from miniapp_stub.cors import control_cors_middleware
from miniapp_stub.pay_control import add_control_routes
from miniapp_stub.pay_keys import (
    CHINA_TZ,
    MerchantKeys,
    PlatformKeys,
    ensure_demo_keys,
    generate_platform_keys,
    generate_test_merchant,
    rsa_verify,
)
from miniapp_stub.pay_model import (
    AUTH_SCHEMA,
    MAX_CLOCK_SKEW_S,
    PAY_CONFIG,
    PAY_STATE,
    FakeMerchant,
    FakePayConfig,
    FakePayState,
    Fault,
    Order,
    PayApiName,
    dumps,
    platform_headers,
    private_key,
    public_key,
)
from miniapp_stub.pay_notify import http_session_ctx
from miniapp_stub.wechat import DEFAULT_APPID

__all__ = [
    "DEFAULT_PAY_KEYS_DIR",
    "DEFAULT_PAY_PORT",
    "PAY_CONFIG",
    "PAY_STATE",
    "FakeMerchant",
    "FakePayConfig",
    "FakePayState",
    "MerchantKeys",
    "PlatformKeys",
    "add_pay_routes",
    "configure_pay_parser",
    "create_fake_pay_app",
    "generate_platform_keys",
    "generate_test_merchant",
    "main",
    "pay_config_from_args",
]

DEFAULT_PAY_PORT = 8931
DEFAULT_PAY_KEYS_DIR = Path("var/fake-wechat-pay")
OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_\-*|]{6,32}")
LOOPBACK_HOSTS = frozenset({"localhost"})
_BODY_FIELDS = frozenset(
    {
        "appid",
        "mchid",
        "description",
        "out_trade_no",
        "time_expire",
        "attach",
        "notify_url",
        "goods_tag",
        "support_fapiao",
        "amount",
        "payer",
        "detail",
        "scene_info",
        "settle_info",
    }
)


# --------------------------------------------------------------------------- errors and signatures


class PayError(Exception):
    def __init__(
        self, status: int, code: str, message: str, detail: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message, self.detail = status, code, message, detail

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


def _param_error(name: str, issue: str, value: Any = None) -> PayError:
    detail = {"location": "body", "field": name, "issue": issue}
    if value is not None:
        detail["value"] = value
    return PayError(400, "PARAM_ERROR", f"参数错误: {name} {issue}", detail)


def _signed_response(
    config: FakePayConfig, status: int, payload: dict[str, Any] | None, fault: Fault | None
) -> web.Response:
    body = b"" if payload is None else dumps(payload)
    headers = {"Request-ID": str(uuid.uuid4()).upper()}
    if fault is None or fault.kind != "unsigned":
        corrupt = fault is not None and fault.kind == "bad_signature"
        headers.update(platform_headers(config, body, corrupt=corrupt))
    if payload is not None:
        headers["Content-Type"] = "application/json; charset=utf-8"
    return web.Response(status=status, body=body or None, headers=headers)


_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def _authenticate(request: web.Request, body: bytes) -> FakeMerchant:
    config = request.app[PAY_CONFIG]
    schema, _, params = request.headers.get("Authorization", "").partition(" ")
    if schema != AUTH_SCHEMA:
        raise PayError(401, "SIGN_ERROR", "Authorization 缺失或认证类型不是 " + AUTH_SCHEMA)
    fields = dict(_AUTH_PARAM.findall(params))
    required = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
    missing = [name for name in required if not fields.get(name)]
    if missing:
        raise PayError(401, "SIGN_ERROR", f"Authorization 缺少 {', '.join(missing)}")
    merchant = config.merchant(fields["mchid"])
    if merchant is None:
        raise PayError(401, "SIGN_ERROR", "商户号不存在或未开通 APIv3")
    if fields["serial_no"] != merchant.serial_no:
        raise PayError(401, "SIGN_ERROR", "商户证书序列号有误")
    try:
        timestamp = int(fields["timestamp"])
    except ValueError:
        raise PayError(401, "SIGN_ERROR", "timestamp 格式错误") from None
    if abs(config.clock() - timestamp) > MAX_CLOCK_SKEW_S:
        raise PayError(401, "SIGN_ERROR", "请求时间戳与服务器时间相差超过 5 分钟")
    message = (
        f"{request.method}\n{request.raw_path}\n{timestamp}\n{fields['nonce_str']}\n".encode()
        + body
        + b"\n"
    )
    if not rsa_verify(public_key(merchant.public_key_pem), message, fields["signature"]):
        raise PayError(401, "SIGN_ERROR", "签名错误，请检查签名串与私钥")
    return merchant


# --------------------------------------------------------------------------- merchant API

PayHandler = Callable[[web.Request, FakeMerchant, bytes], Awaitable[tuple[int, Any]]]


def _pay_api(name: PayApiName) -> Callable[[PayHandler], Callable[..., Awaitable[web.Response]]]:
    """Injected faults, then authentication and the handler; every answer signed."""

    def wrap(handler: PayHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            config, state = request.app[PAY_CONFIG], request.app[PAY_STATE]
            body = await request.read()
            queued = state.faults.get(name)
            fault = queued.pop(0) if queued else None
            status: int
            payload: dict[str, Any] | None
            try:
                if fault is not None and fault.kind == "error":
                    raise PayError(fault.http_status, fault.code, fault.message)
                merchant = _authenticate(request, body)
                status, payload = await handler(request, merchant, body)
            except PayError as exc:
                status, payload = exc.status, exc.payload()
            return _signed_response(config, status, payload, fault)

        return run

    return wrap


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PayError(400, "PARAM_ERROR", "请求体不是合法的 JSON") from None
    if not isinstance(data, dict):
        raise PayError(400, "PARAM_ERROR", "请求体必须是 JSON 对象")
    return data


def _string(body: dict[str, Any], name: str, max_len: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _param_error(name, "缺失或不是非空字符串")
    if len(value) > max_len:
        raise _param_error(name, f"长度超过 {max_len}")
    return value


def _optional_string(body: dict[str, Any], name: str, max_len: int) -> str | None:
    return None if body.get(name) is None else _string(body, name, max_len)


def _check_notify_url(config: FakePayConfig, url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.query or parts.fragment:
        raise _param_error("notify_url", "不能携带参数", url)
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and config.allow_http_loopback_notify:
        try:
            if host in LOOPBACK_HOSTS or ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
    raise _param_error("notify_url", "必须是 https 地址", url)


def _new_order(
    config: FakePayConfig, merchant: FakeMerchant, body: dict[str, Any], now: float
) -> Order:
    unknown = sorted(set(body) - _BODY_FIELDS)
    if unknown:
        raise _param_error(unknown[0], "不是可识别的字段")
    appid = _string(body, "appid", 32)
    mchid = _string(body, "mchid", 32)
    if mchid != merchant.mchid:
        raise _param_error("mchid", "与请求头中的商户号不一致", mchid)
    if appid not in merchant.appids:
        raise PayError(400, "APPID_MCHID_NOT_MATCH", "appid 和 mchid 不匹配")
    description = _string(body, "description", 127)
    out_trade_no = _string(body, "out_trade_no", 32)
    if not OUT_TRADE_NO.fullmatch(out_trade_no):
        raise _param_error("out_trade_no", "须为 6-32 位字母、数字或 _-*|", out_trade_no)
    notify_url = _string(body, "notify_url", 256)
    _check_notify_url(config, notify_url)
    attach = _optional_string(body, "attach", 128)
    time_expire = _optional_string(body, "time_expire", 64)
    expire_at: float | None = None
    if time_expire is not None:
        try:
            parsed = datetime.fromisoformat(time_expire)
        except ValueError:
            raise _param_error("time_expire", "不是 RFC 3339 时间", time_expire) from None
        if parsed.tzinfo is None:
            raise _param_error("time_expire", "缺少时区", time_expire)
        expire_at = parsed.timestamp()
        if expire_at <= now:
            raise _param_error("time_expire", "早于当前时间", time_expire)
    amount = body.get("amount")
    if not isinstance(amount, dict) or set(amount) - {"total", "currency"}:
        raise _param_error("amount", "须为 {total, currency}")
    total = amount.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
        raise _param_error("amount.total", "须为大于 0 的整数（单位：分）", total)
    currency = amount.get("currency", "CNY")
    if currency != "CNY":
        raise _param_error("amount.currency", "仅支持 CNY", currency)
    payer = body.get("payer")
    openid = payer.get("openid") if isinstance(payer, dict) else None
    if not isinstance(openid, str) or not openid or len(openid) > 128:
        raise _param_error("payer.openid", "缺失或无效")
    return Order(
        mchid=merchant.mchid,
        appid=appid,
        out_trade_no=out_trade_no,
        description=description,
        notify_url=notify_url,
        total=total,
        currency=currency,
        openid=openid,
        attach=attach,
        time_expire=time_expire,
        expire_at=expire_at,
        request=body,
        prepay_id="",
        prepay_expires_at=0.0,
        created_at=now,
    )


def _issue_prepay(config: FakePayConfig, state: FakePayState, order: Order, now: float) -> None:
    state.prepay.pop(order.prepay_id, None)
    stamp = datetime.fromtimestamp(int(now), tz=CHINA_TZ).strftime("%Y%m%d%H%M%S")
    order.prepay_id = f"wx{stamp}{secrets.token_hex(13)}"
    order.prepay_expires_at = now + config.prepay_ttl_s
    state.prepay[order.prepay_id] = (order.mchid, order.out_trade_no)


def _finished_error(order: Order) -> PayError | None:
    if order.trade_state == "SUCCESS":
        return PayError(400, "ORDERPAID", "该订单已支付")
    if order.trade_state == "CLOSED":
        return PayError(400, "ORDER_CLOSED", "订单已关闭")
    return None


@_pay_api("jsapi")
async def _jsapi(request: web.Request, merchant: FakeMerchant, raw: bytes) -> tuple[int, Any]:
    config, state = request.app[PAY_CONFIG], request.app[PAY_STATE]
    now = config.clock()
    order = _new_order(config, merchant, _json_body(raw), now)
    existing = state.orders.get((order.mchid, order.out_trade_no))
    if existing is not None:
        existing.refresh(now)
        finished = _finished_error(existing)
        if finished is not None:
            raise finished
        if existing.request != order.request:
            raise PayError(400, "INVALID_REQUEST", "商户订单号重复，且请求参数与首次请求时不一致")
        if existing.prepay_expires_at <= now:
            _issue_prepay(config, state, existing, now)
        return 200, {"prepay_id": existing.prepay_id}
    _issue_prepay(config, state, order, now)
    state.orders[(order.mchid, order.out_trade_no)] = order
    return 200, {"prepay_id": order.prepay_id}


def _query_mchid(request: web.Request, merchant: FakeMerchant) -> None:
    mchid = request.query.get("mchid")
    if not mchid:
        raise PayError(400, "PARAM_ERROR", "缺少 mchid 参数")
    if mchid != merchant.mchid:
        raise PayError(400, "PARAM_ERROR", "mchid 与请求头中的商户号不一致")


def _not_found() -> PayError:
    return PayError(404, "ORDER_NOT_EXIST", "订单不存在")


@_pay_api("query")
async def _query(request: web.Request, merchant: FakeMerchant, _raw: bytes) -> tuple[int, Any]:
    config, state = request.app[PAY_CONFIG], request.app[PAY_STATE]
    _query_mchid(request, merchant)
    order = state.orders.get((merchant.mchid, request.match_info["out_trade_no"]))
    if order is None:
        raise _not_found()
    order.refresh(config.clock())
    return 200, order.transaction()


@_pay_api("query")
async def _query_by_id(
    request: web.Request, merchant: FakeMerchant, _raw: bytes
) -> tuple[int, Any]:
    state = request.app[PAY_STATE]
    _query_mchid(request, merchant)
    transaction_id = request.match_info["transaction_id"]
    for order in state.orders.values():
        if order.mchid == merchant.mchid and order.transaction_id == transaction_id:
            return 200, order.transaction()
    raise _not_found()


@_pay_api("close")
async def _close(request: web.Request, merchant: FakeMerchant, raw: bytes) -> tuple[int, Any]:
    config, state = request.app[PAY_CONFIG], request.app[PAY_STATE]
    body = _json_body(raw)
    if body.get("mchid") != merchant.mchid or set(body) != {"mchid"}:
        raise PayError(400, "PARAM_ERROR", "请求体须为 {mchid}，且与请求头中的商户号一致")
    order = state.orders.get((merchant.mchid, request.match_info["out_trade_no"]))
    if order is None:
        raise _not_found()
    order.refresh(config.clock())
    if order.trade_state == "SUCCESS":
        raise PayError(400, "ORDERPAID", "该订单已支付，不能关闭")
    order.trade_state = "CLOSED"
    return 204, None


# --------------------------------------------------------------------------- assembly and CLI


def add_pay_routes(app: web.Application, config: FakePayConfig) -> web.Application:
    """Serve ``/v3/pay/…`` (and ``/__control/pay/…``) from ``app``, e.g. the fake WeChat app."""
    # Fail at startup, not on the first request, when a configured key does not load.
    private_key(config.platform.private_key_pem)
    for merchant in config.merchants:
        public_key(merchant.public_key_pem)
    app[PAY_CONFIG] = config
    app[PAY_STATE] = FakePayState()
    app.cleanup_ctx.append(http_session_ctx)
    app.router.add_post("/v3/pay/transactions/jsapi", _jsapi)
    app.router.add_get("/v3/pay/transactions/out-trade-no/{out_trade_no}", _query)
    app.router.add_get("/v3/pay/transactions/id/{transaction_id}", _query_by_id)
    app.router.add_post("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", _close)
    if config.control:
        add_control_routes(app)
    return app


def create_fake_pay_app(config: FakePayConfig) -> web.Application:
    return add_pay_routes(web.Application(middlewares=[control_cors_middleware]), config)


def configure_pay_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options for the fake pay platform (add them to the ``fake-wechat`` subcommand too)."""
    parser.add_argument(
        "--pay-keys-dir",
        type=Path,
        default=DEFAULT_PAY_KEYS_DIR,
        help="where the demo merchant and platform keys live (created when missing); the "
        f"backend reads the merchant private and platform public keys (default "
        f"{DEFAULT_PAY_KEYS_DIR})",
    )
    parser.add_argument(
        "--pay-appid",
        dest="pay_appids",
        action="append",
        default=[],
        help=f"appid bound to the demo merchant (repeatable; default {DEFAULT_APPID})",
    )
    parser.add_argument(
        "--pay-notify-retries",
        type=str,
        default="1,2,5,15,30",
        help="seconds between notification retries, comma-separated",
    )
    return parser


def pay_config_from_args(
    args: argparse.Namespace, *, appids: Sequence[str] = (), control: bool = True
) -> FakePayConfig:
    chosen = tuple(args.pay_appids) or tuple(appids) or (DEFAULT_APPID,)
    keys = ensure_demo_keys(args.pay_keys_dir, appids=chosen)
    delays = tuple(float(d) for d in args.pay_notify_retries.split(",") if d.strip())
    return FakePayConfig.for_merchants(
        keys.merchant, platform=keys.platform, notify_retry_delays_s=delays, control=control
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake-wechat-pay", description="Fake WeChat Pay v3")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PAY_PORT)
    parser.add_argument("--no-control", action="store_true")
    args = configure_pay_parser(parser).parse_args(argv)
    config = pay_config_from_args(args, control=not args.no_control)
    host, port = args.host, args.port
    web.run_app(
        create_fake_pay_app(config),
        host=host,
        port=port,
        print=lambda _: print(f"fake WeChat Pay on http://{host}:{port}/", flush=True),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
