"""The WeChat server API as the backend uses it (DESIGN §4), over the app's shared HTTP session.

WeChat answers errors as HTTP 200 with ``{errcode, errmsg}``; ``errmsg`` carries a request id that
changes every call, so only ``errcode`` is matched. Request URLs carry the app secret, login codes
or the access token in their query string (WeChat's design), so neither URLs nor exception texts
that may contain them are ever logged; only the API name and the error class or code are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from backend.errors import (
    AppError,
    BadRequest,
    Forbidden,
    ServiceUnavailable,
    TooManyRequests,
    UpstreamError,
)
from backend.settings import Settings

log = logging.getLogger("mobile_court.identity.wechat")

# Refresh the cached access token this long before WeChat says it expires.
TOKEN_REFRESH_MARGIN_S = 300
BUSY_RETRY_DELAY_S = 0.2
RETRY_AFTER_UNAVAILABLE_S = 5

ERR_BUSY = -1
ERR_INVALID_TOKEN = 40001
ERR_EXPIRED_TOKEN = 42001
ERR_INVALID_CODE = 40029
ERR_CODE_USED = 40163
ERR_MINUTE_QUOTA = 45011
ERR_RISKY_USER = 40226
ERR_SUBSCRIBE_NO_GRANT = 43101
_TOKEN_ERRORS = frozenset({ERR_INVALID_TOKEN, ERR_EXPIRED_TOKEN})
_CODE_ERRORS = frozenset({ERR_INVALID_CODE, ERR_CODE_USED, 41008})


class WeChatApiError(UpstreamError):
    """WeChat refused a call for a reason the caller may want to act on (``errcode``)."""

    def __init__(self, api: str, errcode: int, detail: str, *, code: str = "wechat_error") -> None:
        super().__init__(detail, code=code, extra={"wechat_errcode": errcode})
        self.api = api
        self.errcode = errcode


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None
    # Never leaves the server; repr hides it so it cannot reach a log by accident.
    session_key: str = field(repr=False)


@dataclass(frozen=True)
class WeChatPhone:
    phone_number: str = field(repr=False)
    pure_phone_number: str = field(repr=False)
    country_code: str
    watermark_appid: str | None


def _unavailable(api: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        "WeChat is not answering; try again shortly / 微信服务暂不可用，请稍后重试",
        code="wechat_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )


def _errcode(data: Mapping[str, Any]) -> int:
    raw = data.get("errcode", 0)
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return -999


class WeChatClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        busy_retry_delay_s: float = BUSY_RETRY_DELAY_S,
    ) -> None:
        self._session = session
        self._base = settings.wechat_base_url.rstrip("/")
        self.appid = settings.wechat_appid
        self._secret = settings.wechat_secret
        self._clock = clock
        self._busy_retry_delay_s = busy_retry_delay_s
        self._token: str | None = None
        self._token_valid_until = 0.0
        # One refresh at a time: concurrent callers wait for it and share its result.
        self._token_lock = asyncio.Lock()

    # ------------------------------------------------------------------ transport

    async def _call(
        self,
        api: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            async with self._session.request(
                method, self._base + path, params=params, json=body
            ) as response:
                raw = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("wechat %s unreachable: %s", api, type(exc).__name__)
            raise _unavailable(api) from None
        if status >= 500:
            log.warning("wechat %s answered HTTP %d", api, status)
            raise _unavailable(api)
        if status != 200:
            log.error("wechat %s answered HTTP %d", api, status)
            raise UpstreamError(
                "WeChat refused the request / 微信服务拒绝了请求", code="wechat_error"
            )
        try:
            # jscode2session answers text/plain: parse whatever the content type says.
            data = json.loads(raw)
        except ValueError:
            log.error("wechat %s answered a body that is not JSON", api)
            raise UpstreamError(
                "WeChat answered something unexpected / 微信服务返回了无法识别的内容",
                code="wechat_bad_response",
            ) from None
        if not isinstance(data, dict):
            raise UpstreamError(
                "WeChat answered something unexpected / 微信服务返回了无法识别的内容",
                code="wechat_bad_response",
            )
        return data

    def _unexpected(self, api: str, errcode: int) -> WeChatApiError:
        log.error("wechat %s failed with errcode %d", api, errcode)
        return WeChatApiError(
            api, errcode, f"WeChat refused the request (errcode {errcode}) / 微信服务拒绝了请求"
        )

    # ------------------------------------------------------------------ login

    async def code_to_session(self, code: str) -> WeChatSession:
        """Exchange a ``wx.login`` code; a busy answer (-1) is retried once."""
        params = {
            "appid": self.appid,
            "secret": self._secret.get_secret_value(),
            "js_code": code,
            "grant_type": "authorization_code",
        }
        data = await self._call("jscode2session", "GET", "/sns/jscode2session", params=params)
        if _errcode(data) == ERR_BUSY:
            await asyncio.sleep(self._busy_retry_delay_s)
            data = await self._call("jscode2session", "GET", "/sns/jscode2session", params=params)
        errcode = _errcode(data)
        if errcode == 0:
            openid, session_key = data.get("openid"), data.get("session_key")
            unionid = data.get("unionid")
            if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
                raise UpstreamError(
                    "WeChat answered without an openid / 微信服务返回的数据不完整",
                    code="wechat_bad_response",
                )
            return WeChatSession(
                openid=openid,
                unionid=unionid if isinstance(unionid, str) and unionid else None,
                session_key=session_key,
            )
        raise self._login_error(errcode)

    def _login_error(self, errcode: int) -> AppError:
        if errcode in _CODE_ERRORS:
            return BadRequest(
                "the login code is invalid, expired or already used; call wx.login again / "
                "登录凭证无效、已过期或已使用，请重新登录",
                code="wechat_code_invalid",
            )
        if errcode == ERR_MINUTE_QUOTA:
            retry = 60 - int(time.time()) % 60
            return TooManyRequests(
                "WeChat is limiting sign-ins right now; try again in a minute / "
                "微信登录请求过于频繁，请稍后重试",
                retry_after_s=retry,
                code="wechat_rate_limited",
            )
        if errcode == ERR_RISKY_USER:
            return Forbidden(
                "WeChat has flagged this account as high-risk and refused the sign-in / "
                "微信判定该账号存在风险，已拒绝登录",
                code="wechat_risky_user",
            )
        if errcode == ERR_BUSY:
            return ServiceUnavailable(
                "WeChat is busy; try again shortly / 微信服务繁忙，请稍后重试",
                code="wechat_busy",
                headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
            )
        return self._unexpected("jscode2session", errcode)

    # ------------------------------------------------------------------ access token

    async def access_token(self) -> str:
        """The app's access token, fetched through ``stable_token`` and cached until shortly
        before it expires. ``stable_token`` (not ``token``) so that several server processes
        each caching their own copy do not invalidate one another."""
        token = self._token
        if token is not None and self._clock() < self._token_valid_until:
            return token
        async with self._token_lock:
            token = self._token
            if token is not None and self._clock() < self._token_valid_until:
                return token  # refreshed by whoever held the lock before us
            data = await self._call(
                "stable_token",
                "POST",
                "/cgi-bin/stable_token",
                body={
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self._secret.get_secret_value(),
                },
            )
            errcode = _errcode(data)
            if errcode == ERR_BUSY:
                raise _unavailable("stable_token")
            token, expires_in = data.get("access_token"), data.get("expires_in")
            if errcode or not isinstance(token, str) or not isinstance(expires_in, int):
                raise self._unexpected("stable_token", errcode)
            margin = min(TOKEN_REFRESH_MARGIN_S, expires_in / 2)
            self._token, self._token_valid_until = token, self._clock() + expires_in - margin
            return token

    def _forget_token(self, token: str) -> None:
        # Only if still current: another caller may already have fetched a fresh one.
        if self._token == token:
            self._token = None

    async def _call_with_token(
        self, api: str, path: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """POST with the access token; refetch it once on 40001/42001, retry once on -1."""
        token_retried = busy_retried = False
        while True:
            token = await self.access_token()
            data = await self._call(api, "POST", path, params={"access_token": token}, body=body)
            errcode = _errcode(data)
            if errcode in _TOKEN_ERRORS and not token_retried:
                token_retried = True
                self._forget_token(token)
                continue
            if errcode == ERR_BUSY and not busy_retried:
                busy_retried = True
                await asyncio.sleep(self._busy_retry_delay_s)
                continue
            if errcode == ERR_BUSY:
                raise _unavailable(api)
            return data

    # ------------------------------------------------------------------ phone and messages

    async def phone_number(self, code: str) -> WeChatPhone:
        """The phone number behind a ``getPhoneNumber`` button code (single use)."""
        data = await self._call_with_token(
            "getuserphonenumber", "/wxa/business/getuserphonenumber", {"code": code}
        )
        errcode = _errcode(data)
        if errcode in _CODE_ERRORS:
            raise BadRequest(
                "the phone code is invalid, expired or already used; ask again / "
                "手机号授权凭证无效、已过期或已使用，请重新授权",
                code="wechat_code_invalid",
            )
        info = data.get("phone_info")
        if errcode or not isinstance(info, dict):
            raise self._unexpected("getuserphonenumber", errcode)
        pure, country = info.get("purePhoneNumber"), info.get("countryCode")
        watermark = info.get("watermark")
        appid = watermark.get("appid") if isinstance(watermark, dict) else None
        if not isinstance(pure, str) or not pure or not isinstance(country, str):
            raise UpstreamError(
                "WeChat answered without a phone number / 微信服务返回的数据不完整",
                code="wechat_bad_response",
            )
        return WeChatPhone(
            phone_number=str(info.get("phoneNumber") or pure),
            pure_phone_number=pure,
            country_code=country,
            watermark_appid=appid if isinstance(appid, str) else None,
        )

    async def send_subscribe_message(
        self,
        touser: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        page: str | None = None,
        miniprogram_state: str = "formal",
        lang: str = "zh_CN",
    ) -> int:
        """Send one subscribe message (a courtesy notice, never legal service); the msgid.

        Raises :class:`WeChatApiError` with ``errcode`` 43101 (code ``wechat_no_grant``) when
        the user has no grant left for the template.
        """
        body: dict[str, Any] = {
            "touser": touser,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": miniprogram_state,
            "lang": lang,
        }
        if page is not None:
            body["page"] = page
        result = await self._call_with_token(
            "subscribe_send", "/cgi-bin/message/subscribe/send", body
        )
        errcode = _errcode(result)
        if errcode == ERR_SUBSCRIBE_NO_GRANT:
            raise WeChatApiError(
                "subscribe_send",
                errcode,
                "the user has not allowed (another) message of this kind / 用户未授权接收此类消息",
                code="wechat_no_grant",
            )
        msgid = result.get("msgid")
        if errcode or not isinstance(msgid, int):
            raise self._unexpected("subscribe_send", errcode)
        return msgid
