"""Service channels behind one gateway interface, each answering with a delivery report.

- in-app: the platform's own inbox; the notice is there the moment the attempt is recorded;
- WeChat subscribe message: a courtesy notice through the WeChat API (never legal service);
- SMS: a text with a short link, through the SMS gateway; its delivery report comes from the
  gateway (``GET /messages/{id}``), at once or later by a report job;
- email: over SMTP; the server's acceptance (250 after DATA) is the delivery report, so the
  configured SMTP server must be the one delivering into the recipient's system (its MX, or a
  relay whose acceptance the court treats as arrival) — see README.

A gateway raises :class:`GatewayUnavailable` for failures worth retrying (timeouts, 5xx, rate
limits) and :class:`GatewayRefused` when retrying cannot help (bad address, no WeChat grant).
Short links carry only an opaque random id; texts carry no personal data beyond the case number.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import formatdate, parseaddr
from typing import Any, Protocol

import aiohttp
import aiosmtplib

from backend.errors import AppError, ServiceUnavailable, TooManyRequests
from backend.settings import Settings
from identity.sms_client import SmsClient
from identity.wechat_client import WeChatClient
from service_of_process.models import AttemptStatus, Channel

log = logging.getLogger("mobile_court.service.channels")


class GatewayUnavailable(Exception):
    """A transient failure: the attempt is retried with backoff."""


class GatewayRefused(Exception):
    """A permanent failure for this address: the attempt is marked failed."""


@dataclass(frozen=True)
class Notice:
    """What every channel tells the recipient: no personal data beyond the case number."""

    attempt_id: str
    court_name_zh: str
    case_number: str
    titles_zh: tuple[str, ...]
    link: str  # the short link: public base URL + opaque id


@dataclass(frozen=True)
class Report:
    status: AttemptStatus  # SENT (no report yet), DELIVERED or FAILED
    message_id: str | None = None
    delivered_at: datetime | None = None
    detail: str = ""


class Gateway(Protocol):
    channel: Channel

    async def send(self, address: str, notice: Notice) -> Report: ...

    async def report(self, message_id: str) -> Report: ...


def _now() -> datetime:
    return datetime.now(UTC)


class InAppGateway:
    """The platform inbox: the delivery row itself is the inbox entry, so arrival is immediate."""

    channel = Channel.INAPP

    async def send(self, address: str, notice: Notice) -> Report:
        return Report(AttemptStatus.DELIVERED, None, _now(), "in the platform inbox")

    async def report(self, message_id: str) -> Report:
        return Report(AttemptStatus.DELIVERED, message_id, None, "in the platform inbox")


def _transient(error: AppError) -> bool:
    return isinstance(error, ServiceUnavailable | TooManyRequests) or error.status >= 500


class WeChatGateway:
    channel = Channel.WECHAT

    def __init__(self, client: WeChatClient, settings: Settings) -> None:
        self._client = client
        self._template_id = settings.service_wechat_template_id

    async def send(self, address: str, notice: Notice) -> Report:
        msgid = await self.notify(address, "、".join(notice.titles_zh), notice.case_number)
        # WeChat accepting a subscribe message is all the report there is.
        return Report(AttemptStatus.DELIVERED, str(msgid), _now(), "courtesy notice sent")

    async def notify(self, openid: str, what: str, case_number: str) -> int:
        """One subscribe message saying ``what`` arrived in the case; the msgid."""
        data = {
            "thing1": what[:20],
            "thing2": case_number[:20],
            "time3": _now().astimezone().strftime("%Y-%m-%d %H:%M"),
        }
        try:
            return await self._client.send_subscribe_message(
                openid, self._template_id, data, page="pages/service/index"
            )
        except AppError as error:
            if _transient(error):
                raise GatewayUnavailable(error.code) from None
            raise GatewayRefused(error.code) from None

    async def report(self, message_id: str) -> Report:
        return Report(AttemptStatus.DELIVERED, message_id, None, "courtesy notice sent")


class SmsGateway:
    channel = Channel.SMS

    def __init__(self, client: SmsClient) -> None:
        self._client = client
        self._template = client.settings.service_sms_template

    async def send(self, address: str, notice: Notice) -> Report:
        try:
            message_id = await self._client.send(
                address,
                self._template,
                {
                    "court": notice.court_name_zh,
                    "case_number": notice.case_number,
                    "link": notice.link,
                },
            )
        except AppError as error:
            if _transient(error):
                raise GatewayUnavailable(error.code) from None
            raise GatewayRefused(error.code) from None
        try:
            return await self.report(message_id)
        except GatewayUnavailable:
            return Report(AttemptStatus.SENT, message_id, None, "accepted by the SMS gateway")

    async def report(self, message_id: str) -> Report:
        """The gateway's delivery report for one message."""
        try:
            data = await self._client.message_status(message_id)
        except AppError as error:
            raise GatewayUnavailable(error.code) from None
        state = data.get("status")
        if state == "delivered" and isinstance(data.get("delivered_at"), int | float):
            at = datetime.fromtimestamp(float(data["delivered_at"]), UTC)
            return Report(AttemptStatus.DELIVERED, message_id, at, "delivery report: delivered")
        if state == "failed":
            code = str(data.get("error_code") or "")[:40]
            return Report(AttemptStatus.FAILED, message_id, None, f"delivery failed {code}".strip())
        return Report(AttemptStatus.SENT, message_id, None, "accepted by the SMS gateway")


