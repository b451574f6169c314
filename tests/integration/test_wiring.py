"""Electronic service wired into filing, video hearings, mediation and the dashboard, over HTTP:
a scheduled hearing's notice reaches the inbox, registration serves the defendant, a signed
mediation agreement yields a served statement, and the dashboard shows what is unread, the
response deadline and the next hearing."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from pypdf import PdfReader

from backend.appkeys import DATABASE
from backend.auth.principal import Role
from filing.models import Filing, Party, Representation
from service_of_process.integrations import ONLINE_PLACE, ServiceActivitySource
from service_of_process.models import ServiceDelivery, ServiceDocument, ServiceTask
from service_of_process.rules import COURT_TZ
from tests.async_hearings.helpers import (
    Client,
    Person,
    litigant,
    registered_case,
    run_jobs,
    staff,
    started_hearing,
)
from tests.filing.workflow_helpers import (
    DEFENDANT_ID,
    PDF,
    PLAINTIFF_ID,
    person,
    seed,
    verify_real_name,
)
from tests.identity.conftest import Platform

SERVICE = "/api/v1/service"
DASHBOARD = "/api/v1/filing/dashboard"


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _dashboard_item(client: Client, who: Person, case_id: object) -> dict[str, Any]:
    page = await _ok(await client.get(DASHBOARD, headers=who.headers))
    [item] = [i for i in page["items"] if i["id"] == str(case_id)]
    return dict(item)


def _pdf_text(data: bytes) -> str:
    return "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


async def test_hearing_notice_is_served_to_the_inbox_and_shown_on_the_dashboard(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="simple")
    # The plaintiff accepts service in the app's inbox; the defendant gave no consent.
    await _ok(
        await client.post(
            f"{SERVICE}/cases/{filing.id}/consents/mine",
            json={"inbox": True},
            headers=plaintiff.headers,
        ),
        201,
    )
    starts = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    hearing = await _ok(
        await client.post(
            "/api/v1/hearings/video",
            json={
                "filing_id": str(filing.id),
                "title": "第一次开庭",
                "starts_at": starts.isoformat(),
            },
            headers=judge.headers,
        ),
        201,
    )
    assert hearing["notice_status"] == "sent"
    await run_jobs(app)

    [delivery] = (await _ok(await client.get(f"{SERVICE}/inbox", headers=plaintiff.headers)))[
        "items"
    ]
    assert delivery["case_id"] == str(filing.id) and delivery["recipient_role"] == "plaintiff"
    [document] = delivery["documents"]
    assert document["kind"] == "hearing_notice" and document["title_zh"] == "开庭通知书"
    # Reached the inbox the plaintiff gave as a service address: served on arrival.
    assert delivery["status"] == "served"
    assert delivery["service_rule"] == "reached_confirmed_address"
    [inapp] = [a for a in delivery["attempts"] if a["channel"] == "inapp"]
    assert inapp["status"] == "delivered"
    # Without consent the defendant still sees it in the inbox; a clerk serves it on paper.
    [other] = (await _ok(await client.get(f"{SERVICE}/inbox", headers=defendant.headers)))["items"]
    assert other["status"] == "postal" and other["postal_reason"] == "no_consent"
    # The judge is not a recipient.
    assert (await _ok(await client.get(f"{SERVICE}/inbox", headers=judge.headers)))["items"] == []

    item = await _dashboard_item(client, plaintiff, filing.id)
    assert item["unread_documents"] == 1
    assert datetime.fromisoformat(item["next_hearing"]) == starts

    url = f"{SERVICE}/deliveries/{delivery['id']}"
    await _ok(await client.post(f"{url}/sign", json={}, headers=plaintiff.present()))
    resp = await client.get(f"{url}/documents/{document['id']}", headers=plaintiff.headers)
    assert resp.status == 200
    pdf = await resp.read()
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
    text = _pdf_text(pdf).replace("\n", "")
    local = starts.astimezone(COURT_TZ)
    assert ONLINE_PLACE in text and f"{local.year}年{local.month}月{local.day}日" in text

    item = await _dashboard_item(client, plaintiff, filing.id)
    assert item["unread_documents"] == 0
    assert datetime.fromisoformat(item["next_hearing"]) == starts
    # The defendant has not opened theirs.
    assert (await _dashboard_item(client, defendant, filing.id))["unread_documents"] == 1


async def test_registration_serves_the_notice_of_response_and_starts_the_defence_period(
    client: Client, app: web.Application, accounts: Any
) -> None:
    await seed(app)
    plaintiff, plaintiff_headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    lawyer, lawyer_headers = await accounts.headers(Role.LAWYER)
    created = await _ok(
        await client.post(
            "/api/v1/filing/filings",
            json={"court": "浙0281", "cause": "4.cont.loan.private", "claim_amount": "5000"},
            headers=plaintiff_headers,
        ),
        201,
    )
    url = f"/api/v1/filing/filings/{created['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        await _ok(await client.post(f"{url}/parties", json=body, headers=plaintiff_headers), 201)
    await _ok(await client.post(f"{url}/submit", headers=plaintiff_headers))
    registered = await _ok(await client.post(f"{url}/register", headers=clerk))
    assert registered["case_number"]

    case_id = uuid.UUID(created["id"])
    with app[DATABASE].activate():
        task = await ServiceTask.get(origin_key=f"filing:{case_id}:registered")
        [document] = await ServiceDocument.filter(task_id=task.id)
        [delivery] = await ServiceDelivery.filter(task_id=task.id)
        defendant_party = await Party.get(filing_id=case_id, role="defendant")
    assert task.origin == "filing" and document.kind == "notice_of_response"
    # Only the defendant: a notice of response starts the defence period of whoever gets it.
    assert delivery.party_id == defendant_party.id and delivery.recipient_role == "defendant"
    # The defendant has no account yet: the clerk serves it on paper.
    assert delivery.status == "postal" and delivery.postal_reason == "no_account"
    resp = await client.get(
        f"{SERVICE}/deliveries/{delivery.id}/documents/{document.id}", headers=clerk
    )
    assert resp.status == 200
    text = _pdf_text(await resp.read())
    assert "应诉通知书" in text and registered["case_number"] in text and "张三" in text

    served_at = datetime.now(UTC) - timedelta(hours=1)
    served = await _ok(
        await client.post(
            f"{SERVICE}/deliveries/{delivery.id}/postal",
            json={"served_at": served_at.isoformat(), "tracking_number": "EMS-1234567"},
            headers=clerk,
        )
    )
    [defence] = served["deadlines"]
    assert defence["kind"] == "response" and defence["days"] == 15  # CPL Art. 128

    # The defendant's lawyer sees the defence deadline on the dashboard; the plaintiff's side
    # does not get it from electronic service.
    with app[DATABASE].activate():
        await Representation.create(
            id=uuid.uuid4(),
            party=defendant_party,
            lawyer_account_id=lawyer.id,
            power_of_attorney_file_id=uuid.uuid4(),
            granted_at=datetime.now(UTC),
        )
        # The plaintiff paid the fee, so filing's own fee deadline is not the earliest one.
        await Filing.filter(id=case_id).update(fee_paid_at=datetime.now(UTC))
    page = await _ok(await client.get(DASHBOARD, headers=lawyer_headers))
    [item] = page["items"]
    assert item["next_deadline"]["kind"] == "response"
    assert item["next_deadline"]["on"] == defence["due"]
    assert item["next_deadline"]["label_zh"] == "答辩期"
    assert date.fromisoformat(defence["due"]) >= served_at.date() + timedelta(days=15)
    source = ServiceActivitySource(app[DATABASE])
    assert case_id not in await source.activity([case_id], plaintiff.id)
    assert (await source.activity([case_id], lawyer.id))[case_id].next_deadline is not None


async def test_signed_mediation_agreement_serves_the_statement(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    mediator = await staff(app, accounts, Role.CLERK)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="simple")
    for who in (plaintiff, defendant):
        await _ok(
            await client.post(
                f"/api/v1/async-hearings/cases/{filing.id}/consents",
                json={"scope": "mediation", "consented": True},
                headers=who.headers,
            )
        )
        await _ok(
            await client.post(
                f"{SERVICE}/cases/{filing.id}/consents/mine",
                json={"inbox": True},
                headers=who.headers,
            ),
            201,
        )
    started = await _ok(
        await client.post(f"/api/v1/mediation/cases/{filing.id}/mediations", headers=judge.headers),
        201,
    )
    one = f"/api/v1/mediation/mediations/{started['id']}"
    await _ok(
        await client.post(
            f"{one}/mediator", json={"mediator_id": str(mediator.account_id)}, headers=judge.headers
        )
    )
    terms = "被告于2026年12月31日前向原告支付4500元。"
    await _ok(
        await client.post(f"{one}/agreement", json={"terms": terms}, headers=mediator.headers), 201
    )
    await _ok(await client.post(f"{one}/agreement/sign", headers=plaintiff.present()))
    with app[DATABASE].activate():
        assert await ServiceTask.filter(filing_id=filing.id).count() == 0  # not yet effective
    signed = await _ok(await client.post(f"{one}/agreement/sign", headers=defendant.present()))
    assert signed["status"] == "effective"
    await run_jobs(app)

    for who, role in ((plaintiff, "plaintiff"), (defendant, "defendant")):
        [delivery] = (await _ok(await client.get(f"{SERVICE}/inbox", headers=who.headers)))["items"]
        assert delivery["recipient_role"] == role and delivery["status"] == "served"
        [document] = delivery["documents"]
        assert document["kind"] == "mediation_statement"
        # The very statement the parties signed: same SHA-256 as the mediation record.
        assert document["sha256"] == signed["statement_sha256"]
    url = f"{SERVICE}/deliveries/{delivery['id']}"
    await _ok(await client.post(f"{url}/sign", json={}, headers=defendant.present()))
    resp = await client.get(f"{url}/documents/{document['id']}", headers=defendant.headers)
    assert resp.status == 200
    assert hashlib.sha256(await resp.read()).hexdigest() == signed["statement_sha256"]
    statement = await client.get(f"{one}/statement", headers=defendant.headers)
    assert "4500元" in _pdf_text(await statement.read())


async def test_open_async_stage_window_is_a_dashboard_deadline(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge)
    hearing = await started_hearing(client, filing, plaintiff, defendant, judge)
    [open_stage] = [s for s in hearing["stages"] if s["status"] == "open"]
    closes = datetime.fromisoformat(open_stage["closes_at"])
    item = await _dashboard_item(client, defendant, filing.id)
    deadline = item["next_deadline"]
    assert deadline["kind"] == "async_stage"
    assert deadline["on"] == closes.astimezone(COURT_TZ).date().isoformat()
    assert item["next_hearing"] is None


async def test_a_defendant_domiciled_abroad_gets_30_days_from_the_party_record(
    client: Client, app: web.Application, accounts: Any
) -> None:
    await seed(app)
    plaintiff, plaintiff_headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    lawyer, _ = await accounts.headers(Role.LAWYER)
    created = await _ok(
        await client.post(
            "/api/v1/filing/filings",
            json={"court": "浙0281", "cause": "4.cont.loan.private", "claim_amount": "5000"},
            headers=plaintiff_headers,
        ),
        201,
    )
    url = f"/api/v1/filing/filings/{created['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281", domiciled_abroad=True),
    ):
        await _ok(await client.post(f"{url}/parties", json=body, headers=plaintiff_headers), 201)
    await _ok(await client.post(f"{url}/submit", headers=plaintiff_headers))
    await _ok(await client.post(f"{url}/register", headers=clerk))

    case_id = uuid.UUID(created["id"])
    with app[DATABASE].activate():
        # No clerk chose anything: registration took the domicile from the party record, and
        # the notice itself prints the 30 days.
        task = await ServiceTask.get(origin_key=f"filing:{case_id}:registered:abroad")
        assert not await ServiceTask.filter(origin_key=f"filing:{case_id}:registered").exists()
        [document] = await ServiceDocument.filter(task_id=task.id)
        [delivery] = await ServiceDelivery.filter(task_id=task.id)
        defendant_party = await Party.get(filing_id=case_id, role="defendant")
        plaintiff_party = await Party.get(filing_id=case_id, role="plaintiff")
        await Representation.create(
            id=uuid.uuid4(),
            party=defendant_party,
            lawyer_account_id=lawyer.id,
            power_of_attorney_file_id=uuid.uuid4(),
            granted_at=datetime.now(UTC),
        )
    assert delivery.party_id == defendant_party.id and delivery.recipient_abroad is True
    resp = await client.get(
        f"{SERVICE}/deliveries/{delivery.id}/documents/{document.id}", headers=clerk
    )
    text = _pdf_text(await resp.read())
    assert "30日内向本院提出答辩状" in text.replace("\n", ""), text

    async def served_on_1_september(delivery_id: object) -> list[dict[str, Any]]:
        out = await _ok(
            await client.post(
                f"{SERVICE}/deliveries/{delivery_id}/postal",
                json={"served_at": "2026-09-01T10:00:00+08:00", "tracking_number": "EMS-7654321"},
                headers=clerk,
            )
        )
        return list(out["deadlines"])

    [defence] = await served_on_1_september(delivery.id)
    # CPL Art. 285: 30 days from 2026-09-01 end on 2026-10-01, inside the National Day
    # holiday, so the period ends on the first working day after it.
    assert (defence["kind"], defence["days"], defence["article"]) == (
        "response",
        30,
        "CPL Art. 285",
    )
    assert (defence["start"], defence["due"], defence["rolled_over"]) == (
        "2026-09-01",
        "2026-10-08",
        True,
    )
    assert "CPL Art. 285" in defence["explanation_en"] and "没有住所" in defence["explanation_zh"]

    # A judgment served without an explicit flag: the record decides per recipient (the
    # defendant's lawyer speaks for a party abroad); the clerk's explicit choice overrides it.
    form = aiohttp.FormData()
    form.add_field("purpose", "document")
    form.add_field("file", PDF, filename="judgment.pdf", content_type="application/pdf")
    file_id = (await _ok(await client.post("/api/v1/files", data=form, headers=clerk), 201))["id"]
    task_out = await _ok(
        await client.post(
            f"{SERVICE}/cases/{case_id}/tasks",
            json={
                "documents": [{"kind": "judgment", "file_id": file_id}],
                "recipients": [
                    {"party_id": str(plaintiff_party.id)},
                    {"party_id": str(defendant_party.id)},
                    {"account_id": str(lawyer.id)},
                ],
                "plan": [["inapp"]],
            },
            headers=clerk,
        ),
        201,
    )
    by_role = {d["recipient_role"]: d for d in task_out["deliveries"]}
    assert {r: d["recipient_abroad"] for r, d in by_role.items()} == {
        "plaintiff": False,
        "defendant": True,
        "agent": True,
    }
    # The plaintiff (at home, consented) is served in the app: the ordinary 15 days to appeal.
    await run_jobs(app)
    home = await _ok(
        await client.get(f"{SERVICE}/deliveries/{by_role['plaintiff']['id']}", headers=clerk)
    )
    assert home["service_date"] is not None
    [home_appeal] = home["deadlines"]
    assert (home_appeal["days"], home_appeal["article"]) == (15, "CPL Art. 171")
    [away_appeal] = await served_on_1_september(by_role["defendant"]["id"])
    assert (away_appeal["days"], away_appeal["article"], away_appeal["due"]) == (
        30,
        "CPL Art. 286",
        "2026-10-08",
    )
    override = await _ok(
        await client.post(
            f"{SERVICE}/cases/{case_id}/tasks",
            json={
                "documents": [{"kind": "judgment", "file_id": file_id}],
                "recipients": [{"party_id": str(defendant_party.id), "abroad": False}],
                "plan": [["inapp"]],
            },
            headers=clerk,
        ),
        201,
    )
    assert override["deliveries"][0]["recipient_abroad"] is False
