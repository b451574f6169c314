"""Fake WeChat platform: the server APIs the backend calls, with WeChat's shapes and error codes.

WeChat APIs (errors are HTTP 200 with ``{errcode, errmsg}``; ``errmsg`` ends in ``, rid: …`` as
the real service's does, so match on ``errcode`` only):

- ``GET /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code`` ->
  ``{openid, session_key, unionid?}``. 41002/40013 appid missing/invalid, 41004/40125 secret
  missing/invalid, 40002 grant_type, 45011 per-appid minute quota, 41008 no code, 40029 unknown,
  expired or foreign code, 40163 code already used (what the real service answers on reuse),
  40226 high-risk user, -1 system busy. Served as ``text/plain`` by default, as WeChat does;
  clients must parse the body whatever the content type.
- ``POST /cgi-bin/stable_token {grant_type: client_credential, appid, secret, force_refresh?}``
  -> ``{access_token, expires_in}``: the current token and its remaining lifetime (7200 s when
  new); ``force_refresh`` issues a new token and invalidates the old one. 40002/40013/40125.
- ``POST /wxa/business/getuserphonenumber?access_token=… {code}`` ->
  ``{errcode: 0, errmsg: "ok", phone_info: {…, watermark: {timestamp, appid}}}``. Token errors
  everywhere: 41001 missing, 40001 unknown or superseded, 42001 expired. 40029 unknown or used code.
- ``POST /cgi-bin/message/subscribe/send?access_token=… {touser, template_id, page?, data,
  miniprogram_state?, lang?}`` -> ``{errcode: 0, errmsg: "ok", msgid}``. 40003 unknown openid,
  40037 unknown template, 47003 bad data/state/lang, 43101 no grant left. 47001 body not JSON.

Control API for tests (``/__control/``, only when ``FakeWeChatConfig.control``), JSON in and out,
400 ``{error, detail}`` on bad input:

- ``POST /__control/login-code {appid?, openid?, unionid?, with_unionid?, behaviour?, failures?}``
  -> ``{code, appid, openid, unionid}``: what ``wx.login`` would hand the mini-program.
  ``behaviour``: ``ok`` | ``risky`` (40226, code consumed) | ``busy`` (-1 for the first
  ``failures`` exchanges, default 1, without consuming the code; then it works).
- ``POST /__control/phone-code {phone, appid?, country_code?, watermark_appid?}`` -> ``{code}``;
  ``watermark_appid`` forges the watermark the backend must check.
- ``POST /__control/subscribe-grant {openid, template_id, count?, appid?}`` -> ``{remaining}``.
- ``POST /__control/templates {template_id, keywords}`` registers a subscribe template.
- ``GET /__control/messages?touser=`` -> ``{messages: [...]}`` delivered subscribe messages.
- ``POST /__control/faults {api, count?, errcode?, errmsg?, http_status?}``: the next ``count``
  calls of ``api`` (jscode2session | stable_token | getuserphonenumber | subscribe_send) answer
  that WeChat error (default -1 system busy) or that bare HTTP status.
- ``POST /__control/revoke-tokens {appid?}`` invalidates access tokens (next use: 40001).
- ``POST /__control/reset`` forgets all state.

The SMS gateway (``miniapp_stub.sms``) is mounted under ``/sms/`` unless ``config.sms`` is None.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import itertools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from miniapp_stub.cors import control_cors_middleware
from miniapp_stub.sms import DEFAULT_SMS_API_KEY, FakeSmsConfig, create_fake_sms_app

__all__ = [
    "DEFAULT_APPID",
    "DEFAULT_PORT",
    "DEFAULT_SECRET",
    "DeliveredMessage",
    "FakeWeChatConfig",
    "FakeWeChatState",
    "ManualClock",
    "MiniProgram",
    "configure_parser",
    "create_fake_wechat_app",
    "main",
    "run_fake_wechat",
    "run_from_args",
]

DEFAULT_APPID = "wxf00dcafe0000c0de"
DEFAULT_SECRET = "fa4e5ec2e7000000fa4e5ec2e7000000"
DEFAULT_PORT = 8930

Clock = Callable[[], float]
Behaviour = Literal["ok", "risky", "busy"]
ApiName = Literal["jscode2session", "stable_token", "getuserphonenumber", "subscribe_send"]


class ManualClock:
    """A settable clock for tests: ``clock.advance(301)`` instead of sleeping."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class MiniProgram:
    appid: str
    secret: str


