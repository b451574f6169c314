"""A registered case with a judge, a clerk, two parties and their lawyers, signed in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from backend.appkeys import AUTH, SETTINGS
from backend.auth.principal import Actor, Role
from filing.models import Filing, FilingStatus, Party, Representation

COURT = "J00"
BASE = "/api/v1/hearings/video"


@dataclass
class Person:
    account_id: uuid.UUID
    headers: dict[str, str]
    session_id: Any
    name: str

    @property
    def token(self) -> str:
        return self.headers["Authorization"].removeprefix("Bearer ")


@dataclass
class Case:
    filing: Filing
    judge: Person
    clerk: Person
    plaintiff: Person
    defendant: Person
    plaintiff_lawyer: Person
    defendant_lawyer: Person
    outsider: Person
    other_judge: Person
    app: web.Application
    extra: dict[str, Any] = field(default_factory=dict)

    def present(self, person: Person, *, age_s: int = 0) -> Person:
        """The person after a face check ``age_s`` seconds ago (a token carrying ``pvt``)."""
        codec = self.app[AUTH].codec
        token, _ = codec.issue(
            person.account_id,
            person.session_id,
            presence_verified_at=datetime.now(UTC) - timedelta(seconds=age_s),
        )
        return Person(
            person.account_id, {"Authorization": f"Bearer {token}"}, person.session_id, person.name
        )


async def _person(app: web.Application, accounts: Any, name: str, *roles: Role) -> Person:
    account = await accounts.create(
        *roles, court_code=COURT if Role.JUDGE in roles or Role.CLERK in roles else None, name=name
    )
    pair = await app[AUTH].start_session(account, Actor.system("test"), method="test")
    return Person(
        account.id, {"Authorization": f"Bearer {pair.access_token}"}, pair.session_id, name
    )


@pytest.fixture
async def case(app: web.Application, accounts: Any, client: TestClient[Any, Any]) -> Case:
    judge = await _person(app, accounts, "王法官", Role.JUDGE)
    clerk = await _person(app, accounts, "李书记员", Role.CLERK)
    plaintiff = await _person(app, accounts, "张三", Role.LITIGANT)
    defendant = await _person(app, accounts, "李四", Role.LITIGANT)
    plaintiff_lawyer = await _person(app, accounts, "赵律师", Role.LAWYER)
    defendant_lawyer = await _person(app, accounts, "钱律师", Role.LAWYER)
    outsider = await _person(app, accounts, "路人", Role.LITIGANT)
    other_judge = await _person(app, accounts, "孙法官", Role.JUDGE)
    filing = await Filing.create(
        id=uuid.uuid4(),
        receiving_court_code=COURT,
        competent_court_code=COURT,
        cause_code="9001",
        status=FilingStatus.REGISTERED.value,
        case_number=f"（2026）J00民初{uuid.uuid4().int % 10000}号",
        assigned_judge_id=judge.account_id,
        assigned_clerk_id=clerk.account_id,
        created_by_id=plaintiff.account_id,
    )
    for role, person, lawyer in (
        ("plaintiff", plaintiff, plaintiff_lawyer),
        ("defendant", defendant, defendant_lawyer),
    ):
        party = await Party.create(
            id=uuid.uuid4(),
            filing=filing,
            role=role,
            kind="natural",
            name=person.name,
            region_code="110101",
            address="北京市东城区某街1号",
            account_id=person.account_id,
        )
        await Representation.create(
            id=uuid.uuid4(),
            party=party,
            lawyer_account_id=lawyer.account_id,
            power_of_attorney_file_id=uuid.uuid4(),
            granted_at=datetime.now(UTC),
        )
    return Case(
        filing,
        judge,
        clerk,
        plaintiff,
        defendant,
        plaintiff_lawyer,
        defendant_lawyer,
        outsider,
        other_judge,
        app,
    )


async def schedule(
    client: TestClient[Any, Any], case: Case, *, days: float = 4, **body: Any
) -> dict[str, Any]:
    starts = datetime.now(UTC) + timedelta(days=days)
    resp = await client.post(
        BASE,
        json={
            "filing_id": str(case.filing.id),
            "title": "第一次开庭",
            "starts_at": starts.isoformat(),
            **body,
        },
        headers=case.judge.headers,
    )
    assert resp.status == 201, await resp.text()
    result: dict[str, Any] = await resp.json()
    return result


def stored_files(app: web.Application) -> set[str]:
    """Every file in blob storage: a rendered notice is stored before its transaction opens."""
    root = app[SETTINGS].effective_blob_dir
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


async def make_due(hearing_id: str, *, minutes: float = 10) -> None:
    """Move a hearing's start close to now (scheduling must be ≥ 3 days ahead)."""
    from hearings.models import VideoHearing

    await VideoHearing.filter(id=hearing_id).update(
        starts_at=datetime.now(UTC) + timedelta(minutes=minutes)
    )
