"""Fake SMS gateway: template messages to mainland mobiles, delivery reports, fault injection.

Gateway API (``X-Api-Key`` header required):

- ``POST /send {phone, template, params}`` -> ``200 {message_id, status: "queued"}``;
  401 ``unauthorized``, 400 ``invalid_request`` / ``invalid_phone`` / ``unknown_template`` /
  ``invalid_params``, 429 ``rate_limited`` (with ``Retry-After``), 503 ``unavailable``.
- ``GET /messages/{message_id}`` -> the message's current delivery status.
- ``GET /reports`` -> delivery reports not fetched before (each report is returned once).

Test control (no key; only when ``FakeSmsConfig.control``):

- ``GET /__control/messages?phone=`` -> every accepted message with its rendered text and params,
  so a test can read the one-time password.
- ``POST /__control/fail {count, status?}`` -> the next ``count`` sends answer ``status``
  (default 503) without sending anything; ``count: 0`` clears it.
- ``POST /__control/deliver {message_id, status: delivered|failed, error_code?}`` -> set the
  outcome of a message still queued (with ``auto_deliver=False``).
- ``POST /__control/reset`` -> forget everything.

Error bodies are ``{error, detail}``. Only mainland mobile numbers are accepted (``1[3-9]`` + 9
digits, optionally ``+86``/``86``-prefixed); they are stored without the prefix.
"""

from __future__ import annotations

import hmac
import json
import re
import string
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "DEFAULT_SMS_API_KEY",
    "DEFAULT_SMS_TEMPLATES",
    "FakeSmsConfig",
    "FakeSmsState",
    "SentSms",
    "create_fake_sms_app",
]

DEFAULT_SMS_API_KEY = "fake-sms-key"
DEFAULT_SMS_TEMPLATES: Mapping[str, str] = {
    "otp": "【移动微法院】您的验证码为{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。",
    "case_notice": "【移动微法院】您有案件（{case_number}）的新消息，请登录移动微法院查看。",
    "service_notice": "【移动微法院】{court}向您送达了（{case_number}）的诉讼文书，"
    "请登录移动微法院查收。",
    "service_link": "【移动微法院】{court}向您送达了（{case_number}）的诉讼文书，"
    "请点击{link}登录查收。",
}

API_KEY_HEADER = "X-Api-Key"
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9][0-9]{9})")

DeliveryStatus = Literal["queued", "delivered", "failed"]


@dataclass(frozen=True)
class FakeSmsConfig:
    api_keys: frozenset[str] = frozenset({DEFAULT_SMS_API_KEY})
    # template name -> text with ``{placeholders}``; every placeholder must be given, no others.
    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SMS_TEMPLATES))
    # Delivered as soon as accepted; with False a message stays queued until /__control/deliver.
    auto_deliver: bool = True
    # Gateway-side flow control per phone number (real gateways have one); None disables it.
    per_phone_per_minute: int | None = None
    # Seconds since the epoch; None: the mounting fake WeChat app's clock, else time.time.
    clock: Callable[[], float] | None = None
    control: bool = True


@dataclass
class SentSms:
    message_id: str
    phone: str
    template: str
    params: dict[str, str]
    text: str
    submitted_at: float
    status: DeliveryStatus = "queued"
    delivered_at: float | None = None
    error_code: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "phone": self.phone,
            "status": self.status,
            "submitted_at": self.submitted_at,
            "delivered_at": self.delivered_at,
            "error_code": self.error_code,
        }

    def control_view(self) -> dict[str, Any]:
        return {
            **self.public(),
            "template": self.template,
            "params": self.params,
            "text": self.text,
        }


@dataclass
class FakeSmsState:
    clock: Callable[[], float]
    messages: dict[str, SentSms] = field(default_factory=dict)
    pending_reports: list[dict[str, Any]] = field(default_factory=list)
    failures_left: int = 0
    failure_status: int = 503
    send_attempts: int = 0
    # phone -> (minute window, sends in it)
    windows: dict[str, tuple[int, int]] = field(default_factory=dict)

    def reset(self) -> None:
        self.messages.clear()
        self.pending_reports.clear()
        self.failures_left, self.failure_status = 0, 503
        self.send_attempts = 0
        self.windows.clear()

    def settle(self, sms: SentSms, status: DeliveryStatus, error_code: str | None = None) -> None:
        sms.status = status
        sms.delivered_at = self.clock()
        sms.error_code = error_code
        self.pending_reports.append(
            {
                "message_id": sms.message_id,
                "phone": sms.phone,
                "status": status,
                "error_code": error_code,
                "reported_at": sms.delivered_at,
            }
        )


SMS_CONFIG = web.AppKey("fake_sms_config", FakeSmsConfig)
SMS_STATE = web.AppKey("fake_sms_state", FakeSmsState)


def _error(
    status: int, error: str, detail: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status, headers=headers)


_M = TypeVar("_M", bound=BaseModel)


class _ParseError(Exception):
    def __init__(self, response: web.Response) -> None:
        super().__init__("bad request")
        self.response = response


async def _parse(request: web.Request, model: type[_M]) -> _M:
    try:
        raw = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise _ParseError(_error(400, "invalid_request", "body is not JSON")) from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _ParseError(
            _error(400, "invalid_request", exc.json(include_url=False, include_context=False))
        ) from None


