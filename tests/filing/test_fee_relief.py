"""Fee relief (deferral, reduction, waiver: Decree 481 Art. 44-47) over HTTP, and what the payment
endpoint charges after each decision; two payers racing for one fee; money arriving twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.auth.principal import Role
from filing.models import CaseEvent, Filing, Payment
from filing.workflow import china_date
from identity.models import WeChatIdentity
from tests.filing import test_payments as pay
from tests.filing.workflow_helpers import (
    COMPANY_CODE,
    DEFENDANT_ID,
    PDF,
    PLAINTIFF_ID,
    form,
    person,
    seed,
    verify_real_name,
)

Client = Any
API = "/api/v1/filing"
Control = Callable[..., Awaitable[Any]]
APPID = pay.APPID
# The fake WeChat Pay platform and a server on the port its notifications go to.
merchant, platform, fake, port = pay.merchant, pay.platform, pay.fake, pay.port
settings, client, control = pay.settings, pay.client, pay.control


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _wechat(account_id: Any) -> None:
    await WeChatIdentity.create(
        id=uuid.uuid4(),
        account_id=account_id,
        appid=APPID,
        openid="o" + uuid.uuid4().hex[:27],
        last_login_at=datetime.now(UTC),
    )


class Case:
    def __init__(self, url: str, parties: dict[str, str], headers: dict[str, dict[str, str]]):
        self.url = url
        self.parties = parties
        self.headers = headers

    @property
    def filing_id(self) -> str:
        return self.url.rsplit("/", 1)[1]


async def _registered_case(client: Client, app: web.Application, accounts: Any) -> Case:
    """A lawyer files for a natural-person plaintiff and a company co-plaintiff (powers of
    attorney for both) against a natural-person defendant; the Yuyao clerk registers it."""
    await seed(app)
    plaintiff, p_headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    lawyer, l_headers = await accounts.headers(Role.LAWYER)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    _, judge = await accounts.headers(Role.JUDGE, court_code="浙0281")
    _, other_clerk = await accounts.headers(Role.CLERK, court_code="浙0106")
    _, outsider = await accounts.headers(Role.LITIGANT)
    draft = await _ok(
        await client.post(
            f"{API}/filings",
            json={
                "court": "浙0281",
                "cause": "4.cont.loan.private",
                "claim_amount": "100000",
                "claims": "判令被告归还借款100000元",
                "facts_and_reasons": "被告于2025年借款未还。",
            },
            headers=l_headers,
        ),
        201,
    )
    url = f"{API}/filings/{draft['id']}"
    natural = await _ok(
        await client.post(
            f"{url}/parties", json=person("plaintiff", PLAINTIFF_ID, "330106"), headers=l_headers
        ),
        201,
    )
    company = await _ok(
        await client.post(
            f"{url}/parties",
            json={
                "role": "plaintiff",
                "kind": "organisation",
                "name": "余姚某某科技有限公司",
                "credit_code": COMPANY_CODE,
                "region_code": "330281",
                "address": "余姚市某路1号",
            },
            headers=l_headers,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{url}/parties", json=person("defendant", DEFENDANT_ID, "330281"), headers=l_headers
        ),
        201,
    )
    for party in (natural, company):
        await _ok(
            await client.post(
                f"{url}/representations",
                data=form(PDF, "poa.pdf", party_id=party["id"]),
                headers=l_headers,
            ),
            201,
        )
    await _ok(await client.post(f"{url}/submit", headers=l_headers))
    registered = await _ok(await client.post(f"{url}/register", headers=clerk))
    assert registered["fee_notice"]["total"] == "2300.00"
    # The plaintiff links their own account too (as after the case-claim step).
    from filing.models import Party

    await Party.filter(id=natural["id"]).update(account_id=plaintiff.id)
    await _wechat(lawyer.id)
    await _wechat(plaintiff.id)
    return Case(
        url,
        {"natural": natural["id"], "company": company["id"]},
        {
            "lawyer": l_headers,
            "plaintiff": p_headers,
            "clerk": clerk,
            "judge": judge,
            "other_clerk": other_clerk,
            "outsider": outsider,
        },
    )


async def test_reduction_is_decided_and_the_order_follows_it(
    client: Client, app: web.Application, accounts: Any, control: Control, fake: TestServer
) -> None:
    case = await _registered_case(client, app, accounts)
    url, h = case.url, case.headers
    reliefs = f"{url}/fee-reliefs"

    def body(**extra: Any) -> dict[str, Any]:
        return {
            "party_id": case.parties["natural"],
            "kind": "reduction",
            "grounds": "原告系低保户，无力全额缴纳",
            **extra,
        }

    company = await client.post(
        reliefs, json=body(party_id=case.parties["company"]), headers=h["lawyer"]
    )
    assert company.status == 422
    assert (await company.json())["code"] == "relief_natural_persons_only"
    assert (await client.post(reliefs, json=body(), headers=h["outsider"])).status == 404
    for bad, code in (
        (body(requested_payable="1700"), "reduction_out_of_range"),  # less than 30 % off 2300
        (body(requested_due_on="2030-01-01"), "not_applicable"),
        (body(supporting_file_id=str(uuid.uuid4())), "unknown_file"),
        (body(kind="forgiveness"), "validation_failed"),
        (body(grounds="x"), "validation_failed"),
        (body(party_id="nope"), "validation_failed"),
        ({**body(), "approved": True}, "validation_failed"),
    ):
        response = await client.post(reliefs, json=bad, headers=h["lawyer"])
        assert response.status == 422, (bad, await response.text())
        assert (await response.json())["code"] == code, bad

    upload = await _ok(
        await client.post(
            "/api/v1/files",
            data=form(PDF, "dibao.pdf", purpose="document"),
            headers=h["lawyer"],
        ),
        201,
    )
    applied = await _ok(
        await client.post(
            reliefs,
            json=body(requested_payable="1000", supporting_file_id=upload["id"]),
            headers=h["lawyer"],
        ),
        201,
    )
    assert applied["status"] == "pending" and applied["requested_payable"] == "1000.00"
    again = await client.post(reliefs, json=body(kind="waiver"), headers=h["plaintiff"])
    assert again.status == 409 and (await again.json())["code"] == "relief_pending"

    # Before the decision the whole fee is charged.
    first = await _ok(await client.post(f"{url}/payments", headers=h["lawyer"]), 201)
    assert first["payment"]["amount_fen"] == 230000

    decision = f"{reliefs}/{applied['id']}/decision"
    grant = {"outcome": "grant", "payable": "1200"}
    for stranger in ("other_clerk", "lawyer", "outsider"):
        assert (await client.post(decision, json=grant, headers=h[stranger])).status == 404
    too_much = await client.post(decision, json={**grant, "payable": "1700"}, headers=h["judge"])
    assert too_much.status == 422 and (await too_much.json())["code"] == "reduction_out_of_range"
    granted = await _ok(await client.post(decision, json=grant, headers=h["judge"]))
    assert granted["status"] == "granted" and granted["granted_payable"] == "1200.00"
    replay = await client.post(decision, json=grant, headers=h["clerk"])
    assert replay.status == 409

    # The timeline tells both sides; the defendant's view of the list hides the grounds.
    kinds = [
        e["kind"]
        for e in (await _ok(await client.get(f"{url}/timeline", headers=h["plaintiff"])))["items"]
    ]
    assert "fee_relief_requested" in kinds and "fee_relief_decided" in kinds
    listed = await _ok(await client.get(reliefs, headers=h["plaintiff"]))
    assert listed["items"][0]["grounds"] == "原告系低保户，无力全额缴纳"
    assert (await client.get(reliefs, headers=h["outsider"])).status == 404

    # The order is now for the reduced amount; the old one is closed, here and at WeChat.
    second = await _ok(await client.post(f"{url}/payments", headers=h["lawyer"]), 201)
    assert second["payment"]["amount_fen"] == 120000
    assert second["payment"]["out_trade_no"] != first["payment"]["out_trade_no"]
    old = await Payment.get(out_trade_no=first["payment"]["out_trade_no"])
    assert old.status == "closed"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            fake.make_url("/__control/pay/pay"),
            json={"out_trade_no": first["payment"]["out_trade_no"]},
        ) as stale,
    ):
        assert stale.status == 409  # WeChat takes no money for the closed order

    paid = await control("pay", out_trade_no=second["payment"]["out_trade_no"])
    assert [d["status"] for d in paid["deliveries"]] == [204]
    status = await _ok(await client.get(f"{url}/payments", headers=h["plaintiff"]))
    assert status["fee_paid"] is True and status["fee_total_fen"] == 120000
    dashboard = await _ok(await client.get(f"{API}/dashboard", headers=h["lawyer"]))
    fee = dashboard["items"][0]["fee"]
    assert fee == {
        "status": "paid",
        "amount": "1200.00",
        "due_on": fee["due_on"],
        "relief": "reduction",
    }
    late = await client.post(reliefs, json=body(kind="waiver"), headers=h["lawyer"])
    assert late.status == 409 and (await late.json())["code"] == "fee_not_due"


async def test_refusal_deferral_and_waiver(
    client: Client, app: web.Application, accounts: Any
) -> None:
    case = await _registered_case(client, app, accounts)
    url, h = case.url, case.headers
    reliefs = f"{url}/fee-reliefs"
    natural = case.parties["natural"]
    today = china_date(datetime.now(UTC))

    waiver = await _ok(
        await client.post(
            reliefs,
            json={"party_id": natural, "kind": "waiver", "grounds": "丧失劳动能力"},
            headers=h["plaintiff"],
        ),
        201,
    )
    decision = f"{reliefs}/{waiver['id']}/decision"
    no_reason = await client.post(decision, json={"outcome": "refuse"}, headers=h["clerk"])
    assert no_reason.status == 422 and (await no_reason.json())["code"] == "reason_required"
    refused = await _ok(
        await client.post(
            decision, json={"outcome": "refuse", "reason": "未提交困难证明"}, headers=h["clerk"]
        )
    )
    assert refused["status"] == "refused" and refused["decision_reason"] == "未提交困难证明"
    events = await CaseEvent.filter(filing_id=case.filing_id, kind="fee_relief_decided")
    assert events[0].details["outcome"] == "refused"

    # The 7 days pass unpaid: the payment endpoint refuses (Art. 22) until a deferral is granted.
    await Filing.filter(id=case.filing_id).update(fee_due_on=today - timedelta(days=1))
    overdue = await client.post(f"{url}/payments", headers=h["plaintiff"])
    assert overdue.status == 409 and (await overdue.json())["code"] == "fee_overdue"
    too_early = await client.post(
        reliefs,
        json={
            "party_id": natural,
            "kind": "deferral",
            "grounds": "暂时失业",
            "requested_due_on": str(today - timedelta(days=3)),
        },
        headers=h["plaintiff"],
    )
    assert too_early.status == 422 and (await too_early.json())["code"] == "deferral_not_later"
    deferral = await _ok(
        await client.post(
            reliefs,
            json={
                "party_id": natural,
                "kind": "deferral",
                "grounds": "暂时失业",
                "requested_due_on": str(today + timedelta(days=20)),
            },
            headers=h["plaintiff"],
        ),
        201,
    )
    granted = await _ok(
        await client.post(
            f"{reliefs}/{deferral['id']}/decision", json={"outcome": "grant"}, headers=h["judge"]
        )
    )
    assert granted["granted_due_on"] == str(today + timedelta(days=20))
    dashboard = await _ok(await client.get(f"{API}/dashboard", headers=h["plaintiff"]))
    item = dashboard["items"][0]
    assert item["fee"]["status"] == "due" and item["fee"]["relief"] == "deferral"
    assert item["next_deadline"]["kind"] == "fee_payment"
    assert item["next_deadline"]["on"] == str(today + timedelta(days=20))
    started = await _ok(await client.post(f"{url}/payments", headers=h["plaintiff"]), 201)
    assert started["payment"]["amount_fen"] == 230000

    # A waiver granted: nothing to pay, no fee deadline.
    waiver = await _ok(
        await client.post(
            reliefs,
            json={"party_id": natural, "kind": "waiver", "grounds": "丧失劳动能力，附残疾证"},
            headers=h["lawyer"],
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{reliefs}/{waiver['id']}/decision", json={"outcome": "grant"}, headers=h["clerk"]
        )
    )
    nothing = await client.post(f"{url}/payments", headers=h["plaintiff"])
    assert nothing.status == 409 and (await nothing.json())["code"] == "fee_not_due"
    item = (await _ok(await client.get(f"{API}/dashboard", headers=h["plaintiff"])))["items"][0]
    assert item["fee"]["status"] == "waived" and item["fee"]["amount"] == "0.00"
    assert item["next_deadline"] is None


async def test_two_payers_one_open_order_and_a_second_payment_is_refunded(
    client: Client, app: web.Application, accounts: Any, control: Control
) -> None:
    case = await _registered_case(client, app, accounts)
    url, h = case.url, case.headers

    # Plaintiff and lawyer press "pay" at the same moment: one order, one refusal.
    responses = await asyncio.gather(
        client.post(f"{url}/payments", headers=h["plaintiff"]),
        client.post(f"{url}/payments", headers=h["lawyer"]),
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [201, 409], [await r.text() for r in responses]
    loser = next(r for r in responses if r.status == 409)
    assert (await loser.json())["code"] == "payment_in_progress"
    winner = await next(r for r in responses if r.status == 201).json()
    assert await Payment.filter(filing_id=case.filing_id, status="pending").count() == 1
    winner_headers = h["plaintiff"] if responses[0].status == 201 else h["lawyer"]
    other_headers = h["lawyer"] if winner_headers is h["plaintiff"] else h["plaintiff"]

    # The first order lapses on our side (WeChat still holds it open): the other payer may start.
    await Payment.filter(out_trade_no=winner["payment"]["out_trade_no"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    second = await _ok(await client.post(f"{url}/payments", headers=other_headers), 201)
    assert (await Payment.get(out_trade_no=winner["payment"]["out_trade_no"])).status == "closed"

    # Both get paid at WeChat: the current order is credited, the lapsed one is kept for refund.
    paid = await control("pay", out_trade_no=second["payment"]["out_trade_no"])
    assert [d["status"] for d in paid["deliveries"]] == [204]
    late = await control("pay", out_trade_no=winner["payment"]["out_trade_no"])
    assert [d["status"] for d in late["deliveries"]] == [204]
    duplicate = await control("redeliver", out_trade_no=winner["payment"]["out_trade_no"])
    assert [d["status"] for d in duplicate["deliveries"]] == [204]

    rows = {p.out_trade_no: p for p in await Payment.filter(filing_id=case.filing_id)}
    assert rows[second["payment"]["out_trade_no"]].status == "paid"
    assert rows[winner["payment"]["out_trade_no"]].status == "refund_due"
    assert await CaseEvent.filter(filing_id=case.filing_id, kind="fee_paid").count() == 1
    refunds = await CaseEvent.filter(filing_id=case.filing_id, kind="payment_refund_due")
    assert len(refunds) == 1 and refunds[0].details["reason"] == "fee_already_paid"
    status = await _ok(await client.get(f"{url}/payments", headers=winner_headers))
    assert status["fee_paid"] is True
    assert sorted(p["status"] for p in status["items"]) == ["paid", "refund_due"]
    assert (await client.post(f"{url}/payments", headers=winner_headers)).status == 409