@dataclass(frozen=True)
class FakeWeChatConfig:
    apps: tuple[MiniProgram, ...] = (MiniProgram(DEFAULT_APPID, DEFAULT_SECRET),)
    # subscribe template id -> its keywords (e.g. "thing1", "time2"); more via /__control/templates
    templates: Mapping[str, Sequence[str]] = field(default_factory=dict)
    code_ttl_seconds: float = 300.0
    access_token_ttl_seconds: int = 7200
    login_quota_per_minute: int = 1000
    clock: Clock = time.time
    jscode2session_content_type: str = "text/plain"
    sms: FakeSmsConfig | None = field(default_factory=FakeSmsConfig)
    control: bool = True

    def __post_init__(self) -> None:
        if not self.apps:
            raise ValueError("at least one mini-program is required")

    @property
    def default_appid(self) -> str:
        return self.apps[0].appid

    def secret_for(self, appid: str) -> str | None:
        return next((a.secret for a in self.apps if a.appid == appid), None)


@dataclass
class _LoginCode:
    appid: str
    openid: str
    unionid: str | None
    issued_at: float
    behaviour: Behaviour
    failures_left: int
    used: bool = False


@dataclass
class _PhoneCode:
    appid: str
    pure_phone: str
    country_code: str
    watermark_appid: str
    issued_at: float
    used: bool = False


@dataclass
class _AccessToken:
    token: str
    appid: str
    expires_at: float


@dataclass(frozen=True)
class _Fault:
    errcode: int
    errmsg: str
    http_status: int | None


@dataclass
class DeliveredMessage:
    msgid: int
    appid: str
    touser: str
    template_id: str
    page: str | None
    data: dict[str, Any]
    miniprogram_state: str
    lang: str
    sent_at: float

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FakeWeChatState:
    templates: dict[str, tuple[str, ...]]
    login_codes: dict[str, _LoginCode] = field(default_factory=dict)
    phone_codes: dict[str, _PhoneCode] = field(default_factory=dict)
    tokens: dict[str, _AccessToken] = field(default_factory=dict)
    current_token: dict[str, _AccessToken] = field(default_factory=dict)
    users: dict[str, dict[str, str | None]] = field(default_factory=dict)  # appid→openid→unionid
    grants: dict[tuple[str, str, str], int] = field(default_factory=dict)
    messages: list[DeliveredMessage] = field(default_factory=list)
    login_windows: dict[str, tuple[int, int]] = field(default_factory=dict)
    faults: dict[str, list[_Fault]] = field(default_factory=dict)
    msgids: itertools.count[int] = field(default_factory=lambda: itertools.count(2_000_000_001))

    def reset(self, templates: Mapping[str, Sequence[str]]) -> None:
        fresh = FakeWeChatState(templates={k: tuple(v) for k, v in templates.items()})
        self.__dict__.update(fresh.__dict__)


WECHAT_CONFIG = web.AppKey("fake_wechat_config", FakeWeChatConfig)
WECHAT_STATE = web.AppKey("fake_wechat_state", FakeWeChatState)


def _opaque_id() -> str:
    # Looks like a real openid/unionid: "o" + 27 URL-safe characters.
    return "o" + secrets.token_urlsafe(21)[:27]


# --------------------------------------------------------------------------- WeChat API


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ApiHandler = Callable[[web.Request], Awaitable[dict[str, Any]]]