class _SendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str
    template: str
    params: dict[str, str | int] = Field(default_factory=dict)


class _FailBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(ge=0)
    status: int = Field(503, ge=400, le=599)


class _DeliverBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message_id: str
    status: Literal["delivered", "failed"]
    error_code: str | None = None


def _authorised(request: web.Request) -> bool:
    given = request.headers.get(API_KEY_HEADER, "")
    return any(
        hmac.compare_digest(given.encode(), key.encode())
        for key in request.app[SMS_CONFIG].api_keys
    )


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


async def _send(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _error(401, "unauthorized", f"missing or wrong {API_KEY_HEADER}")
    state, config = request.app[SMS_STATE], request.app[SMS_CONFIG]
    state.send_attempts += 1
    if state.failures_left:
        state.failures_left -= 1
        return _error(state.failure_status, "unavailable", "gateway temporarily unavailable")
    try:
        body = await _parse(request, _SendBody)
    except _ParseError as exc:
        return exc.response
    match = _MOBILE.fullmatch(body.phone.strip())
    if match is None:
        return _error(400, "invalid_phone", "not a mainland China mobile number")
    phone = match.group(1)
    template = config.templates.get(body.template)
    if template is None:
        return _error(400, "unknown_template", f"no template {body.template!r}")
    params = {k: str(v) for k, v in body.params.items()}
    wanted = _placeholders(template)
    if set(params) != wanted:
        return _error(
            400, "invalid_params", f"template {body.template!r} takes exactly {sorted(wanted)}"
        )
    now = state.clock()
    if config.per_phone_per_minute is not None:
        window = int(now // 60)
        seen_window, count = state.windows.get(phone, (window, 0))
        count = count if seen_window == window else 0
        if count >= config.per_phone_per_minute:
            retry = str(max(1, int((window + 1) * 60 - now)))
            return _error(
                429,
                "rate_limited",
                "too many messages to this number",
                headers={"Retry-After": retry},
            )
        state.windows[phone] = (window, count + 1)
    sms = SentSms(
        message_id=uuid.uuid4().hex,
        phone=phone,
        template=body.template,
        params=params,
        text=template.format_map(params),
        submitted_at=now,
    )
    state.messages[sms.message_id] = sms
    if config.auto_deliver:
        state.settle(sms, "delivered")
    return web.json_response({"message_id": sms.message_id, "status": "queued"})


async def _message_status(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _error(401, "unauthorized", f"missing or wrong {API_KEY_HEADER}")
    sms = request.app[SMS_STATE].messages.get(request.match_info["message_id"])
    if sms is None:
        return _error(404, "not_found", "no such message")
    return web.json_response(sms.public())


async def _reports(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _error(401, "unauthorized", f"missing or wrong {API_KEY_HEADER}")
    state = request.app[SMS_STATE]
    reports, state.pending_reports = state.pending_reports, []
    return web.json_response({"reports": reports})


async def _control_messages(request: web.Request) -> web.Response:
    phone = request.query.get("phone")
    if phone is not None:
        match = _MOBILE.fullmatch(phone.strip())
        phone = match.group(1) if match else phone
    messages = [
        m.control_view()
        for m in request.app[SMS_STATE].messages.values()
        if phone is None or m.phone == phone
    ]
    return web.json_response(
        {"messages": messages, "send_attempts": request.app[SMS_STATE].send_attempts}
    )


async def _control_fail(request: web.Request) -> web.Response:
    try:
        body = await _parse(request, _FailBody)
    except _ParseError as exc:
        return exc.response
    state = request.app[SMS_STATE]
    state.failures_left, state.failure_status = body.count, body.status
    return web.json_response({"failures_left": state.failures_left, "status": body.status})


async def _control_deliver(request: web.Request) -> web.Response:
    try:
        body = await _parse(request, _DeliverBody)
    except _ParseError as exc:
        return exc.response
    state = request.app[SMS_STATE]
    sms = state.messages.get(body.message_id)
    if sms is None:
        return _error(404, "not_found", "no such message")
    if sms.status != "queued":
        return _error(409, "already_settled", f"message is already {sms.status}")
    state.settle(sms, body.status, body.error_code)
    return web.json_response(sms.control_view())


async def _control_reset(request: web.Request) -> web.Response:
    # Mutated in place: replacing an AppKey value on a running app is deprecated in aiohttp.
    request.app[SMS_STATE].reset()
    return web.json_response({"reset": True})


def create_fake_sms_app(
    config: FakeSmsConfig | None = None, *, clock: Callable[[], float] | None = None
) -> web.Application:
    """The gateway as an aiohttp app (standalone, or mounted by the fake WeChat app at /sms/).

    ``clock`` is the fallback when ``config.clock`` is None (the mounting app passes its own).
    """
    config = config or FakeSmsConfig()
    app = web.Application()
    app[SMS_CONFIG] = config
    app[SMS_STATE] = FakeSmsState(clock=config.clock or clock or time.time)
    app.router.add_post("/send", _send)
    app.router.add_get("/messages/{message_id}", _message_status)
    app.router.add_get("/reports", _reports)
    if config.control:
        app.router.add_get("/__control/messages", _control_messages)
        app.router.add_post("/__control/fail", _control_fail)
        app.router.add_post("/__control/deliver", _control_deliver)
        app.router.add_post("/__control/reset", _control_reset)
    return app
