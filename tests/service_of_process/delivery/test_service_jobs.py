"""Delivery on durable jobs: retries with backoff, a dead gateway that blocks no other channel,
escalation to the next stage, fallbacks (public notice, postal), service without consent, the
signature code, short links, and a worker killed mid-fan-out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from backend.audit.models import AuditEvent
from backend.auth.models import Account
from backend.jobs.models import Job
from backend.settings import Settings
from filing.clock import SWEEP_JOB
from service_of_process.calendar import compute_deadline
from service_of_process.models import ServiceAccess, ServiceAttempt, ServiceDelivery
from service_of_process.rules import court_date
from tests.conftest import Accounts
from tests.service_of_process.delivery.delivery_fixtures import (
    SERVICE,
    Case,
    Client,
    MailBox,
    Platform,
    add_party,
    bind_phone,
    drain,
    make_case,
    make_worker,
    upload_pdf,
    wait_until,
)

REPO = Path(__file__).resolve().parents[3]


async def serve(
    client: Client,
    case: Case,
    recipients: list[dict[str, str]],
    plan: list[list[str]],
    **extra: Any,
) -> dict[str, Any]:
    file_id = await upload_pdf(client, case.clerk.headers)
    resp = await client.post(
        f"{case.url}/tasks",
        json={
            "documents": [{"kind": "notice_of_response", "file_id": file_id}],
            "recipients": recipients,
            "plan": plan,
            **extra,
        },
        headers=case.clerk.headers,
    )
    assert resp.status == 201, await resp.text()
    task: dict[str, Any] = await resp.json()
    return task


def party_ref(person: Any) -> dict[str, str]:
    return {"party_id": str(person.party.id)}


async def test_failing_gateway_is_retried_and_blocks_no_other_channel(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    platform: Platform,
    smtp: tuple[MailBox, int],
) -> None:
    mailbox, _ = smtp
    case = await make_case(app, accounts)
    await bind_phone(app, case.plaintiff.account.id, "13800138000")
    await platform.post("/sms/__control/fail", {"count": 2, "status": 503})
    # the review-clock sweep every server queues at start is not what this test counts
    await Job.filter(kind=SWEEP_JOB).delete()
    task = await serve(client, case, [party_ref(case.plaintiff)], [["inapp", "sms", "email"]])
    delivery_id = task["deliveries"][0]["id"]
    worker = make_worker(app, settings)

    # First round: the SMS gateway answers 503; the inbox and the email are settled anyway.
    assert await worker.run_once() == 1  # fan-out
    await worker.run_once()  # the delivery job: email served, SMS failed -> retry
    attempts = {a.channel: a for a in await ServiceAttempt.filter(delivery_id=delivery_id)}
    assert attempts["email"].status == "delivered" and attempts["inapp"].status == "delivered"
    assert attempts["sms"].status == "sending" and "retrying" in attempts["sms"].detail
    delivery = await ServiceDelivery.get(id=delivery_id)
    assert delivery.service_rule == "reached_confirmed_address"
    [job] = await Job.filter(kind="service.deliver")
    assert job.status == "queued" and job.attempts == 1 and job.last_error

    await drain(worker)
    sms = await ServiceAttempt.get(delivery_id=delivery_id, channel="sms")
    assert sms.status == "delivered" and sms.tries == 3
    texts = await platform.sms()
    assert len(texts) == 1  # two refused sends, then one message
    assert len(mailbox.to("zhang.san@example.com")) == 1  # the retries did not re-send email
    assert await AuditEvent.filter(action="service.served").count() == 1


async def test_dead_gateway_fails_its_attempt_only(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    smtp: tuple[MailBox, int],
) -> None:
    mailbox, _ = smtp
    mailbox.refuse = True
    case = await make_case(app, accounts)
    resp = await client.post(
        f"{case.url}/consents/mine", json={"mobile": "13800138000"}, headers=case.plaintiff.headers
    )
    assert resp.status == 201
    task = await serve(client, case, [party_ref(case.plaintiff)], [["email", "sms"]])
    delivery_id = task["deliveries"][0]["id"]
    await drain(make_worker(app, settings))
    attempts = {a.channel: a for a in await ServiceAttempt.filter(delivery_id=delivery_id)}
    # The consent replaced the pleadings address: email has no address now; SMS is confirmed.
    assert attempts["email"].status == "skipped"
    assert attempts["sms"].status == "delivered" and attempts["sms"].address_confirmed
    delivery = await ServiceDelivery.get(id=delivery_id)
    assert delivery.consent_basis == "explicit"
    assert delivery.service_rule == "reached_confirmed_address"


async def test_dead_smtp_server_gives_up_after_the_retries(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    smtp: tuple[MailBox, int],
) -> None:
    mailbox, _ = smtp
    mailbox.refuse = True
    case = await make_case(app, accounts)
    task = await serve(client, case, [party_ref(case.plaintiff)], [["email", "inapp"]])
    delivery_id = task["deliveries"][0]["id"]
    await drain(make_worker(app, settings))
    attempts = {a.channel: a for a in await ServiceAttempt.filter(delivery_id=delivery_id)}
    assert attempts["email"].status == "failed" and "gave up" in attempts["email"].detail
    assert attempts["email"].tries == 8
    assert attempts["inapp"].status == "delivered"
    [job] = await Job.filter(kind="service.deliver")
    assert job.status == "done"
    delivery = await ServiceDelivery.get(id=delivery_id)
    assert delivery.service_date is None and delivery.status == "pending"


async def test_escalation_to_the_next_stage_then_public_notice(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    smtp: tuple[MailBox, int],
) -> None:
    mailbox, _ = smtp
    case = await make_case(app, accounts)
    resp = await client.post(f"{case.url}/consents/mine", json={}, headers=case.defendant.headers)
    assert resp.status == 201
    staged = await serve(
        client, case, [party_ref(case.plaintiff)], [["inapp"], ["email"]], escalate_after_s=1
    )
    exhausted = await serve(
        client,
        case,
        [party_ref(case.defendant)],
        [["inapp"]],
        escalate_after_s=1,
        fallback="public_notice",
    )
    worker = make_worker(app, settings)
    await drain(worker)
    staged_id = staged["deliveries"][0]["id"]
    assert (await ServiceDelivery.get(id=staged_id)).status == "pending"
    assert mailbox.messages == []

    await wait_until(lambda: _due("service.escalate"), within=5)
    await drain(worker)
    staged_row = await ServiceDelivery.get(id=staged_id)
    assert staged_row.stage == 1 and staged_row.status == "served"
    assert staged_row.service_rule == "reached_confirmed_address"
    assert len(mailbox.to("zhang.san@example.com")) == 1

    notice = await ServiceDelivery.get(id=exhausted["deliveries"][0]["id"])
    assert notice.status == "public_notice" and notice.published_at is not None
    # CPL Art. 95: deemed served 30 days after publication; deadlines run from then.
    assert notice.service_date == notice.published_at + timedelta(days=30)
    assert notice.service_rule == "public_notice"
    resp = await client.get(f"{case.url}/deadlines", headers=case.clerk.headers)
    [row] = [d for d in (await resp.json())["items"] if d["recipient_role"] == "defendant"]
    assert row["kind"] == "response" and row["days"] == 15
    assert row["start"] == court_date(notice.service_date).isoformat()
    expected = compute_deadline(court_date(notice.service_date), 15, allow_provisional=True)
    assert row["due"] == expected.due.isoformat()
    assert row["provisional"] == expected.provisional
    assert {e.action for e in await AuditEvent.all()} >= {"service.escalate", "service.fallback"}


async def _due(kind: str) -> bool:
    from datetime import UTC, datetime

    return await Job.filter(kind=kind, status="queued", run_at__lte=datetime.now(UTC)).exists()


async def test_without_consent_only_inbox_and_a_postal_task(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
) -> None:
    case = await make_case(app, accounts)
    await bind_phone(app, case.defendant.account.id, "13700137000")
    task = await serve(client, case, [party_ref(case.defendant)], [["inapp", "sms", "email"]])
    [delivery] = task["deliveries"]
    assert delivery["status"] == "postal" and delivery["postal_reason"] == "no_consent"
    await drain(make_worker(app, settings))
    attempts = await ServiceAttempt.filter(delivery_id=delivery["id"])
    assert [a.channel for a in attempts] == ["inapp"]
    assert await Job.filter(kind="service.escalate").count() == 0

    resp = await client.get(f"{SERVICE}/postal-tasks", headers=case.clerk.headers)
    assert [d["id"] for d in (await resp.json())["items"]] == [delivery["id"]]
    resp = await client.get(f"{SERVICE}/postal-tasks", headers=case.defendant.headers)
    assert resp.status == 403
    url = f"{SERVICE}/deliveries/{delivery['id']}"
    bad = {"served_at": "2026-11-20T10:00:00+08:00", "tracking_number": "x"}
    resp = await client.post(f"{url}/postal", json=bad, headers=case.clerk.headers)
    assert resp.status == 422
    resp = await client.post(
        f"{url}/postal",
        json={"served_at": "2026-11-20T10:00:00+08:00", "tracking_number": "EMS1234567CN"},
        headers=case.clerk.headers,
    )
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert out["status"] == "served" and out["service_rule"] == "postal"
    assert out["service_date"] == "2026-11-20T02:00:00+00:00"
    assert out["deadlines"][0]["start"] == "2026-11-20"
    resp = await client.get(f"{SERVICE}/postal-tasks", headers=case.clerk.headers)
    assert (await resp.json())["items"] == []
    # A litigant cannot record postal service.
    resp = await client.post(f"{url}/postal", json=bad, headers=case.defendant.headers)
    assert resp.status == 403


async def test_a_party_abroad_gets_30_days_to_defend_from_service(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
) -> None:
    case = await make_case(app, accounts)
    task = await serve(
        client,
        case,
        [{"party_id": str(case.defendant.party.id), "abroad": True}],  # type: ignore[union-attr]
        [["inapp"]],
    )
    [delivery] = task["deliveries"]
    assert delivery["recipient_abroad"] is True
    await drain(make_worker(app, settings))
    resp = await client.post(
        f"{SERVICE}/deliveries/{delivery['id']}/postal",
        json={"served_at": "2026-09-01T10:00:00+08:00", "tracking_number": "EMS7654321CN"},
        headers=case.clerk.headers,
    )
    assert resp.status == 200, await resp.text()
    [deadline] = (await resp.json())["deadlines"]
    # CPL Art. 285: 30 days from 2026-09-01 end on 2026-10-01, inside the National Day
    # holiday, so the period ends on the first working day after it (Art. 85).
    assert deadline["kind"] == "response" and deadline["days"] == 30
    assert deadline["article"] == "CPL Art. 285"
    assert (deadline["start"], deadline["due"]) == ("2026-09-01", "2026-10-08")
    assert deadline["rolled_over"] is True
    assert "没有住所" in deadline["explanation_zh"]
    assert "without a domicile in the PRC" in deadline["explanation_en"]

    # The same notice to a party at home: 15 days (Art. 128).
    home = await serve(client, case, [party_ref(case.plaintiff)], [["inapp"]])
    [home_delivery] = home["deliveries"]
    assert home_delivery["recipient_abroad"] is False


async def test_signature_code_signing_and_lockout(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
) -> None:
    case = await make_case(app, accounts)
    task = await serve(client, case, [party_ref(case.defendant)], [["inapp"]])
    await drain(make_worker(app, settings))
    url = f"{SERVICE}/deliveries/{task['deliveries'][0]['id']}"
    headers = case.defendant.headers
    resp = await client.post(f"{url}/sign", json={"signature_code": "123456"}, headers=headers)
    assert resp.status == 422 and (await resp.json())["code"] == "wrong_signature_code"
    resp = await client.put(f"{SERVICE}/signature-code", json={"code": "24680"}, headers=headers)
    assert resp.status == 422
    resp = await client.put(f"{SERVICE}/signature-code", json={"code": "246801"}, headers=headers)
    assert resp.status == 204, await resp.text()
    resp = await client.put(f"{SERVICE}/signature-code", json={"code": "111111"}, headers=headers)
    assert resp.status == 422 and (await resp.json())["code"] == "current_code_required"
    resp = await client.post(f"{url}/sign", json={"signature_code": "246801"}, headers=headers)
    assert resp.status == 200, await resp.text()
    signed = await resp.json()
    # No prior consent: signing for a completed e-service is consent (Art. 29) and serves it.
    assert signed["consent_basis"] == "accepted_without_objection"
    assert signed["status"] == "served" and signed["service_rule"] == "recipient_action"
    assert signed["signed_method"] == "code"
    codes = await AuditEvent.filter(action="service.set_signature_code").count()
    assert codes == 1

    # Five wrong codes (the one above counts) lock the code for the window.
    for _ in range(4):
        resp = await client.post(f"{url}/sign", json={"signature_code": "000000"}, headers=headers)
        assert resp.status == 422
    resp = await client.post(f"{url}/sign", json={"signature_code": "246801"}, headers=headers)
    assert resp.status == 429 and resp.headers.get("Retry-After")


async def test_short_link_carries_only_an_opaque_id(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    platform: Platform,
) -> None:
    case = await make_case(app, accounts)
    resp = await client.post(
        f"{case.url}/consents/mine", json={"mobile": "13600136000"}, headers=case.defendant.headers
    )
    assert resp.status == 201
    task = await serve(client, case, [party_ref(case.defendant)], [["sms"]])
    await drain(make_worker(app, settings))
    [text] = await platform.sms()
    link = text["params"]["link"]
    link_id = link.rsplit("/", 1)[1]
    assert "13600136000" not in link and "88" not in link_id and len(link_id) >= 16
    resp = await client.get(f"{SERVICE}/s/{link_id}", allow_redirects=False)
    assert resp.status == 302
    # The H5 pages live under /miniapp/ (the app's hash route opens the delivery).
    base = settings.public_base_url.rstrip("/")
    assert resp.headers["Location"] == f"{base}/miniapp/#/service/link/{link_id}"
    delivery_id = task["deliveries"][0]["id"]
    assert await ServiceAccess.filter(delivery_id=delivery_id, action="link_opened").exists()
    resp = await client.get(f"{SERVICE}/links/{link_id}", headers=case.defendant.headers)
    assert (await resp.json())["delivery_id"] == delivery_id
    resp = await client.get(f"{SERVICE}/links/{link_id}", headers=case.plaintiff.headers)
    assert resp.status == 404
    resp = await client.get(f"{SERVICE}/s/not-a-link", allow_redirects=False)
    assert resp.status == 404


# --------------------------------------------------------------------------- crash recovery


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    options = {
        "database_url": settings.effective_database_url,
        "var_dir": str(settings.var_dir),
        "auto_migrate": False,
        "wechat_base_url": settings.wechat_base_url,
        "sms_base_url": settings.sms_base_url,
        "service_smtp_port": settings.service_smtp_port,
        "job_poll_s": 0.05,
        "worker_concurrency": 2,
        "log_level": "WARNING",
        "lease_s": 2.0,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.service_worker", json.dumps(options)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
async def test_worker_killed_mid_fan_out_loses_and_duplicates_nothing(
    app: web.Application,
    client: Client,
    accounts: Accounts,
    settings: Settings,
    smtp: tuple[MailBox, int],
) -> None:
    mailbox, _ = smtp
    mailbox.delay_s = 0.25  # a slow mail server keeps the fan-out going long enough to kill it
    case = await make_case(app, accounts)
    recipients = [party_ref(case.plaintiff)]
    for n in range(11):
        account = await Account.create(id=uuid.uuid4(), display_name=f"被告{n}", roles=["litigant"])
        party = await add_party(
            case.filing,
            "defendant",
            f"被告{n}",
            account,
            service_address=f"party{n}@example.com",
            service_address_confirmed=True,
        )
        recipients.append({"party_id": str(party.id)})
    task = await serve(client, case, recipients, [["inapp", "email"]])
    ids = [d["id"] for d in task["deliveries"]]

    async def emails_delivered() -> int:
        return await ServiceAttempt.filter(channel="email", status="delivered").count()

    async def emails_received() -> int:
        return len(mailbox.messages)

    proc = start_worker(settings)
    try:
        # The batch is being sent (the mail server has some of it) and is not settled yet.
        await wait_until(lambda: _at_least(emails_received, 2), within=30)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    assert await emails_delivered() < len(ids), "the worker finished before it was killed"

    worker = make_worker(app, settings, lease_s=2.0)
    await worker.start()
    try:
        await wait_until(lambda: _all_served(ids), within=60, interval=0.2)
    finally:
        await worker.stop()
    # Every delivery served exactly once, with exactly one attempt per channel.
    for delivery_id in ids:
        attempts = await ServiceAttempt.filter(delivery_id=delivery_id)
        assert sorted(a.channel for a in attempts) == ["email", "inapp"]
    served = await AuditEvent.filter(action="service.served").count()
    assert served == len(ids)
    addresses = ["zhang.san@example.com"] + [f"party{n}@example.com" for n in range(11)]
    for address in addresses:
        # None lost; a message in flight when the worker died may have gone out twice, but
        # its attempt and receipt exist once.
        assert 1 <= len(mailbox.to(address)) <= 2, address
    assert await Job.filter(status="dead").count() == 0


async def _at_least(count: Any, n: int) -> bool:
    return bool(await count() >= n)


async def _all_served(ids: list[str]) -> bool:
    return await ServiceDelivery.filter(id__in=ids, status="served").count() == len(ids)