def _rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def _api(name: ApiName) -> Callable[[ApiHandler], Handler]:
    """Runs injected faults, then the handler; renders WeChatError as WeChat does."""

    def wrap(handler: ApiHandler) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            config, state = request.app[WECHAT_CONFIG], request.app[WECHAT_STATE]
            ctype = (
                config.jscode2session_content_type
                if name == "jscode2session"
                else "application/json"
            )
            queued = state.faults.get(name)
            try:
                if queued:
                    fault = queued.pop(0)
                    if fault.http_status is not None:
                        return web.Response(status=fault.http_status, text="fault injected")
                    raise WeChatError(fault.errcode, fault.errmsg)
                payload = await handler(request)
            except WeChatError as exc:
                payload = {"errcode": exc.errcode, "errmsg": f"{exc.errmsg}, rid: {_rid()}"}
            return web.Response(text=json.dumps(payload, ensure_ascii=False), content_type=ctype)

        return run

    return wrap


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise WeChatError(47001, "data format error") from None
    if not isinstance(body, dict):
        raise WeChatError(47001, "data format error")
    return body


def _check_app(config: FakeWeChatConfig, appid: Any, secret: Any) -> str:
    if not appid:
        raise WeChatError(41002, "appid missing")
    expected = config.secret_for(appid) if isinstance(appid, str) else None
    if expected is None:
        raise WeChatError(40013, "invalid appid")
    if not secret:
        raise WeChatError(41004, "appsecret missing")
    if not isinstance(secret, str) or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise WeChatError(40125, "invalid appsecret")
    return str(appid)


def _token_appid(request: web.Request) -> str:
    """The appid behind ``?access_token=``, or the WeChat error for a bad token."""
    token = request.query.get("access_token")
    if not token:
        raise WeChatError(41001, "access_token missing")
    record = request.app[WECHAT_STATE].tokens.get(token)
    if record is None:
        raise WeChatError(40001, "invalid credential, access_token is invalid or not latest")
    if record.expires_at <= request.app[WECHAT_CONFIG].clock():
        raise WeChatError(42001, "access_token expired")
    return record.appid


