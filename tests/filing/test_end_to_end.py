"""Issue 4's "done when": a lawyer files a case end to end over HTTP — draft, power of attorney,
evidence, fee quote, submission at a court without jurisdiction, routing and forwarding, one
correction round, registration with an official case number, payment through the fake WeChat Pay
with a duplicated notification, and the dashboard showing the case."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from backend.app import create_app
from backend.auth.principal import Role
from backend.settings import Settings
from filing.activity import CASE_ACTIVITY_SOURCES, CaseActivity, Deadline
from filing.models import CaseEvent, Payment
from filing.workflow import china_date
from identity.models import WeChatIdentity
from tests.filing import test_payments as pay
from tests.filing.workflow_helpers import COMPANY_CODE, PDF, PLAINTIFF_ID, form, person, seed

Client = Any
API = "/api/v1/filing"
CASE_NUMBER = re.compile(r"^\((?P<year>\d{4})\)浙0281民初(?P<serial>[1-9]\d*)号$")
# The fake WeChat Pay platform and a server on the port its notifications go to.
merchant, platform, fake, port = pay.merchant, pay.platform, pay.fake, pay.port
settings, client, control = pay.settings, pay.client, pay.control


class ServiceStandIn:
    """Stands in for electronic service (built in parallel): once a case is registered, the
    defendant's defence is due 15 days after service (CPL Art. 128)."""

    def __init__(self) -> None:
        self.defence_due: dict[uuid.UUID, date] = {}

    async def activity(
        self, case_ids: Sequence[uuid.UUID], viewer_account_id: uuid.UUID
    ) -> Mapping[uuid.UUID, CaseActivity]:
        return {
            i: CaseActivity(Deadline(self.defence_due[i], "defence", "答辩期限", "defence due"))
            for i in case_ids
            if i in self.defence_due
        }


@pytest.fixture
def service() -> ServiceStandIn:
    return ServiceStandIn()


