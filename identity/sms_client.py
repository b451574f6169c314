"""The SMS gateway: template messages to mainland mobile numbers (``{sms_base_url}/send``).

Phone numbers and message parameters (one-time codes) are never logged; errors name only the
gateway's answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

from backend.errors import ServiceUnavailable, TooManyRequests, UpstreamError, ValidationFailed
from backend.settings import Settings

log = logging.getLogger("mobile_court.identity.sms")

API_KEY_HEADER = "X-Api-Key"


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the SMS service is not answering; try again shortly / 短信服务暂不可用，请稍后重试",
        code="sms_unavailable",
        headers={"Retry-After": "10"},
    )


class SmsClient:
    def __init__(self, session: aiohttp.ClientSession, settings: Settings) -> None:
        self._session = session
        self.settings = settings
        self._base = settings.sms_base_url.rstrip("/")
        self._api_key = settings.sms_api_key

    async def message_status(self, message_id: str) -> dict[str, Any]:
        """The gateway's delivery report of one message (``GET /messages/{id}``): ``status``
        queued / delivered / failed, ``delivered_at`` (epoch seconds), ``error_code``."""
        try:
            async with self._session.get(
                f"{self._base}/messages/{quote(message_id, safe='')}",
                headers={API_KEY_HEADER: self._api_key.get_secret_value()},
            ) as response:
                status, raw = response.status, await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("sms gateway unreachable: %s", type(exc).__name__)
            raise _unavailable() from None
        if status != 200:
            log.warning("sms gateway report answered HTTP %d", status)
            raise _unavailable()
        try:
            data = json.loads(raw)
        except ValueError:
            raise _unavailable() from None
        if not isinstance(data, dict):
            raise _unavailable()
        return data

    async def send(self, phone: str, template: str, params: Mapping[str, str | int]) -> str:
        """Queue one message; its gateway message id."""
        try:
            async with self._session.post(
                self._base + "/send",
                json={"phone": phone, "template": template, "params": dict(params)},
                headers={API_KEY_HEADER: self._api_key.get_secret_value()},
            ) as response:
                status, raw = response.status, await response.read()
                retry_after = response.headers.get("Retry-After", "60")
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("sms gateway unreachable: %s", type(exc).__name__)
            raise _unavailable() from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        error = data.get("error") if isinstance(data, dict) else None
        if status == 200 and isinstance(data, dict) and isinstance(data.get("message_id"), str):
            return str(data["message_id"])
        if status == 429:
            seconds = int(retry_after) if retry_after.isdigit() else 60
            raise TooManyRequests(
                "too many messages to this number; try again later / 短信发送过于频繁，请稍后重试",
                retry_after_s=seconds,
                code="sms_rate_limited",
            )
        if status == 400 and error == "invalid_phone":
            raise ValidationFailed(
                "not a mainland China mobile number / 不是有效的中国大陆手机号码",
                code="invalid_phone",
            )
        if status >= 500:
            log.warning("sms gateway answered HTTP %d", status)
            raise _unavailable()
        log.error("sms gateway refused a message: HTTP %d %s", status, error)
        raise UpstreamError(
            "the SMS service refused the message / 短信服务拒绝发送", code="sms_error"
        )