@_api("jscode2session")
async def _jscode2session(request: web.Request) -> dict[str, Any]:
    config, state = request.app[WECHAT_CONFIG], request.app[WECHAT_STATE]
    query = request.query
    appid = _check_app(config, query.get("appid"), query.get("secret"))
    if query.get("grant_type") != "authorization_code":
        raise WeChatError(40002, "invalid grant_type")
    now = config.clock()
    window = int(now // 60)
    seen_window, count = state.login_windows.get(appid, (window, 0))
    count = count if seen_window == window else 0
    state.login_windows[appid] = (window, count + 1)
    if count >= config.login_quota_per_minute:
        raise WeChatError(45011, "api minute-quota reach limit  mustslower  retry next minute")
    js_code = query.get("js_code")
    if not js_code:
        raise WeChatError(41008, "missing code")
    login = state.login_codes.get(js_code)
    if login is None or login.appid != appid or now - login.issued_at > config.code_ttl_seconds:
        raise WeChatError(40029, "invalid code")
    if login.used:
        raise WeChatError(40163, "code been used")
    if login.behaviour == "busy" and login.failures_left > 0:
        login.failures_left -= 1
        raise WeChatError(-1, "system error")
    login.used = True
    if login.behaviour == "risky":
        raise WeChatError(40226, "high risk user")
    state.users.setdefault(appid, {})[login.openid] = login.unionid
    result: dict[str, Any] = {
        "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
        "openid": login.openid,
    }
    if login.unionid is not None:
        result["unionid"] = login.unionid
    return result


@_api("stable_token")
async def _stable_token(request: web.Request) -> dict[str, Any]:
    config, state = request.app[WECHAT_CONFIG], request.app[WECHAT_STATE]
    body = await _json_object(request)
    if body.get("grant_type") != "client_credential":
        raise WeChatError(40002, "invalid grant_type")
    appid = _check_app(config, body.get("appid"), body.get("secret"))
    force = body.get("force_refresh", False)
    if not isinstance(force, bool):
        raise WeChatError(47001, "data format error")
    now = config.clock()
    current = state.current_token.get(appid)
    if current is not None and current.expires_at > now and not force:
        return {"access_token": current.token, "expires_in": int(current.expires_at - now)}
    if current is not None:
        state.tokens.pop(current.token, None)
    new = _AccessToken(
        token=secrets.token_urlsafe(96),
        appid=appid,
        expires_at=now + config.access_token_ttl_seconds,
    )
    state.tokens[new.token] = new
    state.current_token[appid] = new
    return {"access_token": new.token, "expires_in": config.access_token_ttl_seconds}


@_api("getuserphonenumber")
async def _getuserphonenumber(request: web.Request) -> dict[str, Any]:
    config, state = request.app[WECHAT_CONFIG], request.app[WECHAT_STATE]
    appid = _token_appid(request)
    body = await _json_object(request)
    code = body.get("code")
    if not code or not isinstance(code, str):
        raise WeChatError(41008, "missing code")
    now = config.clock()
    record = state.phone_codes.get(code)
    if (
        record is None
        or record.used
        or record.appid != appid
        or now - record.issued_at > config.code_ttl_seconds
    ):
        raise WeChatError(40029, "invalid code")
    record.used = True
    full = (
        record.pure_phone
        if record.country_code == "86"
        else f"+{record.country_code}{record.pure_phone}"
    )
    return {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": full,
            "purePhoneNumber": record.pure_phone,
            "countryCode": record.country_code,
            "watermark": {"timestamp": int(now), "appid": record.watermark_appid},
        },
    }


# Subscribe-message value rules by keyword type (WeChat documents one per type; the keyword is
# the type plus a number, e.g. "thing1"). Each returns True when the value is acceptable.
_VALUE_RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: len(v) <= 20,
    "number": lambda v: len(v) <= 32 and re.fullmatch(r"[0-9]+(\.[0-9]+)?", v) is not None,
    "letter": lambda v: len(v) <= 32 and re.fullmatch(r"[A-Za-z]+", v) is not None,
    "symbol": lambda v: len(v) <= 5,
    "character_string": lambda v: len(v) <= 32 and v.isascii(),
    "time": lambda v: len(v) <= 40,
    "date": lambda v: len(v) <= 40,
    "amount": lambda v: re.fullmatch(r"[¥$€£]?[0-9]{1,12}(\.[0-9]{1,2})?元?", v) is not None,
    "phone_number": lambda v: len(v) <= 17 and re.fullmatch(r"[0-9+\-() ]+", v) is not None,
    "car_number": lambda v: len(v) <= 8,
    "name": lambda v: len(v) <= (20 if v.isascii() else 10),
    "phrase": lambda v: len(v) <= 5 and not v.isascii(),
}


