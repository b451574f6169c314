"""A defendant served by post who links its account afterwards gets copies for information of
what was served on it: in the inbox, with the original service date, and the periods still
running from the postal service (不重新起算期间)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, DATABASE
from backend.audit.models import AuditEvent
from backend.auth.principal import Actor, Role
from backend.jobs.models import Job
from service_of_process.copies import JOB_COPY_DUE, copy_served_documents
from service_of_process.jobs import COPY_NOTICE_TEXT
from service_of_process.models import ServiceDelivery, ServiceDocument, ServiceTask
from tests.async_hearings.helpers import Client, Person, litigant, run_jobs
from tests.filing.workflow_helpers import (
    DEFENDANT_ID,
    PLAINTIFF_ID,
    person,
    seed,
    verify_real_name,
)
from tests.identity.conftest import Platform
from tests.service_of_process.delivery.delivery_fixtures import upload_pdf, wait_until

SERVICE = "/api/v1/service"
FILING = "/api/v1/filing"
COPY_EVENT = "service.copy_for_information"


async def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _registered(
    client: Client, app: web.Application, accounts: Any
) -> tuple[dict[str, Any], ServiceDelivery, dict[str, str]]:
    """A case registered with a defendant that has no account: its notice goes by post."""
    await seed(app)
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    created = await _ok(
        await client.post(
            f"{FILING}/filings",
            json={"court": "浙0281", "cause": "4.cont.loan.private", "claim_amount": "5000"},
            headers=headers,
        ),
        201,
    )
    url = f"{FILING}/filings/{created['id']}"
    for body in (
        person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
        person("defendant", DEFENDANT_ID, "330281"),
    ):
        await _ok(await client.post(f"{url}/parties", json=body, headers=headers), 201)
    await _ok(await client.post(f"{url}/submit", headers=headers))
    registered = await _ok(await client.post(f"{url}/register", headers=clerk))
    with app[DATABASE].activate():
        task = await ServiceTask.get(origin_key=f"filing:{created['id']}:registered")
        delivery = await ServiceDelivery.get(task_id=task.id)
    assert delivery.status == "postal" and delivery.postal_reason == "no_account"
    return registered, delivery, clerk


async def _serve_by_post(client: Client, delivery: ServiceDelivery, clerk: Any) -> Any:
    served_at = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    return await _ok(
        await client.post(
            f"{SERVICE}/deliveries/{delivery.id}/postal",
            json={"served_at": served_at.isoformat(), "tracking_number": "EMS-1234567"},
            headers=clerk,
        )
    )


async def _defendant_links(
    client: Client, app: web.Application, accounts: Any, case: dict[str, Any]
) -> tuple[Any, dict[str, str]]:
    defendant, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, defendant.id, DEFENDANT_ID)
    claim = {"case_number": case["case_number"]}
    await _ok(await client.post(f"{FILING}/cases/claim", json=claim, headers=headers))
    await _ok(
        await client.post(
            f"{SERVICE}/cases/{case['id']}/consents/mine", json={"inbox": True}, headers=headers
        ),
        201,
    )
    return defendant, headers


async def _copy_events(app: web.Application, case_id: str) -> list[dict[str, Any]]:
    with app[DATABASE].activate():
        return [
            dict(e.details) for e in await AuditEvent.filter(resource_id=case_id, action=COPY_EVENT)
        ]


async def test_a_defendant_linking_after_postal_service_reads_a_copy_in_the_inbox(
    client: Client, app: web.Application, accounts: Any
) -> None:
    case, original, clerk = await _registered(client, app, accounts)
    served = await _serve_by_post(client, original, clerk)
    assert served["status"] == "served" and served["service_rule"] == "postal"

    defendant, headers = await _defendant_links(client, app, accounts, case)

    [copy] = (await _ok(await client.get(f"{SERVICE}/inbox", headers=headers)))["items"]
    assert copy["status"] == "copy" and copy["copy_of"] == str(original.id)
    # The postal service stands: same date, same rule, the defence period from it.
    assert copy["service_date"] == served["service_date"]
    assert copy["service_rule"] == "postal" and copy["legal_ground_zh"] == served["legal_ground_zh"]
    assert copy["deadlines"] == served["deadlines"]
    assert copy["recipient_role"] == "defendant" and copy["attempts"] == []
    [event] = await _copy_events(app, case["id"])
    assert event["copy_of"] == [str(original.id)]

    # Readable without a receipt; there is nothing to sign for.
    url = f"{SERVICE}/deliveries/{copy['id']}"
    [document] = copy["documents"]
    resp = await client.get(f"{url}/documents/{document['id']}", headers=headers)
    assert resp.status == 200
    assert (
        await client.put(f"{SERVICE}/signature-code", json={"code": "246810"}, headers=headers)
    ).status in (200, 204)
    resp = await client.post(f"{url}/sign", json={"signature_code": "246810"}, headers=headers)
    assert resp.status == 409 and (await resp.json())["code"] == "copy_not_signed"
    with app[DATABASE].activate():
        again = await ServiceDelivery.get(id=original.id)
        opened = await ServiceDelivery.get(id=copy["id"])
    # Opening the copy is logged but changes no service date.
    assert opened.first_opened_at is not None
    assert opened.service_date == again.service_date
    assert again.service_date == datetime.fromisoformat(served["service_date"])
    assert again.account_id is None and again.status == "served"
    # The dashboard's deadlines come from the original only: no second defence period.
    deadlines = await _ok(
        await client.get(f"{SERVICE}/cases/{case['id']}/deadlines", headers=headers)
    )
    assert [d["delivery_id"] for d in deadlines["items"]] == [str(original.id)]

    # Linking again (a retried call) copies nothing twice.
    assert original.party_id is not None
    with app[DATABASE].activate():
        async with in_transaction() as conn:
            queued = await copy_served_documents(
                conn,
                app[AUDIT],
                Actor.system("test"),
                filing_id=uuid.UUID(case["id"]),
                party_id=original.party_id,
                account_id=defendant.id,
            )
        assert queued == 0
        assert await ServiceDelivery.filter(copy_of_id=original.id).count() == 1
    assert len(await _copy_events(app, case["id"])) == 1


async def test_postal_service_recorded_after_the_link_also_reaches_the_inbox(
    client: Client, app: web.Application, accounts: Any
) -> None:
    case, original, clerk = await _registered(client, app, accounts)
    _, headers = await _defendant_links(client, app, accounts, case)
    # Nothing was served yet, so nothing is copied: the clerk still serves it on paper.
    assert (await _ok(await client.get(f"{SERVICE}/inbox", headers=headers)))["items"] == []
    assert await _copy_events(app, case["id"]) == []

    served = await _serve_by_post(client, original, clerk)
    [copy] = (await _ok(await client.get(f"{SERVICE}/inbox", headers=headers)))["items"]
    assert copy["status"] == "copy" and copy["service_date"] == served["service_date"]
    # The clerk's act made the copy: the audit event names the clerk, not the system.
    with app[DATABASE].activate():
        [event] = await AuditEvent.filter(resource_id=case["id"], action=COPY_EVENT)
        [recorded] = await AuditEvent.filter(resource_id=case["id"], action="service.postal_served")
    assert event.actor_subject is not None and event.actor_subject == recorded.actor_subject
    with app[DATABASE].activate():
        [document] = await ServiceDocument.filter(task_id=original.task_id)  # type: ignore[attr-defined]
    assert [d["id"] for d in copy["documents"]] == [str(document.id)]


async def _wechat_defendant_links(
    client: Client, app: web.Application, platform: Platform, case: dict[str, Any]
) -> Person:
    """The defendant signs in with WeChat (granting the service template) and links."""
    defendant = await litigant(client, app, platform)
    await verify_real_name(app, defendant.account_id, DEFENDANT_ID)
    claim = {"case_number": case["case_number"]}
    await _ok(await client.post(f"{FILING}/cases/claim", json=claim, headers=defendant.headers))
    return defendant


async def _wechat_messages(platform: Platform, openid: str | None) -> list[dict[str, Any]]:
    url = f"{platform.base}/__control/messages"
    async with platform.session.get(url, params={"touser": openid or ""}) as resp:
        messages: list[dict[str, Any]] = (await resp.json())["messages"]
        return messages


async def test_one_wechat_notice_for_a_batch_of_copies(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    case, notice, clerk = await _registered(client, app, accounts)
    assert notice.party_id is not None
    # A second act of service on the unlinked defendant: it goes by post too.
    file_id = await upload_pdf(client, clerk)
    task = await _ok(
        await client.post(
            f"{SERVICE}/cases/{case['id']}/tasks",
            json={
                "documents": [{"kind": "judgment", "file_id": file_id}],
                "recipients": [{"party_id": str(notice.party_id)}],
                "plan": [["inapp"]],
            },
            headers=clerk,
        ),
        201,
    )
    [judgment] = task["deliveries"]
    with app[DATABASE].activate():
        second = await ServiceDelivery.get(id=judgment["id"])
    for original in (notice, second):
        await _serve_by_post(client, original, clerk)

    defendant = await _wechat_defendant_links(client, app, platform, case)
    await run_jobs(app)

    copies = (await _ok(await client.get(f"{SERVICE}/inbox", headers=defendant.headers)))["items"]
    assert sorted(c["copy_of"] for c in copies) == sorted([str(notice.id), str(second.id)])
    # One courtesy notice for the two copies, in both languages, with the case number.
    [message] = await _wechat_messages(platform, defendant.openid)
    assert message["data"]["thing1"]["value"] == COPY_NOTICE_TEXT == "已送达文书副本 Served copy"
    assert message["data"]["thing2"]["value"] == case["case_number"][:20]
    assert await run_jobs(app) == 0
    assert len(await _wechat_messages(platform, defendant.openid)) == 1


async def test_a_public_notice_deemed_served_after_the_link_is_copied_then(
    client: Client, app: web.Application, accounts: Any, platform: Platform
) -> None:
    case, original, clerk = await _registered(client, app, accounts)
    # The post came back, whereabouts unknown; the notice is deemed served a few seconds from
    # now (CPL Art. 95: 30 days after publication).
    now = datetime.now(UTC)
    published = (now - timedelta(days=30) + timedelta(seconds=6)).replace(microsecond=0)
    url = f"{SERVICE}/deliveries/{original.id}"
    returned = {
        "reason": "whereabouts_unknown",
        "tracking_number": "EMS-1234567",
        "returned_at": (now - timedelta(days=31)).isoformat(),
    }
    await _ok(await client.post(f"{url}/postal-failed", json=returned, headers=clerk))
    notice = {
        "published_at": published.isoformat(),
        "medium": "人民法院公告网",
        "reference": "公告12号",
    }
    await _ok(await client.post(f"{url}/public-notice", json=notice, headers=clerk))
    with app[DATABASE].activate():
        noticed = await ServiceDelivery.get(id=original.id)
        [due_job] = await Job.filter(kind=JOB_COPY_DUE)
    deemed = published + timedelta(days=30)
    assert noticed.service_date == deemed and noticed.service_rule == "public_notice"
    assert due_job.run_at == deemed

    # Linked while the notice runs: nothing is served yet, so nothing is copied yet.
    defendant = await _wechat_defendant_links(client, app, platform, case)
    await run_jobs(app)
    inbox = await _ok(await client.get(f"{SERVICE}/inbox", headers=defendant.headers))
    assert inbox["items"] == [] and await _copy_events(app, case["id"]) == []
    assert await _wechat_messages(platform, defendant.openid) == []

    # Deemed served: the copy reaches the inbox with that date and rule, and a notice goes out.
    async def copied() -> bool:
        await run_jobs(app)
        return bool(await _copy_events(app, case["id"]))

    with app[DATABASE].activate():
        await wait_until(copied, within=20, interval=0.5)
    [copy] = (await _ok(await client.get(f"{SERVICE}/inbox", headers=defendant.headers)))["items"]
    assert copy["copy_of"] == str(original.id) and copy["service_rule"] == "public_notice"
    assert datetime.fromisoformat(copy["service_date"]) == deemed
    [message] = await _wechat_messages(platform, defendant.openid)
    assert message["data"]["thing1"]["value"] == COPY_NOTICE_TEXT
    [event] = await _copy_events(app, case["id"])
    assert event["copy_of"] == [str(original.id)]
