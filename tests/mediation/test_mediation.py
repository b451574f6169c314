"""Online mediation: to a signed agreement and a served mediation statement; designation
deadline and mediation periods."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from pypdf import PdfReader

from backend.appkeys import DATABASE
from backend.auth.principal import Role
from filing.models import CaseEvent, Representation
from hearings.mediation import service as mediation_service
from hearings.mediation.models import Mediation
from hearings.mediation.service import court_day, period_days
from hearings.mediation.workdays import WORKING_DAYS, add_working_days, period_end, weekdays_only
from service_of_process.models import ServiceDelivery, ServiceDocument, ServiceTask
from tests.async_hearings.helpers import (
    Client,
    litigant,
    party_ids,
    registered_case,
    represent,
    run_jobs,
    staff,
)
from tests.identity.conftest import Platform

CASES = "/api/v1/mediation/cases"
MEDIATIONS = "/api/v1/mediation/mediations"


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _consent(client: Client, filing_id: str, headers: dict[str, str]) -> None:
    resp = await client.post(
        f"/api/v1/async-hearings/cases/{filing_id}/consents",
        json={"scope": "mediation", "consented": True},
        headers=headers,
    )
    await _ok(resp)


async def test_mediation_to_a_signed_agreement_and_a_served_statement(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    mediator = await staff(app, accounts, Role.CLERK)
    outsider = await staff(app, accounts, Role.CLERK)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="simple")
    case = f"{CASES}/{filing.id}/mediations"

    # every party must consent first
    problem = await _ok(await client.post(case, headers=judge.headers), 409)
    assert problem["code"] == "consent_required"
    await _consent(client, str(filing.id), plaintiff.headers)
    await _consent(client, str(filing.id), defendant.headers)
    assert (await client.post(case, headers=outsider.headers)).status == 404
    started = await _ok(await client.post(case, headers=judge.headers), 201)
    assert started["phase"] == "post_filing" and started["period_days"] == 7
    assert started["status"] == "awaiting_mediator" and started["designation_overdue"] is False
    today, calendar = court_day(datetime.now(UTC)), app[WORKING_DAYS]
    assert date.fromisoformat(started["designation_due_on"]) == add_working_days(today, 3, calendar)
    assert date.fromisoformat(started["ends_on"]) == period_end(today, 7, calendar)
    # one mediation at a time
    assert (await _ok(await client.post(case, headers=judge.headers), 409))[
        "code"
    ] == "mediation_active"
    one = f"{MEDIATIONS}/{started['id']}"

    # the mediator is court staff, designated by the judge; before that nobody mediates
    resp = await client.post(
        f"{one}/sessions",
        json={"mode": "async", "starts_at": datetime.now(UTC).isoformat()},
        headers=mediator.headers,
    )
    assert resp.status == 404
    resp = await client.post(
        f"{one}/mediator", json={"mediator_id": str(plaintiff.account_id)}, headers=judge.headers
    )
    assert (await _ok(resp, 422))["code"] == "invalid_mediator"
    body = await _ok(
        await client.post(
            f"{one}/mediator", json={"mediator_id": str(mediator.account_id)}, headers=judge.headers
        )
    )
    assert body["status"] == "in_progress" and body["designated_late"] is False
    assert (await client.get(one, headers=outsider.headers)).status == 404

    session = await _ok(
        await client.post(
            f"{one}/sessions",
            json={
                "mode": "live",
                "starts_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "note": "视频调解",
            },
            headers=mediator.headers,
        ),
        201,
    )
    assert session["mode"] == "live"

    # proposals and counter-proposals
    first = await _ok(
        await client.post(
            f"{one}/proposals", json={"terms": "被告一次性支付5000元。"}, headers=plaintiff.headers
        ),
        201,
    )
    resp = await client.post(
        f"{one}/proposals",
        json={"terms": "自己还价", "counter_to": first["id"]},
        headers=plaintiff.headers,
    )
    assert (await _ok(resp, 422))["code"] == "invalid_counter"
    counter = await _ok(
        await client.post(
            f"{one}/proposals",
            json={"terms": "分两期支付4000元。", "counter_to": first["id"]},
            headers=defendant.headers,
        ),
        201,
    )
    assert counter["author_role"] == "defendant" and counter["counter_to"] == first["id"]
    assert (
        await client.post(f"{one}/agreement", json={"terms": "x" * 5}, headers=plaintiff.headers)
    ).status == 404

    terms = "被告于2026年12月31日前分两期向原告支付4500元，原告放弃其余诉讼请求。"
    agreement = await _ok(
        await client.post(f"{one}/agreement", json={"terms": terms}, headers=mediator.headers), 201
    )
    assert agreement["status"] == "awaiting_signatures" and agreement["awaiting"] == 2

    # signing needs a fresh face check; the first signature does not make it effective
    resp = await client.post(f"{one}/agreement/sign", headers=plaintiff.headers)
    assert (await _ok(resp, 403))["code"] == "presence_required"
    # the mediator (court staff) signs for no party, even after a real step-up
    mediator_signing = await mediator.step_up(client)
    assert (await client.post(f"{one}/agreement/sign", headers=mediator_signing)).status == 404
    body = await _ok(await client.post(f"{one}/agreement/sign", headers=plaintiff.present()))
    assert body["status"] == "awaiting_signatures" and body["awaiting"] == 1
    assert (await client.get(f"{one}/statement", headers=plaintiff.headers)).status == 404
    resp = await client.post(f"{one}/agreement/sign", headers=plaintiff.present())
    assert (await _ok(resp, 409))["code"] == "already_signed"

    body = await _ok(await client.post(f"{one}/agreement/sign", headers=defendant.present()))
    assert body["status"] == "effective" and body["awaiting"] == 0
    assert [s["signer_role"] for s in body["signatures"]] == ["plaintiff", "defendant"]
    assert [s["party_name"] for s in body["signatures"]] == ["张三", "李四"]
    assert all(s["valid"] for s in body["signatures"])
    # effective at the last signature
    assert body["effective_at"] == body["signatures"][-1]["signed_at"]
    assert (await _ok(await client.get(one, headers=judge.headers)))["status"] == "agreed"

    resp = await client.get(f"{one}/statement", headers=defendant.headers)
    assert resp.status == 200
    pdf = await resp.read()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")
    assert "调解书" in text and "4500元" in text and "张三" in text

    # the statement went to electronic service (tests/integration follow it to the inbox)
    with app[DATABASE].activate():
        [task] = await ServiceTask.filter(filing_id=filing.id)
        [document] = await ServiceDocument.filter(task_id=task.id)
        assert document.kind == "mediation_statement"
        assert document.sha256 == body["statement_sha256"]
        deliveries = await ServiceDelivery.filter(task_id=task.id)
        assert {d.account_id for d in deliveries} == {plaintiff.account_id, defendant.account_id}
        events = await CaseEvent.filter(filing_id=filing.id).values_list("kind", flat=True)
    assert "mediation_agreement_effective" in events

    # nothing more happens in a concluded mediation; parties were asked to sign over WeChat
    resp = await client.post(f"{one}/proposals", json={"terms": "再议"}, headers=plaintiff.headers)
    assert (await _ok(resp, 409))["code"] == "mediation_over"
    await run_jobs(app)
    async with platform.session.get(f"{platform.base}/__control/messages") as resp:
        messages = (await resp.json())["messages"]
    assert {m["touser"] for m in messages} == {plaintiff.openid, defendant.openid}


async def test_pre_filing_period_and_expiry(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge, status="submitted")
    await _consent(client, str(filing.id), plaintiff.headers)
    await _consent(client, str(filing.id), defendant.headers)
    started = await _ok(
        await client.post(f"{CASES}/{filing.id}/mediations", headers=plaintiff.headers), 201
    )
    assert started["phase"] == "pre_filing" and started["period_days"] == 30

    # the period runs out: the mediation reads as expired and refuses further steps
    with app[DATABASE].activate():
        await Mediation.filter(id=started["id"]).update(
            ends_on=datetime.now(UTC).date() - timedelta(days=1),
            designation_due_on=datetime.now(UTC).date() - timedelta(days=2),
        )
    one = f"{MEDIATIONS}/{started['id']}"
    body = await _ok(await client.get(one, headers=plaintiff.headers))
    assert body["status"] == "expired" and body["designation_overdue"] is True
    resp = await client.post(f"{one}/proposals", json={"terms": "还款"}, headers=plaintiff.headers)
    problem = await _ok(resp, 409)
    assert problem["code"] == "mediation_period_expired" and "第二十四条" in problem["detail"]


@pytest.mark.parametrize(
    ("phase", "procedure", "days"),
    [
        ("pre_filing", "ordinary", 30),
        ("pre_filing", "simple", 30),
        ("post_filing", "ordinary", 15),
        ("post_filing", "simple", 7),
        ("post_filing", "small_claims", 7),
    ],
)
def test_mediation_periods(phase: str, procedure: str, days: int) -> None:
    assert period_days(phase, procedure) == days


def test_working_days() -> None:
    friday = date(2026, 11, 20)
    assert add_working_days(friday, 3) == date(2026, 11, 25)  # Mon, Tue, Wed
    assert add_working_days(date(2026, 11, 23), 3) == date(2026, 11, 26)
    # a period ending on a Saturday runs to Monday (CPL Art. 85)
    assert period_end(date(2026, 11, 14), 7) == date(2026, 11, 23)
    assert period_end(date(2026, 11, 16), 7) == date(2026, 11, 23)
    # a replacement calendar: a holiday on Monday the 23rd
    calendar = lambda d: d.weekday() < 5 and d != date(2026, 11, 23)  # noqa: E731
    assert add_working_days(friday, 3, calendar) == date(2026, 11, 26)


async def test_a_late_designation_is_made_and_flagged(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    mediator = await staff(app, accounts, Role.CLERK)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="ordinary")
    await _consent(client, str(filing.id), plaintiff.headers)
    await _consent(client, str(filing.id), defendant.headers)
    started = await _ok(
        await client.post(f"{CASES}/{filing.id}/mediations", headers=judge.headers), 201
    )
    assert started["period_days"] == 15
    with app[DATABASE].activate():
        await Mediation.filter(id=started["id"]).update(
            designation_due_on=datetime.now(UTC).date() - timedelta(days=1)
        )
    one = f"{MEDIATIONS}/{started['id']}"
    assert (await _ok(await client.get(one, headers=judge.headers)))["designation_overdue"] is True
    # parties cannot designate; the judge still can, and the delay stays on record
    body = {"mediator_id": str(mediator.account_id)}
    assert (
        await client.post(f"{one}/mediator", json=body, headers=plaintiff.headers)
    ).status == 404
    designated = await _ok(await client.post(f"{one}/mediator", json=body, headers=judge.headers))
    assert designated["designated_late"] is True and designated["designation_overdue"] is False
    # the mediator may close it without agreement
    closed = await _ok(
        await client.post(f"{one}/close", json={"note": "双方分歧过大"}, headers=mediator.headers)
    )
    assert closed["status"] == "failed"


async def test_a_lawyer_signs_the_agreement_for_their_client(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)  # 李四
    co_defendant = await litigant(client, app, platform)  # 王五
    judge = await staff(app, accounts, Role.JUDGE)
    mediator = await staff(app, accounts, Role.CLERK)
    for_li, for_wang = (
        await staff(app, accounts, Role.LAWYER),
        await staff(app, accounts, Role.LAWYER),
    )
    filing = await registered_case(
        app, plaintiff, defendant, judge, more=(("defendant", co_defendant, "王五"),)
    )
    parties = await party_ids(app, filing)
    await represent(app, filing, "李四", for_li)
    wang_power = await represent(app, filing, "王五", for_wang)
    for person in (plaintiff, defendant, co_defendant):
        await _consent(client, str(filing.id), person.headers)
    started = await _ok(
        await client.post(f"{CASES}/{filing.id}/mediations", headers=judge.headers), 201
    )
    one = f"{MEDIATIONS}/{started['id']}"
    await _ok(
        await client.post(
            f"{one}/mediator", json={"mediator_id": str(mediator.account_id)}, headers=judge.headers
        )
    )
    agreement = await _ok(
        await client.post(
            f"{one}/agreement", json={"terms": "两被告共同支付4500元。"}, headers=mediator.headers
        ),
        201,
    )
    assert agreement["awaiting"] == 3

    # the lawyer signs with the same step-up as a party: a fresh face check
    resp = await client.post(f"{one}/agreement/sign", headers=for_li.headers)
    assert (await _ok(resp, 403))["code"] == "presence_required"
    body = await _ok(await client.post(f"{one}/agreement/sign", headers=for_li.present()))
    assert body["awaiting"] == 2 and body["status"] == "awaiting_signatures"
    [signed] = body["signatures"]
    assert signed["party_id"] == parties["李四"] and signed["signer_id"] == str(for_li.account_id)
    assert signed["as_agent"] is True and signed["signer_role"] == "defendant"
    assert signed["party_name"] == "李四"
    assert signed["valid"] is True
    # the client has been signed for: neither the client nor the lawyer signs again
    resp = await client.post(f"{one}/agreement/sign", headers=defendant.present())
    assert (await _ok(resp, 409))["code"] == "already_signed"
    # a lawyer signs only for their own client
    resp = await client.post(
        f"{one}/agreement/sign",
        params={"party_id": parties["张三"]},
        headers=for_wang.present(),
    )
    assert (await _ok(resp, 403))["code"] == "not_your_party"

    # a revoked power of attorney applies on the next request
    with app[DATABASE].activate():
        await Representation.filter(id=wang_power.id).update(revoked_at=datetime.now(UTC))
    assert (await client.post(f"{one}/agreement/sign", headers=for_wang.present())).status == 404

    body = await _ok(await client.post(f"{one}/agreement/sign", headers=plaintiff.present()))
    assert body["status"] == "awaiting_signatures" and body["awaiting"] == 1
    # the last party's own signature makes it effective, at that moment
    body = await _ok(await client.post(f"{one}/agreement/sign", headers=co_defendant.present()))
    assert body["status"] == "effective" and body["awaiting"] == 0
    assert body["effective_at"] == body["signatures"][-1]["signed_at"]
    assert [(s["party_id"], s["as_agent"]) for s in body["signatures"]] == [
        (parties["李四"], True),
        (parties["张三"], False),
        (parties["王五"], False),
    ]
    resp = await client.get(f"{one}/statement", headers=for_li.headers)
    assert resp.status == 200
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(await resp.read())).pages
    ).replace("\n", "")
    assert "李四 委托代理人代为签署/signed by the lawyer as agent" in text
    assert "王五 本人签署/signed in person" in text
    with app[DATABASE].activate():
        signed_events = await CaseEvent.filter(
            filing_id=filing.id, kind="mediation_agreement_signed"
        ).order_by("id")
    assert signed_events[0].actor_id == for_li.account_id
    assert signed_events[0].details["as_agent"] is True


async def test_designation_deadline_follows_the_official_calendar(
    client: Client,
    app: web.Application,
    accounts: Any,
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # National Day 2026 (State Council notice, as the holidays library has it): 1–7 October are
    # rest days (5 October the observed holiday, 6 and 7 swapped for Sun 20 Sep and Sat 10 Oct),
    # Saturday 10 October is a make-up working day.
    calendar = app[WORKING_DAYS]
    assert [calendar(date(2026, 10, d)) for d in range(1, 12)] == [
        *[False] * 7,  # 1–7 October
        True,  # Thu 8
        True,  # Fri 9
        True,  # Sat 10: make-up working day
        False,  # Sun 11
    ]
    assert calendar(date(2026, 9, 20)) is True  # a Sunday worked for 6 October
    # a year the official calendar does not cover falls back to weekdays
    for day in (date(2000, 1, 1), date(2099, 1, 1), date(2099, 1, 5)):
        assert calendar(day) is weekdays_only(day)

    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    filing = await registered_case(app, plaintiff, defendant, judge, procedure="simple")
    for person in (plaintiff, defendant):
        await _consent(client, str(filing.id), person.headers)
    # asked for on Wednesday 30 September at 10:00 in Beijing, just before the break
    monkeypatch.setattr(
        mediation_service, "utcnow", lambda: datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    )
    started = await _ok(
        await client.post(f"{CASES}/{filing.id}/mediations", headers=judge.headers), 201
    )
    # three working days after the break: Thu 8, Fri 9 and the make-up Saturday 10 October
    # (weekdays alone would have said Monday 5 October, a holiday)
    assert started["designation_due_on"] == "2026-10-10"
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 5)
    # the 7-day period ends on Wed 7 October, a rest day: it runs to Thu 8 (CPL Art. 85)
    assert started["ends_on"] == "2026-10-08"


async def test_a_lawyer_for_two_parties_signs_once_for_each(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    plaintiff = await litigant(client, app, platform)
    defendant = await litigant(client, app, platform)
    co_defendant = await litigant(client, app, platform)
    judge = await staff(app, accounts, Role.JUDGE)
    mediator = await staff(app, accounts, Role.CLERK)
    lawyer = await staff(app, accounts, Role.LAWYER)
    filing = await registered_case(
        app, plaintiff, defendant, judge, more=(("defendant", co_defendant, "王五"),)
    )
    parties = await party_ids(app, filing)
    for name in ("李四", "王五"):
        await represent(app, filing, name, lawyer)
    for person in (plaintiff, defendant, co_defendant):
        await _consent(client, str(filing.id), person.headers)
    started = await _ok(
        await client.post(f"{CASES}/{filing.id}/mediations", headers=judge.headers), 201
    )
    one = f"{MEDIATIONS}/{started['id']}"
    body = {"mediator_id": str(mediator.account_id)}
    await _ok(await client.post(f"{one}/mediator", json=body, headers=judge.headers))
    terms = {"terms": "两被告共同支付4500元。"}
    await _ok(await client.post(f"{one}/agreement", json=terms, headers=mediator.headers), 201)

    # acting for two parties, the lawyer says for whom each signature is
    resp = await client.post(f"{one}/agreement/sign", headers=lawyer.present())
    assert (await _ok(resp, 422))["code"] == "party_required"
    for name, awaiting in (("李四", 2), ("王五", 1)):
        signed = await _ok(
            await client.post(
                f"{one}/agreement/sign",
                params={"party_id": parties[name]},
                headers=lawyer.present(),
            )
        )
        assert signed["awaiting"] == awaiting
    resp = await client.post(
        f"{one}/agreement/sign", params={"party_id": parties["李四"]}, headers=lawyer.present()
    )
    assert (await _ok(resp, 409))["code"] == "already_signed"
    signed = await _ok(await client.post(f"{one}/agreement/sign", headers=plaintiff.present()))
    assert signed["status"] == "effective"
    assert [(s["party_id"], s["signer_id"], s["as_agent"]) for s in signed["signatures"]] == [
        (parties["李四"], str(lawyer.account_id), True),
        (parties["王五"], str(lawyer.account_id), True),
        (parties["张三"], str(plaintiff.account_id), False),
    ]