def _check_data(keywords: Sequence[str], data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise WeChatError(47003, "argument invalid! data is not an object")
    for key in data:
        if key not in keywords:
            raise WeChatError(47003, f"argument invalid! data.{key} is not in the template")
    for keyword in keywords:
        entry = data.get(keyword)
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value:
            raise WeChatError(47003, f"argument invalid! data.{keyword}.value is empty")
        rule = _VALUE_RULES.get(keyword.rstrip("0123456789"), _VALUE_RULES["thing"])
        if not rule(value):
            raise WeChatError(47003, f"argument invalid! data.{keyword}.value invalid")
    return data


@_api("subscribe_send")
async def _subscribe_send(request: web.Request) -> dict[str, Any]:
    config, state = request.app[WECHAT_CONFIG], request.app[WECHAT_STATE]
    appid = _token_appid(request)
    body = await _json_object(request)
    touser = body.get("touser")
    if not isinstance(touser, str) or touser not in state.users.get(appid, {}):
        raise WeChatError(40003, "invalid openid")
    template_id = body.get("template_id")
    keywords = state.templates.get(template_id) if isinstance(template_id, str) else None
    if keywords is None or not isinstance(template_id, str):
        raise WeChatError(40037, "invalid template_id")
    data = _check_data(keywords, body.get("data"))
    page = body.get("page")
    if page is not None and not isinstance(page, str):
        raise WeChatError(47003, "argument invalid! page")
    state_name = body.get("miniprogram_state", "formal")
    if state_name not in ("developer", "trial", "formal"):
        raise WeChatError(47003, "argument invalid! miniprogram_state")
    lang = body.get("lang", "zh_CN")
    if lang not in ("zh_CN", "en_US", "zh_HK", "zh_TW"):
        raise WeChatError(47003, "argument invalid! lang")
    grant_key = (appid, touser, template_id)
    if state.grants.get(grant_key, 0) <= 0:
        raise WeChatError(43101, "user refuse to accept the msg")
    state.grants[grant_key] -= 1
    message = DeliveredMessage(
        msgid=next(state.msgids),
        appid=appid,
        touser=touser,
        template_id=template_id,
        page=page,
        data=data,
        miniprogram_state=state_name,
        lang=lang,
        sent_at=config.clock(),
    )
    state.messages.append(message)
    return {"errcode": 0, "errmsg": "ok", "msgid": message.msgid}


# --------------------------------------------------------------------------- control API

_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _LoginCodeBody(_Strict):
    appid: str | None = None
    openid: str | None = None
    unionid: str | None = None
    with_unionid: bool = True
    behaviour: Behaviour = "ok"
    failures: int = Field(1, ge=1)


class _PhoneCodeBody(_Strict):
    phone: str = Field(pattern=r"^\+?[0-9]{5,20}$")
    appid: str | None = None
    country_code: str = Field("86", pattern=r"^[0-9]{1,4}$")
    watermark_appid: str | None = None


class _GrantBody(_Strict):
    openid: str
    template_id: str
    count: int = Field(1, ge=1)
    appid: str | None = None


class _TemplateBody(_Strict):
    template_id: str = Field(min_length=1)
    keywords: list[str] = Field(min_length=1)


class _FaultBody(_Strict):
    api: ApiName
    count: int = Field(1, ge=1)
    errcode: int = -1
    errmsg: str = "system error"
    http_status: int | None = Field(None, ge=400, le=599)


class _RevokeBody(_Strict):
    appid: str | None = None


def _control_error(error: str, detail: Any) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": error, "detail": detail}), content_type="application/json"
    )


async def _control_body(request: web.Request, model: type[_M]) -> _M:
    raw: Any = {}
    text = await request.read()
    if text.strip():
        try:
            raw = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise _control_error("invalid_json", "body is not JSON") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        detail = json.loads(exc.json(include_url=False, include_context=False))
        raise _control_error("invalid_request", detail) from None


def _control_appid(request: web.Request, appid: str | None) -> str:
    config = request.app[WECHAT_CONFIG]
    chosen = appid or config.default_appid
    if config.secret_for(chosen) is None:
        raise _control_error("unknown_appid", chosen)
    return chosen


async def _control_login_code(request: web.Request) -> web.Response:
    body = await _control_body(request, _LoginCodeBody)
    state = request.app[WECHAT_STATE]
    appid = _control_appid(request, body.appid)
    users = state.users.setdefault(appid, {})
    openid = body.openid or _opaque_id()
    unionid = body.unionid
    if unionid is None:
        unionid = users.get(openid) if openid in users else None
        if unionid is None and body.with_unionid:
            unionid = _opaque_id()
    # wx.login makes the user known to the platform even before the backend exchanges the code.
    users[openid] = unionid
    code = secrets.token_hex(16)
    state.login_codes[code] = _LoginCode(
        appid=appid,
        openid=openid,
        unionid=unionid,
        issued_at=request.app[WECHAT_CONFIG].clock(),
        behaviour=body.behaviour,
        failures_left=body.failures if body.behaviour == "busy" else 0,
    )
    return web.json_response({"code": code, "appid": appid, "openid": openid, "unionid": unionid})


