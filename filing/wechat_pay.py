"""WeChat Pay API v3 (JSAPI) as the backend uses it: orders, the mini-program's payment
parameters, and payment notifications (DESIGN §4).

Trust rules, all enforced here so that callers cannot forget them:

- Every request is signed ``WECHATPAY2-SHA256-RSA2048`` with the merchant key; every 2xx answer's
  platform signature is verified before its body is read (a forged "success" is worse than an
  error).
- A notification is verified before anything in it is parsed: the ``Wechatpay-Serial`` must name
  a configured platform key, ``Wechatpay-Timestamp`` must be within 5 minutes of ``now``, and the
  RSA-SHA256 signature over ``timestamp\\nnonce\\nbody\\n`` must hold. WeChat sends probe
  notifications whose signature starts ``WECHATPAY/SIGNTEST/``; they fail here, as they must.
  Only then is the resource decrypted (AES-256-GCM with the APIv3 key) and the transaction read.
- A verified transaction still only says what WeChat received: the payments service compares it
  with its own order (:func:`check_transaction_matches`) and is idempotent by ``transaction_id``,
  since notifications are retried and may arrive more than once.

Errors: WeChat's 4xx become :class:`WeChatPayApiError` (502, ``pay_code`` holds WeChat's code, e.g.
``ORDERPAID``, ``ORDER_CLOSED``, ``ORDER_NOT_EXIST``, ``INVALID_REQUEST``); 5xx, 429 and
unreachable become 503 ``wechat_pay_unavailable``; answers whose signature fails become 502
``wechat_pay_bad_signature``. Keys, signatures and request bodies are never logged or put in
error texts; only the API name, the HTTP status and WeChat's code are.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from yarl import URL

from backend.errors import AppError, ConfigurationError, ServiceUnavailable, UpstreamError
from filing.wechat_pay_transactions import (
    PayDecryptionFailed,
    PayNotificationMalformed,
    PaySignatureInvalid,
    PayTransactionMismatch,
    Transaction,
    WeChatPayApiError,
    check_transaction_matches,
    parse_transaction,
)

__all__ = [
    "ORDERPAID",
    "ORDER_CLOSED",
    "ORDER_NOT_EXIST",
    "PayDecryptionFailed",
    "PayNotificationMalformed",
    "PaySignatureInvalid",
    "PayTransactionMismatch",
    "Transaction",
    "WeChatPayApiError",
    "WeChatPayClient",
    "WeChatPayConfig",
    "check_transaction_matches",
]

log = logging.getLogger("mobile_court.filing.wechat_pay")

AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_S = 300
RETRY_AFTER_UNAVAILABLE_S = 5
OUT_TRADE_NO = re.compile(r"[A-Za-z0-9_\-*|]{6,32}")
USER_AGENT = "mobile-court/0.1 (WeChat Pay v3 client)"

ORDERPAID = "ORDERPAID"
ORDER_CLOSED = "ORDER_CLOSED"
ORDER_NOT_EXIST = "ORDER_NOT_EXIST"

_NONCE_CHARS = string.ascii_letters + string.digits


def _bad_response(api: str, why: str) -> UpstreamError:
    log.error("wechat pay %s: unusable answer (%s)", api, why)
    return UpstreamError(
        "WeChat Pay answered something unexpected / 微信支付返回了无法识别的内容",
        code="wechat_pay_bad_response",
    )


def _unavailable(pay_code: str | None = None) -> ServiceUnavailable:
    suffix = f" ({pay_code})" if pay_code else ""
    return ServiceUnavailable(
        f"WeChat Pay is not available{suffix}; try again shortly / 微信支付暂不可用，请稍后重试",
        code="wechat_pay_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
        extra={"wechat_pay_code": pay_code} if pay_code else None,
    )


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class WeChatPayConfig:
    base_url: str
    appid: str
    mchid: str
    merchant_serial: str
    merchant_private_key_pem: str = field(repr=False)
    # 32 ASCII characters, set in the merchant platform; decrypts notification resources.
    apiv3_key: str = field(repr=False)
    # Platform key id / certificate serial -> public key PEM; several during a key rotation.
    platform_public_keys: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_files(
        cls,
        *,
        base_url: str,
        appid: str,
        mchid: str,
        merchant_serial: str,
        merchant_private_key_file: Path,
        apiv3_key: str,
        platform_public_key_files: Mapping[str, Path],
    ) -> WeChatPayConfig:
        try:
            merchant_pem = merchant_private_key_file.read_text()
            platform = {s: p.read_text() for s, p in platform_public_key_files.items()}
        except OSError as exc:
            raise ConfigurationError(f"cannot read a WeChat Pay key file: {exc}") from None
        return cls(base_url, appid, mchid, merchant_serial, merchant_pem, apiv3_key, platform)


def _load_private_key(pem: str) -> RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), None)
    except (ValueError, TypeError):
        raise ConfigurationError("the WeChat Pay merchant private key does not load") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigurationError("the WeChat Pay merchant key must be an RSA key")
    return key


def _load_public_key(serial: str, pem: str) -> RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ConfigurationError(f"WeChat Pay platform key {serial} does not load") from None
    if not isinstance(key, RSAPublicKey):
        raise ConfigurationError(f"WeChat Pay platform key {serial} must be an RSA key")
    return key


# --------------------------------------------------------------------------- client


def _nonce(length: int = 32) -> str:
    return "".join(secrets.choice(_NONCE_CHARS) for _ in range(length))


def _check_out_trade_no(out_trade_no: str) -> None:
    if not OUT_TRADE_NO.fullmatch(out_trade_no):
        raise ValueError("out_trade_no must be 6-32 characters of [A-Za-z0-9_-*|]")


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class WeChatPayClient:
    """Over the app's shared ``aiohttp.ClientSession``; keys are parsed once, here."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: WeChatPayConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(config.apiv3_key.encode()) != 32:
            raise ConfigurationError("the WeChat Pay APIv3 key must be 32 bytes")
        if not config.platform_public_keys:
            raise ConfigurationError("at least one WeChat Pay platform public key is required")
        self._session = session
        self._base = config.base_url.rstrip("/")
        self.appid = config.appid
        self.mchid = config.mchid
        self._serial = config.merchant_serial
        self._key = _load_private_key(config.merchant_private_key_pem)
        self._aead = AESGCM(config.apiv3_key.encode())
        self._platform_keys = {
            serial: _load_public_key(serial, pem)
            for serial, pem in config.platform_public_keys.items()
        }
        self._clock = clock

    # ------------------------------------------------------------------ signatures

    def _sign(self, message: bytes) -> str:
        signature = self._key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def _authorization(self, method: str, url: URL, body: bytes) -> str:
        timestamp, nonce = str(int(self._clock())), _nonce()
        message = f"{method}\n{url.raw_path_qs}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
        return (
            f'{AUTH_SCHEMA} mchid="{self.mchid}",nonce_str="{nonce}",'
            f'signature="{self._sign(message)}",timestamp="{timestamp}",'
            f'serial_no="{self._serial}"'
        )

    def _verify_platform_signature(
        self, headers: Mapping[str, str], body: bytes, now: float
    ) -> None:
        """Raise :class:`PaySignatureInvalid` unless the platform signed ``body`` recently."""
        fields = _lower_headers(headers)
        serial = fields.get("wechatpay-serial")
        timestamp = fields.get("wechatpay-timestamp")
        nonce = fields.get("wechatpay-nonce")
        signature = fields.get("wechatpay-signature")
        if not serial or not timestamp or not nonce or not signature:
            raise PaySignatureInvalid("the WeChat Pay signature headers are missing")
        key = self._platform_keys.get(serial)
        if key is None:
            raise PaySignatureInvalid("signed with an unknown WeChat Pay platform key")
        try:
            signed_at = int(timestamp)
        except ValueError:
            raise PaySignatureInvalid("the WeChat Pay timestamp is not a number") from None
        if abs(now - signed_at) > MAX_CLOCK_SKEW_S:
            raise PaySignatureInvalid("the WeChat Pay timestamp is more than 5 minutes off")
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        try:
            raw_signature = base64.b64decode(signature, validate=True)
            key.verify(raw_signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError):
            raise PaySignatureInvalid("the WeChat Pay signature does not verify") from None

    # ------------------------------------------------------------------ transport

    async def _call(
        self,
        api: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> bytes:
        """Signed request; the verified body of a 2xx answer, or the mapped error."""
        url = URL(self._base + path)
        if query:
            url = url.with_query(query)
        payload = (
            b""
            if body is None
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        headers = {
            "Authorization": self._authorization(method, url, payload),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, url, data=payload if body is not None else None, headers=headers
            ) as response:
                raw = await response.read()
                status = response.status
                answer_headers = dict(response.headers)
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("wechat pay %s unreachable: %s", api, type(exc).__name__)
            raise _unavailable() from None
        if 200 <= status < 300:
            try:
                self._verify_platform_signature(answer_headers, raw, self._clock())
            except PaySignatureInvalid as exc:
                log.error("wechat pay %s: answer signature refused (%s)", api, exc.detail)
                raise UpstreamError(
                    "WeChat Pay's answer is not genuinely signed / 微信支付应答签名验证失败",
                    code="wechat_pay_bad_signature",
                ) from None
            return raw
        raise self._error(api, status, raw)

    def _error(self, api: str, status: int, raw: bytes) -> AppError:
        pay_code, message = "UNKNOWN", ""
        try:
            data = json.loads(raw)
            if isinstance(data, dict):
                pay_code = str(data.get("code") or pay_code)
                message = str(data.get("message") or "")
        except (ValueError, UnicodeDecodeError):
            pass
        if status >= 500 or status == 429:
            log.warning("wechat pay %s answered HTTP %d %s", api, status, pay_code)
            return _unavailable(pay_code)
        level = logging.ERROR if status == 401 else logging.WARNING
        log.log(level, "wechat pay %s answered HTTP %d %s", api, status, pay_code)
        return WeChatPayApiError(api, status, pay_code, message)

    @staticmethod
    def _json_object(api: str, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _bad_response(api, "not JSON") from None
        if not isinstance(data, dict):
            raise _bad_response(api, "not a JSON object")
        return data

    # ------------------------------------------------------------------ orders

    async def create_jsapi_order(
        self,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        notify_url: str,
        time_expire: datetime | None = None,
        *,
        attach: str | None = None,
    ) -> str:
        """Place the order; its ``prepay_id``. Placing the same order again is safe (WeChat
        returns the same ``prepay_id``); ``WeChatPayApiError`` with ``pay_code`` ORDERPAID /
        ORDER_CLOSED when it is already finished, INVALID_REQUEST when the number was used for
        a different order."""
        _check_out_trade_no(out_trade_no)
        if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
            raise ValueError("amount_fen must be a positive integer")
        if not 1 <= len(description) <= 127:
            raise ValueError("description must be 1-127 characters")
        if not notify_url.startswith(("https://", "http://")):
            raise ValueError("notify_url must be an absolute http(s) URL")
        body: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "notify_url": notify_url,
            "amount": {"total": amount_fen, "currency": "CNY"},
            "payer": {"openid": payer_openid},
        }
        if time_expire is not None:
            if time_expire.tzinfo is None:
                raise ValueError("time_expire must be timezone-aware")
            body["time_expire"] = time_expire.isoformat(timespec="seconds")
        if attach is not None:
            body["attach"] = attach
        raw = await self._call("jsapi", "POST", "/v3/pay/transactions/jsapi", body=body)
        prepay_id = self._json_object("jsapi", raw).get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise _bad_response("jsapi", "no prepay_id")
        return prepay_id

    async def query_order(self, out_trade_no: str) -> Transaction:
        """The order as WeChat sees it (``WeChatPayApiError`` ORDER_NOT_EXIST if unknown)."""
        _check_out_trade_no(out_trade_no)
        raw = await self._call(
            "query",
            "GET",
            f"/v3/pay/transactions/out-trade-no/{out_trade_no}",
            query={"mchid": self.mchid},
        )
        tx = parse_transaction(
            self._json_object("query", raw), lambda why: _bad_response("query", why)
        )
        if tx.out_trade_no != out_trade_no:
            raise _bad_response("query", "another order's transaction")
        return tx

    async def close_order(self, out_trade_no: str) -> None:
        """Close an unpaid order (again is fine); ``WeChatPayApiError`` ORDERPAID if paid."""
        _check_out_trade_no(out_trade_no)
        await self._call(
            "close",
            "POST",
            f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
            body={"mchid": self.mchid},
        )

    def mini_program_payment_params(
        self, prepay_id: str, *, now: float | None = None
    ) -> dict[str, str]:
        """What the mini-program passes to ``wx.requestPayment`` (signed with the merchant key
        over ``appId\\ntimeStamp\\nnonceStr\\npackage\\n``)."""
        timestamp = str(int(self._clock() if now is None else now))
        nonce, package = _nonce(), f"prepay_id={prepay_id}"
        message = f"{self.appid}\n{timestamp}\n{nonce}\n{package}\n".encode()
        return {
            "appId": self.appid,
            "timeStamp": timestamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": self._sign(message),
        }

    # ------------------------------------------------------------------ notifications

    def parse_notification(
        self, headers: Mapping[str, str], body: bytes, *, now: float
    ) -> Transaction:
        """Verify, decrypt and read a payment notification (``body``: the exact request bytes).

        Raises :class:`PaySignatureInvalid` (401), :class:`PayDecryptionFailed` (400) or
        :class:`PayNotificationMalformed` (400); answer WeChat with a non-2xx on any of them so
        that a genuine notification is retried."""
        self._verify_platform_signature(headers, body, now)
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise PayNotificationMalformed("the notification is not JSON") from None
        if not isinstance(envelope, dict):
            raise PayNotificationMalformed("the notification is not a JSON object")
        if envelope.get("event_type") != "TRANSACTION.SUCCESS":
            raise PayNotificationMalformed("not a TRANSACTION.SUCCESS notification")
        resource = envelope.get("resource")
        if envelope.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
            raise PayNotificationMalformed("the notification has no encrypted resource")
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise PayNotificationMalformed("the resource is not AEAD_AES_256_GCM encrypted")
        if resource.get("original_type", "transaction") != "transaction":
            raise PayNotificationMalformed("the resource is not a transaction")
        ciphertext, nonce = resource.get("ciphertext"), resource.get("nonce")
        associated_data = resource.get("associated_data") or ""
        if (
            not isinstance(ciphertext, str)
            or not isinstance(nonce, str)
            or not isinstance(associated_data, str)
        ):
            raise PayNotificationMalformed("the resource lacks ciphertext or nonce")
        try:
            plaintext = self._aead.decrypt(
                nonce.encode(),
                base64.b64decode(ciphertext, validate=True),
                associated_data.encode(),
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise PayDecryptionFailed(
                "the notification resource does not decrypt with the APIv3 key"
            ) from None
        try:
            data = json.loads(plaintext)
        except (ValueError, UnicodeDecodeError):
            raise PayNotificationMalformed("the decrypted resource is not JSON") from None
        notification_id = envelope.get("id")
        tx = parse_transaction(
            data,
            PayNotificationMalformed,
            notification_id=notification_id if isinstance(notification_id, str) else None,
        )
        if not tx.paid:
            raise PayNotificationMalformed("a success notification for an unpaid transaction")
        return tx
