"""A registered two-party case with people signed in through the fake WeChat platform.

Presence (a passed face check) for parties is issued through the application's own token codec,
as in tests/identity/test_presence.py: the face path itself is tested in tests/identity, and it
is CPU-heavy. Court staff have no face record: they step up for real, with an authenticator code
sent to POST /api/v1/identity/staff/step-up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from aiohttp import web
from aiohttp.test_utils import TestClient

from backend.appkeys import AUTH, DATABASE, KEYRING, SETTINGS, WORKER
from backend.auth.models import Account
from backend.auth.principal import Role
from backend.fieldcrypto import FieldCipher
from backend.jobs.models import Job
from filing.models import Filing, FilingStatus, Party, Representation
from identity.models import StaffTotp
from identity.staff_login import TOTP_CONTEXT
from tests.identity.conftest import Platform, bearer, wechat_sign_in

Client = TestClient[Any, Any]
COURT = "浙0281"
TEMPLATE = "mc_hearing_notice"
STEP_UP = "/api/v1/identity/staff/step-up"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 400


@dataclass
class Person:
    account_id: uuid.UUID
    headers: dict[str, str]
    openid: str | None
    session_id: uuid.UUID
    app: web.Application
    totp_secret: str | None = None

    def code(self) -> str:
        assert self.totp_secret is not None, "only staff have an authenticator"
        return pyotp.TOTP(self.totp_secret).now()

    async def step_up(self, client: Client) -> dict[str, str]:
        """Headers with a token proving a fresh authenticator code (court staff's step-up)."""
        resp = await client.post(STEP_UP, json={"totp": self.code()}, headers=self.headers)
        assert resp.status == 200, await resp.text()
        return bearer((await resp.json())["access_token"])

    def present(self, age_s: int = 0) -> dict[str, str]:
        """Headers with a token carrying a face check ``age_s`` seconds old."""
        token, _ = self.app[AUTH].codec.issue(
            self.account_id,
            self.session_id,
            presence_verified_at=datetime.now(UTC) - timedelta(seconds=age_s),
        )
        return bearer(token)


def _session_of(app: web.Application, headers: dict[str, str]) -> uuid.UUID:
    token = headers["Authorization"].removeprefix("Bearer ")
    return app[AUTH].codec.verify(token).session_id


async def litigant(client: Client, app: web.Application, platform: Platform) -> Person:
    signed = await wechat_sign_in(client, platform)
    await platform.control(
        "subscribe-grant", {"openid": signed["openid"], "template_id": TEMPLATE, "count": 20}
    )
    headers = signed["headers"]
    return Person(
        uuid.UUID(signed["account_id"]), headers, signed["openid"], _session_of(app, headers), app
    )


async def staff(app: web.Application, accounts: Any, role: Role) -> Person:
    """A staff member with a confirmed authenticator, as create-staff plus enrolment leave one."""
    account, headers = await accounts.headers(role, court_code=COURT)
    secret = pyotp.random_base32()
    with app[DATABASE].activate():
        await Account.filter(id=account.id).update(username=f"{role.value}_{account.id.hex[:8]}")
        await StaffTotp.create(
            id=uuid.uuid4(),
            account_id=account.id,
            secret_enc=FieldCipher(app[KEYRING].field_key).encrypt(secret, context=TOTP_CONTEXT),
            confirmed_at=datetime.now(UTC),
        )
    return Person(account.id, headers, None, _session_of(app, headers), app, secret)


async def registered_case(
    app: web.Application,
    plaintiff: Person,
    defendant: Person,
    judge: Person,
    *,
    procedure: str = "small_claims",
    case_type_code: str = "民初",
    status: str = FilingStatus.REGISTERED.value,
    more: tuple[tuple[str, Person, str], ...] = (),
) -> Filing:
    """A case of 张三 (plaintiff) v 李四 (defendant); ``more``: (role, person, name) of further
    parties."""
    with app[DATABASE].activate():
        filing = await Filing.create(
            id=uuid.uuid4(),
            receiving_court_code=COURT,
            competent_court_code=COURT,
            case_type_code=case_type_code,
            procedure=procedure,
            cause_code="loan",
            status=status,
            case_number=f"(2026){COURT}{case_type_code}{uuid.uuid4().int % 9000 + 1000}号"
            if status == FilingStatus.REGISTERED.value
            else None,
            assigned_judge_id=judge.account_id,
            created_by_id=plaintiff.account_id,
        )
        for role, person, name in (
            ("plaintiff", plaintiff, "张三"),
            ("defendant", defendant, "李四"),
            *more,
        ):
            await Party.create(
                id=uuid.uuid4(),
                filing=filing,
                role=role,
                kind="natural",
                name=name,
                region_code="330281",
                address="浙江省余姚市某路1号",
                account_id=person.account_id,
            )
    return filing


async def party_ids(app: web.Application, filing: Filing) -> dict[str, str]:
    """Party id (as the API shows it) by party name."""
    with app[DATABASE].activate():
        return {p.name: str(p.id) for p in await Party.filter(filing_id=filing.id)}


async def represent(
    app: web.Application, filing: Filing, party_name: str, lawyer: Person
) -> Representation:
    """A power of attorney for ``lawyer`` from the party named ``party_name``."""
    with app[DATABASE].activate():
        party = await Party.get(filing_id=filing.id, name=party_name)
        return await Representation.create(
            id=uuid.uuid4(),
            party=party,
            lawyer_account_id=lawyer.account_id,
            power_of_attorney_file_id=uuid.uuid4(),
            granted_at=datetime.now(UTC),
        )


async def revoke(app: web.Application, representation: Representation) -> None:
    with app[DATABASE].activate():
        await Representation.filter(id=representation.id).update(revoked_at=datetime.now(UTC))


async def run_jobs(app: web.Application) -> int:
    """Run every job that is due now (the worker is not started in tests)."""
    ran = 0
    with app[DATABASE].activate():
        while (count := await app[WORKER].run_once()) > 0:
            ran += count
    return ran


async def make_due(app: web.Application, kind: str) -> None:
    with app[DATABASE].activate():
        await Job.filter(kind=kind, status="queued").update(run_at=datetime.now(UTC))


async def upload(client: Client, person: Person, content: bytes, purpose: str, name: str) -> str:
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("purpose", purpose)
    form.add_field("file", content, filename=name, content_type="application/octet-stream")
    resp = await client.post("/api/v1/files", data=form, headers=person.headers)
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


BASE = "/api/v1/async-hearings/cases"


async def started_hearing(
    client: Client,
    filing: Filing,
    plaintiff: Person,
    defendant: Person,
    judge: Person,
    *,
    windows: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Application, consents and findings, then the start: the hearing as the judge sees it."""
    case = f"{BASE}/{filing.id}"
    resp = await client.post(
        f"{case}/applications",
        json={"text": "申请异步审理，理由见附件。"},
        headers=plaintiff.headers,
    )
    assert resp.status == 201, await resp.text()
    for person in (plaintiff, defendant):
        resp = await client.post(
            f"{case}/consents", json={"scope": "hearing", "consented": True}, headers=person.headers
        )
        assert resp.status == 200, await resp.text()
    findings = {"facts_undisputed": True, "attendance_hard": True}
    resp = await client.put(f"{case}/findings", json=findings, headers=judge.headers)
    assert resp.status == 200, await resp.text()
    resp = await client.post(
        f"{case}/start", json={"window_hours": windows or {}}, headers=judge.headers
    )
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def tamper_post_text(app: web.Application, post_id: str, text: str) -> None:
    """Rewrite a published post behind the application's back, past the append-only triggers
    (as someone with DDL rights could): what the hash chain is there to reveal."""
    import sqlite3

    import asyncpg

    url = app[SETTINGS].effective_database_url
    if url.startswith("sqlite://"):
        con = sqlite3.connect(url.removeprefix("sqlite://").split("?", 1)[0])
        try:
            con.execute("DROP TRIGGER async_post_published_no_update")
            con.execute("UPDATE async_post SET text = ? WHERE id = ?", (text, post_id))
            con.commit()
        finally:
            con.close()
        return
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE async_post SET text = $1 WHERE id = $2::uuid", text, post_id)
    finally:
        await conn.close()