async def _control_phone_code(request: web.Request) -> web.Response:
    body = await _control_body(request, _PhoneCodeBody)
    appid = _control_appid(request, body.appid)
    pure = body.phone
    if pure.startswith("+"):
        # "+8613800138000": the country code must be the one given; store the national part.
        if not pure.startswith("+" + body.country_code):
            raise _control_error("invalid_request", "phone prefix does not match country_code")
        pure = pure[1 + len(body.country_code) :]
    code = secrets.token_hex(32)
    request.app[WECHAT_STATE].phone_codes[code] = _PhoneCode(
        appid=appid,
        pure_phone=pure,
        country_code=body.country_code,
        watermark_appid=body.watermark_appid or appid,
        issued_at=request.app[WECHAT_CONFIG].clock(),
    )
    return web.json_response({"code": code})


async def _control_grant(request: web.Request) -> web.Response:
    body = await _control_body(request, _GrantBody)
    state = request.app[WECHAT_STATE]
    appid = _control_appid(request, body.appid)
    state.users.setdefault(appid, {}).setdefault(body.openid, None)
    key = (appid, body.openid, body.template_id)
    state.grants[key] = state.grants.get(key, 0) + body.count
    return web.json_response(
        {"openid": body.openid, "template_id": body.template_id, "remaining": state.grants[key]}
    )


async def _control_templates(request: web.Request) -> web.Response:
    body = await _control_body(request, _TemplateBody)
    request.app[WECHAT_STATE].templates[body.template_id] = tuple(body.keywords)
    return web.json_response({"template_id": body.template_id, "keywords": body.keywords})


async def _control_messages(request: web.Request) -> web.Response:
    touser = request.query.get("touser")
    messages = [
        m.as_json()
        for m in request.app[WECHAT_STATE].messages
        if touser is None or m.touser == touser
    ]
    return web.json_response({"messages": messages})


async def _control_faults(request: web.Request) -> web.Response:
    body = await _control_body(request, _FaultBody)
    fault = _Fault(errcode=body.errcode, errmsg=body.errmsg, http_status=body.http_status)
    queue = request.app[WECHAT_STATE].faults.setdefault(body.api, [])
    queue.extend([fault] * body.count)
    return web.json_response({"api": body.api, "queued": len(queue)})


async def _control_revoke_tokens(request: web.Request) -> web.Response:
    body = await _control_body(request, _RevokeBody)
    state = request.app[WECHAT_STATE]
    appid = _control_appid(request, body.appid)
    revoked = [t for t, rec in state.tokens.items() if rec.appid == appid]
    for token in revoked:
        del state.tokens[token]
    state.current_token.pop(appid, None)
    return web.json_response({"revoked": len(revoked)})


async def _control_reset(request: web.Request) -> web.Response:
    request.app[WECHAT_STATE].reset(request.app[WECHAT_CONFIG].templates)
    return web.json_response({"reset": True})


# --------------------------------------------------------------------------- assembly and CLI