@functools.lru_cache(maxsize=256)
def _encoded_header(value: str) -> str:
    # A batch serves one case: its subject line is encoded once, not once per recipient.
    return Header(value, "utf-8").encode(linesep="\r\n")


def compose_email(
    *, sender: str, recipient: str, subject: str, message_id: str, text: str
) -> bytes:
    """A plain-text UTF-8 message (RFC 5322, MIME). Written out directly: the ``email``
    package's header registry and folding cost about a millisecond per message, more than
    everything else of a delivery together. Header values come from the court's settings and
    validated addresses; CR and LF are refused so nothing can inject a header."""
    for value in (sender, recipient, message_id):
        if "\r" in value or "\n" in value:
            raise GatewayRefused("bad header value")
    body = base64.encodebytes(text.encode()).decode("ascii").replace("\n", "\r\n")
    encoded_subject = _encoded_header(subject)
    head = (
        f"From: {sender}\r\n"
        f"To: {recipient}\r\n"
        f"Subject: {encoded_subject}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return (head + body).encode("ascii")


class SmtpPool:
    """SMTP connections kept open between messages (at most ``size`` at once), instead of a
    connect, EHLO, STARTTLS and login per email. A connection that fails in any way is
    dropped; one the server closed while idle is replaced once, before anything was sent."""

    def __init__(self, settings: Settings, size: int = 8) -> None:
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(size)

    async def _open(self) -> aiosmtplib.SMTP:
        settings = self._settings
        password = settings.service_smtp_password
        client = aiosmtplib.SMTP(
            hostname=settings.service_smtp_host,
            port=settings.service_smtp_port,
            start_tls=settings.service_smtp_starttls,
            username=settings.service_smtp_username or None,
            password=password.get_secret_value() if password else None,
            timeout=15,
        )
        await client.connect()
        return client

    async def send(self, sender: str, recipient: str, message: bytes) -> dict[str, Any]:
        """The refused recipients (empty when all were accepted); raises aiosmtplib errors."""
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            reused = client is not None
            while True:
                if client is None:
                    client = await self._open()
                try:
                    errors, _ = await client.sendmail(sender, [recipient], message)
                except aiosmtplib.SMTPServerDisconnected:
                    _discard(client)
                    client = None
                    if not reused:
                        raise
                    reused = False  # an idle connection the server had closed: one more try
                    continue
                except BaseException:
                    _discard(client)
                    raise
                self._idle.append(client)
                return dict(errors)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await client.quit()
            _discard(client)


def _discard(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        client.close()


class EmailGateway:
    channel = Channel.EMAIL

    def __init__(self, settings: Settings, pool: SmtpPool | None = None) -> None:
        self._settings = settings
        self._pool = pool or SmtpPool(settings)
        self._envelope_from = parseaddr(settings.service_smtp_from)[1]

    async def send(self, address: str, notice: Notice) -> Report:
        settings = self._settings
        message = compose_email(
            sender=settings.service_smtp_from,
            recipient=address,
            subject=f"{notice.court_name_zh}诉讼文书送达通知（{notice.case_number}）",
            # A stable Message-ID: a re-sent copy after a crash is recognisably the same message.
            message_id=f"<{notice.attempt_id}@service.mobile-court>",
            text=(
                f"{notice.court_name_zh}向您送达了（{notice.case_number}）的诉讼文书："
                f"{'、'.join(notice.titles_zh)}。\n请点击以下链接，登录移动微法院查收并签收：\n"
                f"{notice.link}\n\n"
                "Court documents have been served on you. Sign in to the mobile court to read "
                f"and sign for them: {notice.link}\n"
            ),
        )
        try:
            errors = await self._pool.send(self._envelope_from, address, message)
        except aiosmtplib.SMTPRecipientsRefused:
            raise GatewayRefused("recipient refused") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise GatewayRefused(f"SMTP {exc.code}") from None
            raise GatewayUnavailable(f"SMTP {exc.code}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise GatewayUnavailable(type(exc).__name__) from None
        if errors:
            raise GatewayRefused("recipient refused")
        return Report(AttemptStatus.DELIVERED, notice.attempt_id, _now(), "accepted by SMTP (250)")

    async def report(self, message_id: str) -> Report:
        return Report(AttemptStatus.DELIVERED, message_id, None, "accepted by SMTP (250)")

    async def close(self) -> None:
        await self._pool.close()


@dataclass
class Gateways:
    """One gateway per channel, sharing one HTTP session."""

    inapp: InAppGateway
    wechat: WeChatGateway
    sms: SmsGateway
    email: EmailGateway

    @classmethod
    def create(cls, session: aiohttp.ClientSession, settings: Settings) -> Gateways:
        """Gateways over ``session``; they live as long as it does (the worker's lifetime),
        so connections to the gateways are reused from one job to the next."""
        return cls(
            inapp=InAppGateway(),
            wechat=WeChatGateway(WeChatClient(session, settings), settings),
            sms=SmsGateway(SmsClient(session, settings)),
            email=EmailGateway(settings),
        )

    async def close(self) -> None:
        await self.email.close()

    def of(self, channel: Channel) -> Gateway:
        gateway: Gateway = getattr(self, channel.value)
        return gateway
