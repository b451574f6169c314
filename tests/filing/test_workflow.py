"""The filing workflow over HTTP: draft → evidence → submit elsewhere → forwarded → correction →
resubmission → registration with a case number → timeline; access and masking along the way."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from backend.appkeys import BLOBS, DATABASE, KEYRING
from backend.auth.principal import Role
from backend.fieldcrypto import FieldCipher
from filing.models import CaseEvent, Evidence, Filing, Forwarding
from filing.workflow import china_date
from identity.idcard import CHINA_TZ
from identity.models import RealName
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


@pytest.fixture
async def seeded(client: Client, app: web.Application) -> None:
    await seed(app)


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _draft(client: Client, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {
        "court": "浙0106",
        "cause": "4.cont.loan.private",
        "claim_amount": "100000",
        "claims": "判令被告归还借款100000元",
        "facts_and_reasons": "被告于2025年借款未还。",
        **extra,
    }
    return await _ok(await client.post(f"{API}/filings", json=body, headers=headers), 201)


async def test_full_filing_round(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    plaintiff, p_headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    defendant, d_headers = await accounts.headers(Role.LITIGANT)
    _, outsider = await accounts.headers(Role.LITIGANT)
    _, receiving_clerk = await accounts.headers(Role.CLERK, court_code="浙0106")
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    _, other_clerk = await accounts.headers(Role.CLERK, court_code="京0491")
    _, admin = await accounts.headers(Role.COURT_ADMIN, court_code="浙0281")
    judge, judge_headers = await accounts.headers(Role.JUDGE, court_code="浙0281")
    _, other_judge = await accounts.headers(Role.JUDGE, court_code="浙0281")

    # Draft at the Xihu court; the defendant lives in Yuyao (330281).
    draft = await _draft(client, p_headers)
    fid = draft["id"]
    assert draft["status"] == "draft"
    url = f"{API}/filings/{fid}"
    await _ok(
        await client.post(
            f"{url}/parties",
            json=person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
            headers=p_headers,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{url}/parties", json=person("defendant", DEFENDANT_ID, "330281"), headers=p_headers
        ),
        201,
    )

    # A draft is the filer's alone.
    assert (await client.get(url, headers=receiving_clerk)).status == 404
    assert (await client.get(url, headers=outsider)).status == 404

    evidence = await _ok(
        await client.post(
            f"{url}/evidence",
            data=form(PDF, title="借条", description="原件扫描"),
            headers=p_headers,
        ),
        201,
    )
    assert evidence["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert evidence["anchor_seq"] > 0
    download = await client.get(f"{url}/evidence/{evidence['id']}/file", headers=p_headers)
    assert download.status == 200 and await download.read() == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert (
        await client.get(f"{url}/evidence/{evidence['id']}/file", headers=outsider)
    ).status == 404
    verified = await _ok(
        await client.post(f"{url}/evidence/verify", data=form(PDF), headers=p_headers)
    )
    assert verified["matches"] is True and verified["evidence_id"] == evidence["id"]
    other = await _ok(
        await client.post(f"{url}/evidence/verify", data=form(PDF + b"%x\n"), headers=p_headers)
    )
    assert other["matches"] is False
    # A file checked against the record is hashed, never kept.
    assert not await app[BLOBS].exists(hashlib.sha256(PDF + b"%x\n").hexdigest())
    assert await app[BLOBS].exists(hashlib.sha256(PDF).hexdigest())

    # Submitted at a court without jurisdiction: routed and forwarded to Yuyao.
    submitted = await _ok(await client.post(f"{url}/submit", headers=p_headers))
    assert submitted["status"] == "forwarded"
    assert submitted["receiving_court"] == "浙0106" and submitted["competent_court"] == "浙0281"
    assert submitted["forwardings"][0]["from_court"] == "浙0106"
    assert submitted["forwardings"][0]["to_court"] == "浙0281"
    assert any("defendant's domicile" in r["en"] for r in submitted["routing_reasons"])
    today = china_date(datetime.now(UTC))
    assert submitted["decision_due_on"] == str(today + timedelta(days=7))

    # Both courts see the forwarding; only the competent court reviews.
    seen = await _ok(await client.get(url, headers=receiving_clerk))
    assert seen["forwardings"][0]["to_court"] == "浙0281"
    assert (await client.get(url, headers=other_clerk)).status == 404
    assert (await client.post(f"{url}/register", headers=receiving_clerk)).status == 404
    queue = await _ok(await client.get(f"{API}/review-queue", headers=clerk))
    assert [i["id"] for i in queue["items"]] == [fid]
    assert queue["items"][0]["days_left"] == 7 and not queue["items"][0]["over_limit"]
    assert (await _ok(await client.get(f"{API}/review-queue", headers=receiving_clerk)))[
        "items"
    ] == []

    # One correction notice listing every item.
    notice = await _ok(
        await client.post(
            f"{url}/corrections",
            json={"items": ["补充借条原件照片", "写明利息计算方式"], "deadline_days": 10},
            headers=clerk,
        ),
        201,
    )
    assert len(notice["items"]) == 2
    again = await client.post(f"{url}/corrections", json={"items": ["x"]}, headers=clerk)
    assert again.status == 409 and (await again.json())["code"] == "invalid_transition"
    assert (await client.post(f"{url}/register", headers=clerk)).status == 409
    await _ok(
        await client.patch(
            url, json={"facts_and_reasons": "借款10万元，约定年利率3.65%。"}, headers=p_headers
        )
    )
    resubmitted = await _ok(await client.post(f"{url}/resubmit", headers=p_headers))
    assert resubmitted["status"] == "resubmitted"
    restart = datetime.fromisoformat(resubmitted["clock_started_at"]).astimezone(CHINA_TZ)
    assert restart.date() == today + timedelta(days=1) and restart.hour == 0
    assert resubmitted["corrections"][0]["answered_at"] is not None
    assert (await client.post(f"{url}/resubmit", headers=p_headers)).status == 409

    # Registration: case number and fee notice in one go.
    registered = await _ok(await client.post(f"{url}/register", headers=clerk))
    year = china_date(datetime.now(UTC)).year
    assert registered["status"] == "registered"
    assert registered["case_number"] == f"({year})浙0281民初1号"
    assert registered["fee_notice"]["total"] == "2300.00"
    assert registered["fee_notice"]["due_on"] == str(today + timedelta(days=7))
    assert (
        await client.post(f"{url}/refuse", json={"reason": "不符合起诉条件"}, headers=clerk)
    ).status == 409

    timeline = await _ok(await client.get(f"{url}/timeline", headers=p_headers))
    kinds = [e["kind"] for e in timeline["items"]]
    for kind in (
        "draft_created",
        "evidence_added",
        "submitted",
        "forwarded",
        "received",
        "correction_requested",
        "resubmitted",
        "registered",
        "fee_notice_issued",
    ):
        assert kind in kinds
    assert kinds.index("forwarded") < kinds.index("registered")

    # Search by number, either bracket form.
    found = await _ok(
        await client.get(
            f"{API}/cases", params={"number": f"（{year}）浙0281民初1号"}, headers=p_headers
        )
    )
    assert found["id"] == fid
    assert (
        await client.get(
            f"{API}/cases", params={"number": f"({year})浙0281民初1号"}, headers=outsider
        )
    ).status == 404

    # The defendant links to the case by real name (Art. 10) and sees the plaintiff masked.
    with app[DATABASE].activate():
        cipher = FieldCipher(app[KEYRING].field_key)
        await RealName.create(
            id=uuid.uuid4(),
            account_id=defendant.id,
            name="李四",
            id_number_enc=cipher.encrypt(DEFENDANT_ID, context="resident_id"),
            id_number_hash=cipher.lookup_hash(DEFENDANT_ID, context="resident_id"),
            id_number_masked="3302**********0021",
            birth_date=datetime(1990, 1, 1).date(),
            sex="female",
        )
    claim = {"case_number": registered["case_number"]}
    # Not yet verified (face or in-person check pending): no link.
    assert (await client.post(f"{API}/cases/claim", json=claim, headers=d_headers)).status == 404
    with app[DATABASE].activate():
        await RealName.filter(account_id=defendant.id).update(status="verified")
    assert (
        await client.post(
            f"{API}/cases/claim", json={"case_number": registered["case_number"]}, headers=outsider
        )
    ).status == 404
    await _ok(
        await client.post(
            f"{API}/cases/claim", json={"case_number": registered["case_number"]}, headers=d_headers
        )
    )
    seen_by_defendant = await _ok(await client.get(url, headers=d_headers))
    their = {p["role"]: p for p in seen_by_defendant["parties"]}
    assert their["plaintiff"]["masked"] is True
    assert their["plaintiff"]["id_number_masked"] == "3****************5"
    assert "某路" not in their["plaintiff"]["address"] and "浙江省" in their["plaintiff"]["address"]
    assert their["plaintiff"]["service_address"] is None
    assert their["defendant"]["masked"] is False
    seen_by_plaintiff = await _ok(await client.get(url, headers=p_headers))
    mine = {p["role"]: p for p in seen_by_plaintiff["parties"]}
    assert (
        mine["plaintiff"]["masked"] is False
        and mine["plaintiff"]["id_number_masked"] == "3301**********0415"
    )
    assert mine["defendant"]["masked"] is True
    staff_view = await _ok(await client.get(url, headers=clerk))
    assert not any(p["masked"] for p in staff_view["parties"])
    # No response ever carries a full ID number.
    assert PLAINTIFF_ID not in str(staff_view) and DEFENDANT_ID not in str(staff_view)

    # The court administrator assigns the judge; only that judge of the court sees the case.
    assert (await client.get(url, headers=judge_headers)).status == 404
    assert (
        await client.post(f"{url}/assignment", json={"judge_id": str(judge.id)}, headers=p_headers)
    ).status == 404
    bad = await client.post(
        f"{url}/assignment", json={"judge_id": str(defendant.id)}, headers=admin
    )
    assert bad.status == 422
    await _ok(
        await client.post(f"{url}/assignment", json={"judge_id": str(judge.id)}, headers=admin)
    )
    assert (await client.get(url, headers=judge_headers)).status == 200
    assert (await client.get(url, headers=other_judge)).status == 404
    assert (await client.get(f"{url}/timeline", headers=outsider)).status == 404

    mine_page = await _ok(
        await client.get(f"{API}/filings", params={"mine": "1"}, headers=p_headers)
    )
    assert [f["id"] for f in mine_page["items"]] == [fid]
    with app[DATABASE].activate():
        assert await Forwarding.filter(filing_id=fid).count() == 1
        assert await CaseEvent.filter(filing_id=fid, kind="registered").count() == 1


async def test_lawyer_files_with_power_of_attorney_and_revocation(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    _lawyer, l_headers = await accounts.headers(Role.LAWYER)
    draft = await _draft(client, l_headers, court="浙0281")
    url = f"{API}/filings/{draft['id']}"
    plaintiff = await _ok(
        await client.post(
            f"{url}/parties", json=person("plaintiff", PLAINTIFF_ID, "330106"), headers=l_headers
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{url}/parties", json=person("defendant", DEFENDANT_ID, "330281"), headers=l_headers
        ),
        201,
    )

    refused = await client.post(f"{url}/submit", headers=l_headers)
    assert refused.status == 422 and (await refused.json())["code"] == "filer_not_party"
    wrong_type = await client.post(
        f"{url}/representations",
        data=form(b"just some text, not a PDF", "poa.pdf", party_id=plaintiff["id"]),
        headers=l_headers,
    )
    assert wrong_type.status == 415
    rep = await _ok(
        await client.post(
            f"{url}/representations",
            data=form(PDF, "poa.pdf", party_id=plaintiff["id"]),
            headers=l_headers,
        ),
        201,
    )
    submitted = await _ok(await client.post(f"{url}/submit", headers=l_headers))
    assert submitted["status"] == "submitted" and submitted["forwardings"] == []

    # Revoked: the very next request is a 404.
    assert (
        await client.post(f"{url}/representations/{rep['id']}/revoke", headers=l_headers)
    ).status == 204
    assert (await client.get(url, headers=l_headers)).status == 404
    assert (await client.get(f"{url}/timeline", headers=l_headers)).status == 404


async def test_bad_input_is_refused_and_nothing_half_saved(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    for extra, field in [
        ({"court": "浙9999"}, "court"),
        ({"court": "not a court"}, "court"),
        ({"cause": "no.such.cause"}, "cause"),
        ({"claim_amount": "-5"}, "claim_amount"),
        ({"claim_amount": "100000000000000000"}, "claim_amount"),
        ({"claim_amount": "1e5"}, "claim_amount"),
        ({"surprise": 1}, "surprise"),
    ]:
        body = {"court": "浙0281", "cause": "4.cont.loan.private", **extra}
        response = await client.post(f"{API}/filings", json=body, headers=headers)
        problem = await response.json()
        assert response.status == 422, (extra, problem)
        assert field in str(problem.get("errors")), (extra, problem)
    with app[DATABASE].activate():
        assert await Filing.all().count() == 0

    draft = await _draft(client, headers)
    url = f"{API}/filings/{draft['id']}"
    bad_id = await client.post(
        f"{url}/parties",
        json=person("plaintiff", PLAINTIFF_ID[:-1] + "0", "330106"),
        headers=headers,
    )
    assert bad_id.status == 422
    assert (await bad_id.json())["errors"][0]["field"] == "id_number"
    company = {
        "role": "defendant",
        "kind": "organisation",
        "name": "某某科技有限公司",
        "credit_code": "91330281MA2AXXXX0A",
        "region_code": "330281",
        "address": "余姚市某路1号",
    }
    bad_code = await client.post(f"{url}/parties", json=company, headers=headers)
    assert bad_code.status == 422 and (await bad_code.json())["errors"][0]["field"] == "credit_code"
    # Linking a party to yourself needs your verified real name to match it.
    not_me = await client.post(
        f"{url}/parties",
        json=person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        headers=headers,
    )
    assert not_me.status == 422 and (await not_me.json())["errors"][0]["field"] == "is_me"
    company_me = await client.post(
        f"{url}/parties",
        json={**company, "credit_code": COMPANY_CODE, "is_me": True},
        headers=headers,
    )
    assert company_me.status == 422
    assert (await company_me.json())["code"] == "not_legal_representative"
    html = await client.post(
        f"{url}/evidence",
        data=form(b"<!doctype html><script>x</script>", "a.pdf", title="x"),
        headers=headers,
    )
    assert html.status == 415
    no_title = await client.post(f"{url}/evidence", data=form(PDF), headers=headers)
    assert no_title.status == 422
    with app[DATABASE].activate():
        assert await Evidence.all().count() == 0
    detail = await _ok(await client.get(url, headers=headers))
    assert detail["parties"] == [] and detail["evidence"] == []
    # Nothing to submit yet.
    assert (await client.post(f"{url}/submit", headers=headers)).status == 422


async def test_duplicate_submission_with_the_same_key(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    draft = await _draft(client, headers)
    url = f"{API}/filings/{draft['id']}"
    await _ok(
        await client.post(
            f"{url}/parties",
            json=person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
            headers=headers,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{url}/parties", json=person("defendant", DEFENDANT_ID, "330281"), headers=headers
        ),
        201,
    )
    keyed = {**headers, "Idempotency-Key": "submit-once-1234"}
    first = await client.post(f"{url}/submit", headers=keyed)
    second = await client.post(f"{url}/submit", headers=keyed)
    assert first.status == second.status == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert await first.json() == await second.json()
    other_key = await client.post(
        f"{url}/submit", headers={**headers, "Idempotency-Key": "submit-twice-5678"}
    )
    assert other_key.status == 409 and (await other_key.json())["code"] == "invalid_transition"
    with app[DATABASE].activate():
        assert await Forwarding.filter(filing_id=draft["id"]).count() == 1
        assert await CaseEvent.filter(filing_id=draft["id"], kind="submitted").count() == 1


async def test_refusal_and_internet_court_routing(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, hz_clerk = await accounts.headers(Role.CLERK, court_code="浙0192")
    draft = await _draft(
        client, headers, court="浙0281", cause="4.cont.sale.online", claim_amount="3000"
    )
    url = f"{API}/filings/{draft['id']}"
    await _ok(
        await client.post(
            f"{url}/parties",
            json=person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
            headers=headers,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{url}/parties", json=person("defendant", DEFENDANT_ID, "330281"), headers=headers
        ),
        201,
    )
    submitted = await _ok(await client.post(f"{url}/submit", headers=headers))
    assert submitted["competent_court"] == "浙0192" and submitted["status"] == "forwarded"
    refused = await _ok(
        await client.post(
            f"{url}/refuse", json={"reason": "不属于人民法院受理范围"}, headers=hz_clerk
        )
    )
    assert refused["status"] == "refused" and refused["refusal_reason"] == "不属于人民法院受理范围"
    assert (await client.post(f"{url}/register", headers=hz_clerk)).status == 409


async def test_party_appoints_and_revokes_a_lawyer(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    plaintiff, p_headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    lawyer, l_headers = await accounts.headers(Role.LAWYER)
    not_lawyer, _ = await accounts.headers(Role.LITIGANT)
    draft = await _draft(client, p_headers, court="浙0281")
    url = f"{API}/filings/{draft['id']}"
    me = await _ok(
        await client.post(
            f"{url}/parties",
            json=person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
            headers=p_headers,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{url}/parties", json=person("defendant", DEFENDANT_ID, "330281"), headers=p_headers
        ),
        201,
    )
    assert (await client.get(url, headers=l_headers)).status == 404
    wrong = await client.post(
        f"{url}/representations",
        data=form(PDF, "poa.pdf", party_id=me["id"], lawyer_id=str(not_lawyer.id)),
        headers=p_headers,
    )
    assert wrong.status == 422
    rep = await _ok(
        await client.post(
            f"{url}/representations",
            data=form(PDF, "poa.pdf", party_id=me["id"], lawyer_id=str(lawyer.id)),
            headers=p_headers,
        ),
        201,
    )
    assert rep["lawyer_account_id"] == str(lawyer.id)
    seen = await _ok(await client.get(url, headers=l_headers))
    assert {p["role"]: p["masked"] for p in seen["parties"]} == {
        "plaintiff": False,
        "defendant": True,
    }
    # The lawyer's own filings list shows it.
    listed = await _ok(await client.get(f"{API}/filings", headers=l_headers))
    assert [f["id"] for f in listed["items"]] == [draft["id"]]

    # Evidence the lawyer adds can be withdrawn before submission; it stays verifiable as
    # withdrawn no more.
    item = await _ok(
        await client.post(f"{url}/evidence", data=form(PDF, title="借条"), headers=l_headers), 201
    )
    assert (await client.delete(f"{url}/evidence/{item['id']}", headers=l_headers)).status == 204
    assert (await client.delete(f"{url}/evidence/{item['id']}", headers=l_headers)).status == 404
    after = await _ok(await client.get(url, headers=p_headers))
    assert after["evidence"] == []
    check = await _ok(
        await client.post(f"{url}/evidence/verify", data=form(PDF), headers=p_headers)
    )
    assert check["matches"] is False

    # The party revokes: the lawyer's very next request is a 404, the party keeps access.
    revoked = await client.post(f"{url}/representations/{rep['id']}/revoke", headers=p_headers)
    assert revoked.status == 204
    assert (await client.get(url, headers=l_headers)).status == 404
    assert (await client.post(f"{url}/submit", headers=l_headers)).status == 404
    assert (await _ok(await client.get(url, headers=p_headers)))["representations"][0]["revoked_at"]
    listed = await _ok(await client.get(f"{API}/filings", headers=l_headers))
    assert listed["items"] == []


async def test_creating_drafts_is_rate_limited(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    from filing.filing_routes import DRAFTS_PER_HOUR

    _, headers = await accounts.headers(Role.LITIGANT)
    body = {"court": "浙0281", "cause": "4.cont.loan.private"}
    for _ in range(DRAFTS_PER_HOUR):
        assert (await client.post(f"{API}/filings", json=body, headers=headers)).status == 201
    limited = await client.post(f"{API}/filings", json=body, headers=headers)
    assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1


async def test_court_only_events_are_hidden_from_parties(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    _, admin = await accounts.headers(Role.COURT_ADMIN, court_code="浙0281")
    judge, _ = await accounts.headers(Role.JUDGE, court_code="浙0281")
    draft = await _draft(client, headers, court="浙0281")
    url = f"{API}/filings/{draft['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        await _ok(await client.post(f"{url}/parties", json=body, headers=headers), 201)
    await _ok(await client.post(f"{url}/submit", headers=headers))
    early = await client.post(f"{url}/assignment", json={"judge_id": str(judge.id)}, headers=admin)
    assert early.status == 409
    await _ok(await client.post(f"{url}/register", headers=clerk))
    await _ok(
        await client.post(f"{url}/assignment", json={"judge_id": str(judge.id)}, headers=admin)
    )
    party_kinds = [
        e["kind"]
        for e in (await _ok(await client.get(f"{url}/timeline", headers=headers)))["items"]
    ]
    court_kinds = [
        e["kind"] for e in (await _ok(await client.get(f"{url}/timeline", headers=clerk)))["items"]
    ]
    assert "assigned" in court_kinds and "assigned" not in party_kinds
    assert "forwarded" not in court_kinds  # filed at the competent court itself


async def test_concurrent_submissions_and_registrations(
    client: Client, app: web.Application, accounts: Any, seeded: None
) -> None:
    import asyncio

    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    urls = []
    for _ in range(3):
        draft = await _draft(client, headers, court="浙0281")
        url = f"{API}/filings/{draft['id']}"
        for body in (
            person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
            person("defendant", DEFENDANT_ID, "330281"),
        ):
            await _ok(await client.post(f"{url}/parties", json=body, headers=headers), 201)
        urls.append(url)
    # The same filing submitted twice at once: one wins, the other sees the new state.
    both = await asyncio.gather(
        *(client.post(f"{urls[0]}/submit", headers=headers) for _ in range(2))
    )
    assert sorted(r.status for r in both) == [200, 409]
    for url in urls[1:]:
        await _ok(await client.post(f"{url}/submit", headers=headers))
    registered = await asyncio.gather(*(client.post(f"{u}/register", headers=clerk) for u in urls))
    numbers = sorted([(await r.json())["case_number"] for r in registered])
    year = china_date(datetime.now(UTC)).year
    assert numbers == [f"({year})浙0281民初{n}号" for n in (1, 2, 3)]