@pytest.fixture
def app(settings: Settings, service: ServiceStandIn) -> web.Application:
    app = create_app(settings)
    app[CASE_ACTIVITY_SOURCES].append(service)
    return app


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def test_a_lawyer_files_a_case_end_to_end(
    client: Client,
    app: web.Application,
    accounts: Any,
    control: Callable[..., Awaitable[Any]],
    service: ServiceStandIn,
) -> None:
    await seed(app)
    lawyer, lawyer_h = await accounts.headers(Role.LAWYER)
    _, xihu_clerk = await accounts.headers(Role.CLERK, court_code="浙0106")
    _, yuyao_clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    _, outsider = await accounts.headers(Role.LITIGANT)
    today = china_date(datetime.now(UTC))

    # 1. The draft, filed at the Xihu court in Hangzhou.
    draft = await _ok(
        await client.post(
            f"{API}/filings",
            json={
                "court": "浙0106",
                "cause": "4.cont.loan.private",
                "claim_amount": "100000",
                "claims": "判令被告归还借款100000元",
                "facts_and_reasons": "被告于2025年3月向原告借款10万元，到期未还。",
            },
            headers=lawyer_h,
        ),
        201,
    )
    assert draft["status"] == "draft" and draft["receiving_court"] == "浙0106"
    url = f"{API}/filings/{draft['id']}"

    # 2. Parties: the natural-person plaintiff (the lawyer's client) and a company in Yuyao.
    plaintiff = await _ok(
        await client.post(
            f"{url}/parties", json=person("plaintiff", PLAINTIFF_ID, "330106"), headers=lawyer_h
        ),
        201,
    )
    defendant = await _ok(
        await client.post(
            f"{url}/parties",
            json={
                "role": "defendant",
                "kind": "organisation",
                "name": "余姚某某科技有限公司",
                "credit_code": COMPANY_CODE,
                "region_code": "330281",
                "address": "余姚市某某路1号",
            },
            headers=lawyer_h,
        ),
        201,
    )
    assert plaintiff["kind"] == "natural" and defendant["kind"] == "organisation"
    # Not yet the plaintiff's lawyer: submission is refused without a power of attorney.
    early = await client.post(f"{url}/submit", headers=lawyer_h)
    assert early.status == 422 and (await early.json())["code"] == "filer_not_party"
    poa = await _ok(
        await client.post(
            f"{url}/representations",
            data=form(PDF, "授权委托书.pdf", party_id=plaintiff["id"]),
            headers=lawyer_h,
        ),
        201,
    )
    assert poa["lawyer_account_id"] == str(lawyer.id) and poa["revoked_at"] is None

    # 3. Evidence: hashed and anchored in the audit chain.
    evidence = await _ok(
        await client.post(
            f"{url}/evidence", data=form(PDF, "借条.pdf", title="借条"), headers=lawyer_h
        ),
        201,
    )
    assert evidence["sha256"] == hashlib.sha256(PDF).hexdigest() and evidence["anchor_seq"] > 0

    # 4. The public fee quote: Decree 481 Art. 13, 50 + 2.5 % of 90,000 = 2,300.
    quote = await _ok(
        await client.get(
            "/api/v1/fees/quote",
            params={"case_type": "property", "amount": "100000", "procedure": "ordinary"},
        )
    )
    assert quote["total"] == "2300.00"

    # 5. Submitted at Xihu, which has no jurisdiction: routed to the defendant's domicile and
    #    forwarded to Yuyao; both courts see the forwarding.
    submitted = await _ok(await client.post(f"{url}/submit", headers=lawyer_h))
    assert submitted["status"] == "forwarded"
    assert submitted["competent_court"] == "浙0281"
    assert any("defendant's domicile" in r["en"] for r in submitted["routing_reasons"])
    assert submitted["decision_due_on"] == str(today + timedelta(days=7))
    for clerk in (xihu_clerk, yuyao_clerk):
        seen = await _ok(await client.get(url, headers=clerk))
        assert [(f["from_court"], f["to_court"]) for f in seen["forwardings"]] == [
            ("浙0106", "浙0281")
        ]
    assert (await client.get(url, headers=outsider)).status == 404
    queue = await _ok(await client.get(f"{API}/review-queue", headers=yuyao_clerk))
    assert [i["id"] for i in queue["items"]] == [draft["id"]]

    # 6. One correction notice listing every item; the lawyer corrects and resubmits.
    notice = await _ok(
        await client.post(
            f"{url}/corrections",
            json={"items": ["写明借款利息约定", "补充借条原件照片"], "deadline_days": 10},
            headers=yuyao_clerk,
        ),
        201,
    )
    assert notice["items"] == ["写明借款利息约定", "补充借条原件照片"]
    second = await client.post(f"{url}/corrections", json={"items": ["x"]}, headers=yuyao_clerk)
    assert second.status == 409
    board = await _ok(await client.get(f"{API}/dashboard", headers=lawyer_h))
    assert board["items"][0]["status"]["code"] == "correction_requested"
    assert board["items"][0]["next_deadline"]["kind"] == "correction"
    assert board["items"][0]["next_deadline"]["on"] == notice["deadline"]
    await _ok(
        await client.patch(
            url,
            json={"facts_and_reasons": "被告于2025年3月借款10万元，约定年利率3.65%，到期未还。"},
            headers=lawyer_h,
        )
    )
    await _ok(
        await client.post(
            f"{url}/evidence",
            data=form(PDF + b"%2\n", "借条原件.pdf", title="借条原件照片"),
            headers=lawyer_h,
        ),
        201,
    )
    resubmitted = await _ok(await client.post(f"{url}/resubmit", headers=lawyer_h))
    assert resubmitted["status"] == "resubmitted"
    assert resubmitted["decision_due_on"] == str(today + timedelta(days=7))
    assert resubmitted["corrections"][0]["answered_at"] is not None

    # 7. Registered at Yuyao: an official case number and the fee notice (= the quote).
    registered = await _ok(await client.post(f"{url}/register", headers=yuyao_clerk))
    assert registered["status"] == "registered"
    number = CASE_NUMBER.match(registered["case_number"])
    assert number is not None and int(number["year"]) == today.year
    parsed = await _ok(
        await client.get(
            f"{API}/case-numbers/parse",
            params={"number": registered["case_number"].replace("(", "（").replace(")", "）")},
        )
    )
    assert parsed["number"] == registered["case_number"] and parsed["type_code"] == "民初"
    fee_due = str(today + timedelta(days=7))
    assert registered["fee_notice"]["total"] == quote["total"]
    assert registered["fee_notice"]["due_on"] == fee_due
    found = await _ok(
        await client.get(
            f"{API}/cases", params={"number": registered["case_number"]}, headers=lawyer_h
        )
    )
    assert found["id"] == draft["id"]
    board = await _ok(await client.get(f"{API}/dashboard", headers=lawyer_h))
    item = board["items"][0]
    assert item["fee"]["status"] == "due" and item["fee"]["amount"] == "2300.00"
    assert item["next_deadline"]["kind"] == "fee_payment" and item["next_deadline"]["on"] == fee_due

    # 8. Paid through the fake WeChat Pay; WeChat delivers the notification twice.
    await WeChatIdentity.create(
        id=uuid.uuid4(),
        account_id=lawyer.id,
        appid=pay.APPID,
        openid="oLawyer" + uuid.uuid4().hex[:20],
        last_login_at=datetime.now(UTC),
    )
    order = await _ok(await client.post(f"{url}/payments", headers=lawyer_h), 201)
    assert order["payment"]["amount_fen"] == 230000
    paid = await control("pay", out_trade_no=order["payment"]["out_trade_no"])
    assert [d["status"] for d in paid["deliveries"]] == [204]
    again = await control("redeliver", out_trade_no=order["payment"]["out_trade_no"])
    assert [d["status"] for d in again["deliveries"]] == [204]
    status = await _ok(await client.get(f"{url}/payments", headers=lawyer_h))
    assert status["fee_paid"] is True and [p["status"] for p in status["items"]] == ["paid"]
    assert await CaseEvent.filter(filing_id=draft["id"], kind="fee_paid").count() == 1
    assert await Payment.filter(filing_id=draft["id"]).count() == 1

    # 9. The dashboard: the case, registered, fee paid, and its next deadline (the defendant's
    #    defence, from electronic service once it has served the complaint).
    service.defence_due[uuid.UUID(draft["id"])] = today + timedelta(days=20)
    board = await _ok(await client.get(f"{API}/dashboard", headers=lawyer_h))
    assert len(board["items"]) == 1 and board["next_cursor"] is None
    item = board["items"][0]
    assert item["id"] == draft["id"]
    assert item["status"] == {"code": "registered", "label_zh": "已立案", "label_en": "registered"}
    assert item["case_number"] == registered["case_number"]
    assert item["court"]["code"] == "浙0281" and item["court"]["name_zh"] == "余姚市人民法院"
    assert item["cause"]["code"] == "4.cont.loan.private"
    assert item["my_roles"] == [
        {"capacity": "agent", "party_role": "plaintiff", "party_name": "张三"}
    ]
    assert item["fee"] == {"status": "paid", "amount": "2300.00", "due_on": fee_due, "relief": None}
    assert item["next_deadline"] == {
        "on": str(today + timedelta(days=20)),
        "kind": "defence",
        "label_zh": "答辩期限",
        "label_en": "defence due",
    }
    assert item["next_hearing"] is None and item["unread_documents"] == 0

    timeline = await _ok(await client.get(f"{url}/timeline", headers=lawyer_h))
    kinds = [e["kind"] for e in timeline["items"]]
    expected = [
        "draft_created",
        "representation_granted",
        "submitted",
        "forwarded",
        "received",
        "correction_requested",
        "resubmitted",
        "registered",
        "fee_notice_issued",
        "fee_paid",
    ]
    assert [k for k in kinds if k in expected] == expected
