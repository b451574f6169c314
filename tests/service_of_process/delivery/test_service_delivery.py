"""E-service end to end: a judgment served to two parties by three channels over real HTTP and
SMTP; one signs after a face check, the other only receives by email at the address given in
the pleadings. Service dates, rules, deadlines and the signed proof of service are checked."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from backend.appkeys import KEYRING
from backend.audit.models import AuditEvent
from backend.auth.models import Account
from backend.auth.principal import Role
from backend.settings import Settings
from filing.models import Representation
from identity.models import ConsentPurpose
from service_of_process.calendar import compute_deadline
from service_of_process.models import ServiceAccess, ServiceAttempt, ServiceDelivery
from service_of_process.proof import render_proof
from service_of_process.proof_records import build_proof
from service_of_process.rules import court_date
from tests.conftest import Accounts
from tests.identity.conftest import ADULT_ID, bearer, grant, register
from tests.identity.test_face_http import _answer, _challenge, _verify
from tests.service_of_process.delivery.delivery_fixtures import (
    SERVICE,
    Case,
    Client,
    MailBox,
    Platform,
    bind_phone,
    drain,
    file_form,
    make_case,
    make_worker,
    upload_pdf,
)

JUDGMENT = b"%PDF-1.7\n% judgment of the case\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


async def wechat_user(client: Client, platform: Platform) -> tuple[Account, dict[str, str], str]:
    code = await platform.post("/__control/login-code", {})
    resp = await client.post("/api/v1/identity/wechat/login", json={"code": code["code"]})
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    account = await Account.get(id=UUID(str(out["account_id"])))
    return account, bearer(out["access_token"]), str(code["openid"])


async def face_checked_headers(
    client: Client, headers: dict[str, str], photos: dict[str, bytes], frames: Any
) -> dict[str, str]:
    """A real-name face match and a liveness check with real photos: a token with presence."""
    await register(client, headers, ADULT_ID)
    await grant(client, headers, ConsentPurpose.BIOMETRIC_FACE)
    resp = await _verify(client, headers, photos["id_portrait"], photos["selfie"])
    assert resp.status == 200, await resp.text()
    challenge = await _challenge(client, headers)
    resp = await _answer(client, headers, challenge, frames["live"], photos["id_portrait"])
    assert resp.status == 200, await resp.text()
    return bearer((await resp.json())["access_token"])


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.slow
async def test_judgment_served_to_two_parties_by_three_channels(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    platform: Platform,
    smtp: tuple[MailBox, int],
    photos: dict[str, bytes],
    frames: dict[str, list[bytes]],
) -> None:
    mailbox, _ = smtp
    defendant_account, defendant_headers, openid = await wechat_user(client, platform)
    case = await make_case(app, accounts, defendant=(defendant_account, defendant_headers))
    await bind_phone(app, defendant_account.id, "13912345678")
    await platform.post(
        "/__control/subscribe-grant", {"openid": openid, "template_id": "court-service-notice"}
    )
    # The defendant consents in the app without designating addresses: the inbox and its bound
    # phone are then not addresses it gave, so only its own act fixes the service date.
    resp = await client.post(f"{case.url}/consents/mine", json={}, headers=defendant_headers)
    assert resp.status == 201, await resp.text()

    file_id = await upload_pdf(client, case.clerk.headers, JUDGMENT)
    assert case.plaintiff.party and case.defendant.party
    resp = await client.post(
        f"{case.url}/tasks",
        json={
            "documents": [{"kind": "judgment", "file_id": file_id}],
            "recipients": [
                {"party_id": str(case.plaintiff.party.id)},
                {"party_id": str(case.defendant.party.id)},
            ],
            "plan": [["inapp", "sms", "email", "wechat"]],
        },
        headers=case.clerk.headers,
    )
    assert resp.status == 201, await resp.text()
    task = await resp.json()
    by_role = {d["recipient_role"]: d for d in task["deliveries"]}
    plaintiff_d, defendant_d = by_role["plaintiff"], by_role["defendant"]
    assert plaintiff_d["consent_basis"] == "pleadings"
    assert defendant_d["consent_basis"] == "explicit"
    assert task["documents"][0]["sha256"] == hashlib.sha256(JUDGMENT).hexdigest()

    worker = make_worker(app, settings)
    before_send = datetime.now().astimezone()
    await drain(worker)

    # Plaintiff: the email reached the address it gave in its pleadings -> served then.
    plaintiff_row = await ServiceDelivery.get(id=plaintiff_d["id"])
    email_attempt = await ServiceAttempt.get(delivery_id=plaintiff_row.id, channel="email")
    assert email_attempt.status == "delivered" and email_attempt.address_confirmed
    assert email_attempt.address_masked == "z***@example.com"
    assert plaintiff_row.service_rule == "reached_confirmed_address"
    assert plaintiff_row.service_date == email_attempt.delivered_at
    assert plaintiff_row.service_date is not None and plaintiff_row.service_date >= before_send
    [mail] = mailbox.to("zhang.san@example.com")
    assert "(2026)浙0281民初88号" in str(mail["Subject"])
    part = mail.get_body()
    assert part is not None
    link = next(w for w in part.get_content().split() if "/api/v1/service/s/" in w)
    # The link carries only the attempt's random id: nothing of the address or the case (a
    # substring check on the random id, e.g. "88", failed whenever the id happened to hold it).
    assert link.split("/s/")[1] == email_attempt.link_id
    # No phone bound: the SMS attempt is skipped, not failed.
    sms_attempt = await ServiceAttempt.get(delivery_id=plaintiff_row.id, channel="sms")
    assert sms_attempt.status == "skipped"

    # Defendant: inbox, SMS and the WeChat courtesy notice arrived, none at an address it gave.
    defendant_row = await ServiceDelivery.get(id=defendant_d["id"])
    assert defendant_row.service_date is None and defendant_row.status == "pending"
    attempts = {a.channel: a for a in await ServiceAttempt.filter(delivery_id=defendant_row.id)}
    assert attempts["inapp"].status == "delivered" and not attempts["inapp"].address_confirmed
    assert attempts["sms"].status == "delivered" and attempts["sms"].address_masked == "139****5678"
    assert attempts["wechat"].status == "delivered"
    assert attempts["email"].status == "skipped"
    [text] = [m for m in await platform.sms() if m["phone"] == "13912345678"]
    assert "(2026)浙0281民初88号" in text["text"] and "/api/v1/service/s/" in text["text"]
    [courtesy] = await platform.wechat_messages()
    assert courtesy["touser"] == openid

    # Reading before signing is refused; signing needs a face check (or the signature code).
    doc_id = defendant_d["documents"][0]["id"]
    url = f"{SERVICE}/deliveries/{defendant_d['id']}"
    resp = await client.get(f"{url}/documents/{doc_id}", headers=defendant_headers)
    assert resp.status == 409
    resp = await client.post(f"{url}/sign", json={}, headers=defendant_headers)
    assert resp.status == 403 and (await resp.json())["code"] == "presence_required"
    present = await face_checked_headers(client, defendant_headers, photos, frames)
    resp = await client.post(f"{url}/sign", json={}, headers=present)
    assert resp.status == 200, await resp.text()
    signed = await resp.json()
    assert signed["status"] == "served" and signed["service_rule"] == "recipient_action"
    assert signed["signed_method"] == "face"
    assert signed["service_date"] == signed["signed_at"]
    # Who signed: the page shows it from the server, not from memory on the phone.
    assert signed["signer_party_id"] == str(defendant_row.party_id)
    assert signed["signer_name"] == defendant_row.recipient_name
    assert defendant_d["signer_party_id"] is None and defendant_d["signer_name"] is None
    resp = await client.get(f"{url}/documents/{doc_id}", headers=defendant_headers)
    assert resp.status == 200 and await resp.read() == JUDGMENT
    actions = [a.action for a in await ServiceAccess.filter(delivery_id=defendant_row.id)]
    assert {"sign", "download"} <= set(actions)
    # Signing again changes nothing (one receipt).
    again = await client.post(f"{url}/sign", json={}, headers=present)
    assert (await again.json())["signed_at"] == signed["signed_at"]

    # Deadlines: appeal within 15 days of service of a judgment (CPL Art. 171).
    resp = await client.get(f"{case.url}/deadlines", headers=case.judge.headers)
    assert resp.status == 200
    deadlines = {d["recipient_role"]: d for d in (await resp.json())["items"]}
    for role, row_date in (
        ("plaintiff", plaintiff_row.service_date),
        ("defendant", datetime.fromisoformat(signed["service_date"])),
    ):
        expected = compute_deadline(court_date(row_date), 15)
        assert deadlines[role]["kind"] == "appeal" and deadlines[role]["days"] == 15
        assert deadlines[role]["due"] == expected.due.isoformat()
        assert deadlines[role]["start"] == court_date(row_date).isoformat()
        assert date_of(deadlines[role]["due"]) >= court_date(row_date) + timedelta(days=15)
    resp = await client.get(f"{case.url}/deadlines", headers=defendant_headers)
    assert [d["recipient_role"] for d in (await resp.json())["items"]] == ["defendant"]

    # Each delivery was served exactly once.
    served = await AuditEvent.filter(action="service.served").count()
    assert served == 2

    # The proof of service: signed PDF listing documents, attempts, date and legal ground.
    resp = await client.get(f"{url}/proof", headers=case.clerk.headers)
    assert resp.status == 200, await resp.text()
    proof_pdf = await resp.read()
    text = pdf_text(proof_pdf)
    assert "(2026)浙0281民初88号" in text and "李四" in text
    assert hashlib.sha256(JUDGMENT).hexdigest() in text.replace("\n", "")
    for channel in ("inapp", "sms", "wechat"):
        assert channel in text
    assert "139****5678" in text and "13912345678" not in text
    assert "第三十一条" in text.replace("\n", "")
    form_resp = await client.post(
        f"{SERVICE}/proofs/verify", data=file_form(proof_pdf), headers=case.plaintiff.headers
    )
    assert form_resp.status == 200, await form_resp.text()
    check = await form_resp.json()
    assert check["valid_signature"] and check["matches_record"], check
    # A proof signed with another key is refused; a genuine proof that no longer matches the
    # record (here: another service date) is reported with the difference.
    record = await build_proof(await ServiceDelivery.get(id=defendant_row.id))
    assert record.service_date is not None
    moved = dataclasses.replace(record, service_date=record.service_date + timedelta(days=1))
    server_key = app[KEYRING].server_key
    forged = render_proof(moved, Ed25519PrivateKey.generate(), server_key.kid)
    resp = await client.post(
        f"{SERVICE}/proofs/verify", data=file_form(forged), headers=case.plaintiff.headers
    )
    assert resp.status == 200
    assert (await resp.json())["valid_signature"] is False
    stale = render_proof(moved, server_key.private_key, server_key.kid)
    resp = await client.post(
        f"{SERVICE}/proofs/verify", data=file_form(stale), headers=case.plaintiff.headers
    )
    outcome = await resp.json()
    assert outcome["valid_signature"] and not outcome["matches_record"]
    assert any("service date" in d for d in outcome["differences"])

    # The served judgment checks against the record for parties of the case, not for others.
    resp = await client.post(
        f"{SERVICE}/documents/verify", data=file_form(JUDGMENT), headers=case.plaintiff.headers
    )
    assert [m["case_number"] for m in (await resp.json())["matches"]] == ["(2026)浙0281民初88号"]
    resp = await client.post(
        f"{SERVICE}/documents/verify", data=file_form(JUDGMENT), headers=case.outsider.headers
    )
    assert (await resp.json())["matches"] == []


def date_of(text: str) -> Any:
    return datetime.fromisoformat(text).date()


async def test_outsiders_get_404_and_litigants_cannot_serve(
    app: web.Application, client: Client, accounts: Accounts, settings: Settings
) -> None:
    case: Case = await make_case(app, accounts)
    for headers in (case.outsider.headers,):
        for path in ("/tasks", "/deadlines"):
            resp = await client.get(f"{case.url}{path}", headers=headers)
            assert resp.status == 404, path
        resp = await client.post(f"{case.url}/consents/mine", json={}, headers=headers)
        assert resp.status == 404
    assert case.plaintiff.party
    file_id = await upload_pdf(client, case.clerk.headers)
    body = {
        "documents": [{"kind": "judgment", "file_id": file_id}],
        "recipients": [{"party_id": str(case.plaintiff.party.id)}],
        "plan": [["inapp"]],
    }
    resp = await client.post(f"{case.url}/tasks", json=body, headers=case.plaintiff.headers)
    assert resp.status == 403
    # A clerk of another court: the case does not exist for them.
    _, other_clerk = await accounts.headers(Role.CLERK, court_code="京0491")
    resp = await client.post(f"{case.url}/tasks", json=body, headers=other_clerk)
    assert resp.status == 404
    resp = await client.post(f"{case.url}/tasks", json=body, headers=case.clerk.headers)
    assert resp.status == 201
    delivery_id = (await resp.json())["deliveries"][0]["id"]
    for who in (case.outsider.headers, case.defendant.headers):
        resp = await client.get(f"{SERVICE}/deliveries/{delivery_id}", headers=who)
        assert resp.status == 404
        resp = await client.get(f"{SERVICE}/deliveries/{delivery_id}/proof", headers=who)
        assert resp.status == 404
    resp = await client.get(f"{SERVICE}/deliveries/{delivery_id}", headers=case.plaintiff.headers)
    assert resp.status == 200
    # The defendant sees no task that is not addressed to them.
    resp = await client.get(f"{case.url}/tasks", headers=case.defendant.headers)
    assert resp.status == 200 and (await resp.json())["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"plan": []}, "plan"),
        ({"plan": [["inapp"], ["inapp", "sms"]]}, "plan"),
        ({"plan": [["fax"]]}, "plan.0.0"),
        ({"recipients": [{"party_id": "00000000-0000-4000-8000-000000000000"}]}, "recipients"),
        ({"recipients": []}, "recipients"),
        ({"documents": [{"kind": "judgment"}]}, "documents.0"),
        ({"documents": [{"kind": "verdict", "template_fields": {}}]}, "documents.0.kind"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_bad_task_input_is_refused_and_nothing_is_written(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    change: dict[str, Any],
    field: str,
) -> None:
    case = await make_case(app, accounts)
    assert case.plaintiff.party
    file_id = await upload_pdf(client, case.clerk.headers)
    body = {
        "documents": [{"kind": "judgment", "file_id": file_id}],
        "recipients": [{"party_id": str(case.plaintiff.party.id)}],
        "plan": [["inapp"]],
        **change,
    }
    resp = await client.post(f"{case.url}/tasks", json=body, headers=case.clerk.headers)
    assert resp.status == 422, await resp.text()
    problem = await resp.json()
    assert resp.content_type == "application/problem+json"
    assert any(e["field"].startswith(field) for e in problem.get("errors", [])), problem
    assert await ServiceDelivery.all().count() == 0


async def test_an_agent_sees_the_deadlines_of_its_side_only(
    app: web.Application, client: Client, accounts: Accounts, settings: Settings
) -> None:
    case = await make_case(app, accounts)
    lawyer, lawyer_headers = await accounts.headers(Role.LAWYER)
    assert case.plaintiff.party and case.defendant.party
    await Representation.create(
        id=uuid4(),
        party=case.plaintiff.party,
        lawyer_account_id=lawyer.id,
        power_of_attorney_file_id=uuid4(),
        granted_at=datetime.now().astimezone(),
    )
    await client.post(
        f"{case.url}/consents/mine", json={"inbox": True}, headers=case.defendant.headers
    )
    file_id = await upload_pdf(client, case.clerk.headers)
    resp = await client.post(
        f"{case.url}/tasks",
        json={
            "documents": [{"kind": "ruling", "file_id": file_id}],
            "recipients": [
                {"party_id": str(case.plaintiff.party.id)},
                {"party_id": str(case.defendant.party.id)},
            ],
            "plan": [["inapp", "email"]],
        },
        headers=case.clerk.headers,
    )
    assert resp.status == 201, await resp.text()
    await drain(make_worker(app, settings))
    resp = await client.get(f"{case.url}/deadlines", headers=case.clerk.headers)
    staff_view = (await resp.json())["items"]
    assert sorted(d["recipient_role"] for d in staff_view) == ["defendant", "plaintiff"]
    # CPL Art. 171: 10 days to appeal a ruling.
    assert {d["days"] for d in staff_view} == {10}
    resp = await client.get(f"{case.url}/deadlines", headers=lawyer_headers)
    assert [d["recipient_role"] for d in (await resp.json())["items"]] == ["plaintiff"]