def create_fake_wechat_app(config: FakeWeChatConfig | None = None) -> web.Application:
    config = config or FakeWeChatConfig()
    app = web.Application(middlewares=[control_cors_middleware])
    app[WECHAT_CONFIG] = config
    app[WECHAT_STATE] = FakeWeChatState(
        templates={k: tuple(v) for k, v in config.templates.items()}
    )
    app.router.add_get("/sns/jscode2session", _jscode2session)
    app.router.add_post("/cgi-bin/stable_token", _stable_token)
    app.router.add_post("/wxa/business/getuserphonenumber", _getuserphonenumber)
    app.router.add_post("/cgi-bin/message/subscribe/send", _subscribe_send)
    if config.control:
        app.router.add_post("/__control/login-code", _control_login_code)
        app.router.add_post("/__control/phone-code", _control_phone_code)
        app.router.add_post("/__control/subscribe-grant", _control_grant)
        app.router.add_post("/__control/templates", _control_templates)
        app.router.add_get("/__control/messages", _control_messages)
        app.router.add_post("/__control/faults", _control_faults)
        app.router.add_post("/__control/revoke-tokens", _control_revoke_tokens)
        app.router.add_post("/__control/reset", _control_reset)
    if config.sms is not None:
        app.add_subapp("/sms/", create_fake_sms_app(config.sms, clock=config.clock))
    return app


def run_fake_wechat(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: FakeWeChatConfig | None = None
) -> None:
    """Serve the fake platform until interrupted (blocking)."""
    web.run_app(
        create_fake_wechat_app(config),
        host=host,
        port=port,
        print=lambda _: print(f"fake WeChat platform on http://{host}:{port}/", flush=True),
    )


def _app_arg(value: str) -> MiniProgram:
    appid, sep, secret = value.partition(":")
    if not sep or not appid or not secret:
        raise argparse.ArgumentTypeError("expected APPID:SECRET")
    return MiniProgram(appid, secret)


def _template_arg(value: str) -> tuple[str, tuple[str, ...]]:
    template_id, sep, keywords = value.partition("=")
    names = tuple(k for k in keywords.split(",") if k)
    if not sep or not template_id or not names:
        raise argparse.ArgumentTypeError("expected TEMPLATE_ID=keyword1,keyword2")
    return template_id, names


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the fake platform's options to ``parser`` (e.g. a ``fake-wechat`` subcommand)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--app",
        dest="apps",
        action="append",
        type=_app_arg,
        default=[],
        metavar="APPID:SECRET",
        help=f"a mini-program (repeatable; default {DEFAULT_APPID}:{DEFAULT_SECRET})",
    )
    parser.add_argument(
        "--template",
        dest="templates",
        action="append",
        type=_template_arg,
        default=[],
        metavar="ID=KW1,KW2",
        help="a subscribe-message template and its keywords (repeatable)",
    )
    parser.add_argument(
        "--login-quota",
        type=int,
        default=1000,
        help="jscode2session calls per appid per minute before 45011",
    )
    parser.add_argument(
        "--code-ttl", type=float, default=300.0, help="seconds a login or phone code stays valid"
    )
    parser.add_argument(
        "--sms-api-key",
        action="append",
        default=[],
        help=f"accepted SMS gateway key (repeatable; default {DEFAULT_SMS_API_KEY})",
    )
    parser.add_argument("--no-sms", action="store_true", help="do not mount the SMS gateway")
    parser.add_argument(
        "--no-control", action="store_true", help="disable the /__control/ test API"
    )
    return parser


def config_from_args(args: argparse.Namespace) -> FakeWeChatConfig:
    sms = (
        None
        if args.no_sms
        else FakeSmsConfig(
            api_keys=frozenset(args.sms_api_key or [DEFAULT_SMS_API_KEY]),
            control=not args.no_control,
        )
    )
    return FakeWeChatConfig(
        apps=tuple(args.apps) or (MiniProgram(DEFAULT_APPID, DEFAULT_SECRET),),
        templates=dict(args.templates),
        login_quota_per_minute=args.login_quota,
        code_ttl_seconds=args.code_ttl,
        sms=sms,
        control=not args.no_control,
    )


def run_from_args(args: argparse.Namespace) -> int:
    run_fake_wechat(args.host, args.port, config_from_args(args))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = configure_parser(
        argparse.ArgumentParser(
            prog="fake-wechat", description="Fake WeChat platform and SMS gateway for tests"
        )
    )
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
