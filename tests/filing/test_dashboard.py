"""The dashboard: my cases (party or unrevoked agent), keyset pages, fee state, and activity merged
from every registered source (filing's own deadlines plus a second, fake domain)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from backend.app import create_app
from backend.auth.principal import Role
from backend.settings import Settings
from filing.activity import CASE_ACTIVITY_SOURCES, CaseActivity, Deadline, merge
from filing.dashboard_routes import DashboardPage
from filing.models import CorrectionNotice, Filing, Party, Representation
from filing.workflow import china_date
from tests.filing.workflow_helpers import seed

Client = Any
API = "/api/v1/filing"


class FakeSource:
    """Another domain (say, hearings): answers for the cases it was told about."""

    def __init__(self) -> None:
        self.answers: dict[uuid.UUID, CaseActivity] = {}
        self.calls: list[tuple[list[uuid.UUID], uuid.UUID]] = []

    async def activity(
        self, case_ids: Sequence[uuid.UUID], viewer_account_id: uuid.UUID
    ) -> Mapping[uuid.UUID, CaseActivity]:
        self.calls.append((list(case_ids), viewer_account_id))
        return {i: a for i, a in self.answers.items() if i in case_ids}


@pytest.fixture
def fake_sources() -> tuple[FakeSource, FakeSource]:
    return FakeSource(), FakeSource()


@pytest.fixture
def app(settings: Settings, fake_sources: tuple[FakeSource, FakeSource]) -> web.Application:
    app = create_app(settings)
    app[CASE_ACTIVITY_SOURCES].extend(fake_sources)
    return app


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _case(
    *,
    created_at: datetime,
    plaintiff_account: uuid.UUID | None = None,
    lawyer: uuid.UUID | None = None,
    revoked: bool = False,
    **fields: Any,
) -> Filing:
    filing = await Filing.create(
        id=uuid.uuid4(),
        receiving_court_code="浙0106",
        competent_court_code="浙0281",
        cause_code="4.cont.loan.private",
        claim_amount=Decimal("100000"),
        status=fields.pop("status", "submitted"),
        created_by_id=plaintiff_account or lawyer or uuid.uuid4(),
        **fields,
    )
    # auto_now_add ignores the value given; set it afterwards for a known order.
    await Filing.filter(id=filing.id).update(created_at=created_at)
    plaintiff = await Party.create(
        id=uuid.uuid4(),
        filing=filing,
        role="plaintiff",
        kind="natural",
        name="张三",
        region_code="330106",
        address="杭州市西湖区某路1号",
        account_id=plaintiff_account,
    )
    await Party.create(
        id=uuid.uuid4(),
        filing=filing,
        role="defendant",
        kind="organisation",
        name="余姚某公司",
        region_code="330281",
        address="余姚市某路2号",
    )
    if lawyer is not None:
        await Representation.create(
            id=uuid.uuid4(),
            party=plaintiff,
            lawyer_account_id=lawyer,
            power_of_attorney_file_id=uuid.uuid4(),
            granted_at=created_at,
            revoked_at=created_at if revoked else None,
        )
    return filing


async def test_dashboard_lists_my_cases_with_merged_activity(
    client: Client,
    app: web.Application,
    accounts: Any,
    fake_sources: tuple[FakeSource, FakeSource],
) -> None:
    await seed(app)
    lawyer, lawyer_h = await accounts.headers(Role.LAWYER)
    litigant, litigant_h = await accounts.headers(Role.LITIGANT)
    _, outsider_h = await accounts.headers(Role.LITIGANT)
    today = china_date(datetime.now(UTC))
    base = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    registered = await _case(
        created_at=base + timedelta(hours=3),
        plaintiff_account=litigant.id,
        lawyer=lawyer.id,
        status="registered",
        case_number="(2026)浙0281民初7号",
        fee_total=Decimal("2300.00"),
        fee_due_on=today + timedelta(days=7),
    )
    correcting = await _case(
        created_at=base + timedelta(hours=2), lawyer=lawyer.id, status="correction_requested"
    )
    await CorrectionNotice.create(
        id=uuid.uuid4(),
        filing=correcting,
        items=["补充借条原件照片"],
        deadline=today + timedelta(days=10),
        issued_by_id=uuid.uuid4(),
        issued_at=base,
    )
    plain = await _case(created_at=base + timedelta(hours=1), lawyer=lawyer.id)
    revoked = await _case(created_at=base + timedelta(hours=4), lawyer=lawyer.id, revoked=True)
    await _case(created_at=base, plaintiff_account=uuid.uuid4())  # someone else's

    # The second domain knows a hearing and an earlier deadline of the registered case; the
    # third counts unread documents in two cases.
    hearings, documents = fake_sources
    hearing_at = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)
    hearings.answers[registered.id] = CaseActivity(
        next_deadline=Deadline(today + timedelta(days=3), "defence", "答辩期限", "defence due"),
        next_hearing=hearing_at,
    )
    hearings.answers[plain.id] = CaseActivity(next_hearing=hearing_at + timedelta(days=9))
    documents.answers[registered.id] = CaseActivity(unread_documents=2)
    documents.answers[correcting.id] = CaseActivity(unread_documents=1)
    documents.answers[revoked.id] = CaseActivity(unread_documents=5)

    response = await client.get(f"{API}/dashboard", headers=lawyer_h)
    page = await _ok(response)
    # The page is serialised from plain data: it must be exactly what the declared response
    # model (the OpenAPI schema) gives, field for field and in order.
    raw = await response.read()
    assert response.content_type == "application/json"
    assert DashboardPage.model_validate_json(raw).model_dump_json().encode() == raw
    ids = [i["id"] for i in page["items"]]
    # Newest first; the revoked power of attorney and the stranger's case are not mine.
    assert ids == [str(registered.id), str(correcting.id), str(plain.id)]
    assert page["next_cursor"] is None
    first, second, third = page["items"]

    assert first["status"] == {"code": "registered", "label_zh": "已立案", "label_en": "registered"}
    assert first["case_number"] == "(2026)浙0281民初7号"
    assert first["court"] == {
        "code": "浙0281",
        "name_zh": "余姚市人民法院",
        "name_en": "Yuyao People's Court",
    }
    assert first["cause"]["code"] == "4.cont.loan.private" and first["cause"]["name_zh"]
    assert first["my_roles"] == [
        {"capacity": "agent", "party_role": "plaintiff", "party_name": "张三"}
    ]
    assert first["fee"] == {
        "status": "due",
        "amount": "2300.00",
        "due_on": str(today + timedelta(days=7)),
        "relief": None,
    }
    # The other domain's defence deadline (3 days) beats filing's fee deadline (7 days).
    assert first["next_deadline"] == {
        "on": str(today + timedelta(days=3)),
        "kind": "defence",
        "label_zh": "答辩期限",
        "label_en": "defence due",
    }
    assert datetime.fromisoformat(first["next_hearing"]) == hearing_at
    assert first["unread_documents"] == 2

    assert second["status"]["code"] == "correction_requested"
    assert second["fee"]["status"] == "none"
    assert second["next_deadline"]["kind"] == "correction"
    assert second["next_deadline"]["on"] == str(today + timedelta(days=10))
    assert second["next_hearing"] is None and second["unread_documents"] == 1

    assert third["next_deadline"] is None and third["unread_documents"] == 0
    assert third["next_hearing"] is not None

    # Each source was asked once for the whole page, on behalf of the viewer.
    for source in fake_sources:
        assert source.calls == [([registered.id, correcting.id, plain.id], lawyer.id)]

    # The litigant is a party of the registered case through their own account.
    mine = await _ok(await client.get(f"{API}/dashboard", headers=litigant_h))
    assert [i["id"] for i in mine["items"]] == [str(registered.id)]
    assert mine["items"][0]["my_roles"] == [
        {"capacity": "party", "party_role": "plaintiff", "party_name": "张三"}
    ]
    assert (await _ok(await client.get(f"{API}/dashboard", headers=outsider_h)))["items"] == []

    # Paid: the fee deadline goes, the fee shows paid.
    await Filing.filter(id=registered.id).update(fee_paid_at=datetime.now(UTC))
    hearings.answers.pop(registered.id)
    paid = (await _ok(await client.get(f"{API}/dashboard", headers=litigant_h)))["items"][0]
    assert paid["fee"]["status"] == "paid" and paid["next_deadline"] is None

    # Revoking applies on the next request.
    await Representation.filter(lawyer_account_id=lawyer.id).update(revoked_at=datetime.now(UTC))
    assert (await _ok(await client.get(f"{API}/dashboard", headers=lawyer_h)))["items"] == []


async def test_dashboard_pages_with_a_keyset_cursor(
    client: Client, app: web.Application, accounts: Any
) -> None:
    await seed(app)
    lawyer, headers = await accounts.headers(Role.LAWYER)
    base = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    made = [
        await _case(created_at=base + timedelta(minutes=i % 3), lawyer=lawyer.id) for i in range(7)
    ]
    expected = [
        str(f.id) for f in sorted(made, key=lambda f: (made.index(f) % 3, str(f.id)), reverse=True)
    ]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = await _ok(await client.get(f"{API}/dashboard", params=query, headers=headers))
        assert len(page["items"]) <= 3
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected

    for bad in ("not-a-cursor", "eyJ4Ijox", "W10"):
        response = await client.get(f"{API}/dashboard", params={"cursor": bad}, headers=headers)
        assert response.status == 422, await response.text()
        assert (await response.json())["code"] == "invalid_cursor"
    assert (
        await client.get(f"{API}/dashboard", params={"limit": "0"}, headers=headers)
    ).status == 422
    assert (await client.get(f"{API}/dashboard")).status == 401


def test_merge_takes_the_earliest_and_sums() -> None:
    day = date(2026, 12, 1)
    at = datetime(2026, 12, 5, tzinfo=UTC)
    merged = merge(
        [
            CaseActivity(Deadline(day + timedelta(days=2), "b", "乙", "b"), at, 1),
            CaseActivity(Deadline(day, "z", "丙", "z"), None, 0),
            CaseActivity(Deadline(day, "a", "甲", "a"), at - timedelta(hours=1), 4),
        ]
    )
    assert merged.next_deadline == Deadline(day, "a", "甲", "a")
    assert merged.next_hearing == at - timedelta(hours=1)
    assert merged.unread_documents == 5
    assert merge([]) == CaseActivity()
