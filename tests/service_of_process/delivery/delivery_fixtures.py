"""Fixtures and helpers for the e-service delivery tests: the fake WeChat platform + SMS gateway
and a local SMTP server (aiosmtpd) on loopback, a registered case built directly in the
database, and a job worker driven step by step.

Test modules import the fixtures they use (``from … import smtp, case, …  # noqa: F401``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.smtp import SMTP, Envelope, Session
from tortoise.transactions import in_transaction

from backend.appkeys import DATABASE, JOBS, KEYRING
from backend.auth.models import Account
from backend.auth.principal import Role
from backend.fieldcrypto import FieldCipher
from backend.jobs.models import Job
from backend.jobs.worker import Worker
from backend.observability import Metrics
from backend.settings import Settings
from filing.courts import seed_reference_data
from filing.models import Filing, Party
from identity.models import PhoneBinding
from identity.phone import PHONE_CONTEXT, mask_phone
from miniapp_stub.wechat import FakeWeChatConfig, create_fake_wechat_app
from tests.conftest import Accounts

Client = TestClient[Any, Any]
TEMPLATE_ID = "court-service-notice"
COURT = "浙0281"
CASE_NUMBER = "(2026)浙0281民初88号"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
SERVICE = "/api/v1/service"


class MailBox:
    """An aiosmtpd handler keeping every accepted message; ``delay_s`` makes it a slow server,
    ``refuse`` a dead one (451 for every message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.delay_s = 0.0
        self.refuse = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[MailBox, int]]:
    box = MailBox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(box, hostname="court-mx.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield box, port
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def wechat_server() -> AsyncIterator[TestServer]:
    config = FakeWeChatConfig(templates={TEMPLATE_ID: ("thing1", "thing2", "time3")})
    server = TestServer(create_fake_wechat_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def settings(
    settings_factory: Callable[..., Settings],
    wechat_server: TestServer,
    smtp: tuple[MailBox, int],
) -> Settings:
    base = str(wechat_server.make_url("")).rstrip("/")
    return settings_factory(
        wechat_base_url=base,
        sms_base_url=f"{base}/sms",
        service_smtp_port=smtp[1],
        service_wechat_template_id=TEMPLATE_ID,
        face_processes=False,
    )


@dataclass
class Platform:
    session: aiohttp.ClientSession
    base: str

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{self.base}{path}", json=body) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def sms(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.base}/sms/__control/messages") as resp:
            messages: list[dict[str, Any]] = (await resp.json())["messages"]
            return messages

    async def wechat_messages(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.base}/__control/messages") as resp:
            messages: list[dict[str, Any]] = (await resp.json())["messages"]
            return messages


@pytest.fixture
async def platform(wechat_server: TestServer) -> AsyncIterator[Platform]:
    async with aiohttp.ClientSession() as session:
        yield Platform(session, str(wechat_server.make_url("")).rstrip("/"))


@dataclass
class Person:
    account: Account
    headers: dict[str, str]
    party: Party | None = None


@dataclass
class Case:
    filing: Filing
    judge: Person
    clerk: Person
    plaintiff: Person
    defendant: Person
    outsider: Person
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{SERVICE}/cases/{self.filing.id}"


async def add_party(
    filing: Filing, role: str, name: str, account: Account | None, **extra: Any
) -> Party:
    return await Party.create(
        id=uuid.uuid4(),
        filing=filing,
        role=role,
        kind="natural",
        name=name,
        region_code="330281",
        address="浙江省余姚市某路1号",
        account_id=account.id if account else None,
        **extra,
    )


async def bind_phone(app: web.Application, account_id: uuid.UUID, phone: str) -> None:
    cipher = FieldCipher(app[KEYRING].field_key)
    await PhoneBinding.create(
        id=uuid.uuid4(),
        account_id=account_id,
        phone_enc=cipher.encrypt(phone, context=PHONE_CONTEXT),
        phone_hash=cipher.lookup_hash(phone, context=PHONE_CONTEXT),
        phone_masked=mask_phone(phone),
        source="sms",
        verified_at=datetime.now(UTC),
    )


async def make_case(
    app: web.Application,
    accounts: Accounts,
    *,
    plaintiff_email: str | None = "zhang.san@example.com",
    defendant: tuple[Account, dict[str, str]] | None = None,
) -> Case:
    async with in_transaction() as conn:
        await seed_reference_data(conn)
    judge = Person(*await accounts.headers(Role.JUDGE, court_code=COURT))
    clerk = Person(*await accounts.headers(Role.CLERK, court_code=COURT))
    plaintiff = Person(*await accounts.headers(Role.LITIGANT))
    defendant_person = Person(*(defendant or await accounts.headers(Role.LITIGANT)))
    outsider = Person(*await accounts.headers(Role.LITIGANT))
    filing = await Filing.create(
        id=uuid.uuid4(),
        receiving_court_code=COURT,
        competent_court_code=COURT,
        cause_code="9",
        status="registered",
        case_number=CASE_NUMBER,
        assigned_judge_id=judge.account.id,
        assigned_clerk_id=clerk.account.id,
        created_by_id=plaintiff.account.id,
    )
    plaintiff.party = await add_party(
        filing,
        "plaintiff",
        "张三",
        plaintiff.account,
        service_address=plaintiff_email,
        service_address_confirmed=plaintiff_email is not None,
    )
    defendant_person.party = await add_party(filing, "defendant", "李四", defendant_person.account)
    return Case(filing, judge, clerk, plaintiff, defendant_person, outsider)


async def upload_pdf(client: Client, headers: dict[str, str], content: bytes = PDF) -> str:
    form = aiohttp.FormData()
    form.add_field("purpose", "document")
    form.add_field("file", content, filename="judgment.pdf", content_type="application/pdf")
    resp = await client.post("/api/v1/files", data=form, headers=headers)
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


def make_worker(app: web.Application, settings: Settings, **options: Any) -> Worker:
    options.setdefault("poll_s", 0.02)
    options.setdefault("retry_delay", lambda attempt: 0.01)
    return Worker(app[JOBS], settings, Metrics(), app[DATABASE], **options)


async def drain(worker: Worker, *, rounds: int = 200) -> None:
    """Run due jobs until none is due (retries included: their delay is ~0 here)."""
    for _ in range(rounds):
        if not await worker.run_once():
            await asyncio.sleep(0.03)
            if not await worker.run_once():
                return
    raise AssertionError("jobs kept coming")


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], within: float = 15.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def jobs_of(kind: str) -> list[Job]:
    return await Job.filter(kind=kind).order_by("id")


def file_form(content: bytes, filename: str = "file.pdf") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", content, filename=filename, content_type="application/pdf")
    return form
