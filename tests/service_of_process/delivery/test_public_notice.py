"""Post that comes back, and public notice after it (CPL Art. 95): deemed served 30 days after
publication (60 abroad), the periods from then, the proof listing every step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from service_of_process.models import ServiceDelivery
from service_of_process.proof_records import build_proof
from tests.conftest import Accounts
from tests.service_of_process.delivery.delivery_fixtures import (
    SERVICE,
    Case,
    Client,
    make_case,
    upload_pdf,
)

RETURNED = {
    "reason": "whereabouts_unknown",
    "tracking_number": "EMS1234567CN",
    "returned_at": "2026-08-20T10:00:00+08:00",
}
NOTICE = {
    "published_at": "2026-09-01T10:00:00+08:00",
    "medium": "人民法院公告网 / court notice board",
    "reference": "(2026)浙0281公告12号",
}


async def _postal_delivery(client: Client, case: Case, *, abroad: bool = False) -> str:
    """A notice of response to the defendant, who never consented: it waits for the post."""
    file_id = await upload_pdf(client, case.clerk.headers)
    resp = await client.post(
        f"{case.url}/tasks",
        json={
            "documents": [{"kind": "notice_of_response", "file_id": file_id}],
            "recipients": [{"party_id": str(case.defendant.party.id), "abroad": abroad}],  # type: ignore[union-attr]
            "plan": [["inapp"]],
        },
        headers=case.clerk.headers,
    )
    assert resp.status == 201, await resp.text()
    [delivery] = (await resp.json())["deliveries"]
    assert delivery["status"] == "postal"
    return f"{SERVICE}/deliveries/{delivery['id']}"


async def _post(
    client: Client, url: str, body: dict[str, Any], headers: dict[str, str], status: int
) -> dict[str, Any]:
    resp = await client.post(url, json=body, headers=headers)
    assert resp.status == status, await resp.text()
    out: dict[str, Any] = await resp.json()
    return out


async def test_post_returned_then_public_notice_deemed_served_30_days_later(
    app: web.Application, client: Client, accounts: Accounts
) -> None:
    case = await make_case(app, accounts)
    url = await _postal_delivery(client, case)
    clerk = case.clerk.headers

    # No public notice before the post has failed.
    problem = await _post(client, f"{url}/public-notice", NOTICE, clerk, 409)
    assert problem["code"] == "no_ground_for_public_notice"

    # Bad input: unknown reason, a return in the future.
    await _post(client, f"{url}/postal-failed", {**RETURNED, "reason": "lost"}, clerk, 422)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    await _post(client, f"{url}/postal-failed", {**RETURNED, "returned_at": future}, clerk, 422)

    # Returned as undeliverable: recorded, still waiting, and not yet a ground for notice.
    out = await _post(
        client, f"{url}/postal-failed", {**RETURNED, "reason": "returned_undeliverable"}, clerk, 200
    )
    assert out["status"] == "postal" and out["service_date"] is None
    assert out["postal_failure_label"] == "退回-无法投递 / returned as undeliverable"
    problem = await _post(client, f"{url}/public-notice", NOTICE, clerk, 409)
    assert problem["code"] == "no_ground_for_public_notice"

    # Posted again, returned: whereabouts unknown. The judge may record it too.
    out = await _post(client, f"{url}/postal-failed", RETURNED, case.judge.headers, 200)
    assert out["postal_failure"] == "whereabouts_unknown" and out["status"] == "postal"
    assert out["postal_failed_at"] == "2026-08-20T02:00:00+00:00"

    # A notice in the future, or published before the post came back, is refused whole.
    await _post(client, f"{url}/public-notice", {**NOTICE, "published_at": future}, clerk, 422)
    early = {**NOTICE, "published_at": "2026-08-19T10:00:00+08:00"}
    await _post(client, f"{url}/public-notice", early, clerk, 422)
    await _post(client, f"{url}/public-notice", {**NOTICE, "medium": "x" * 201}, clerk, 422)
    delivery_id = url.rsplit("/", 1)[1]
    row = await ServiceDelivery.get(id=delivery_id)
    assert row.status == "postal" and row.published_at is None and row.notice_medium is None

    out = await _post(client, f"{url}/public-notice", NOTICE, clerk, 200)
    # CPL Art. 95: deemed served 30 days after publication.
    assert out["status"] == "public_notice" and out["service_rule"] == "public_notice"
    assert out["published_at"] == "2026-09-01T02:00:00+00:00"
    assert out["service_date"] == "2026-10-01T02:00:00+00:00"
    assert out["notice_reference"] == NOTICE["reference"]
    [deadline] = out["deadlines"]
    # CPL Art. 128: 15 days to respond, counted from 2026-10-01 (Art. 85): 2026-10-16, a Friday.
    assert (deadline["kind"], deadline["days"], deadline["start"]) == ("response", 15, "2026-10-01")
    assert deadline["due"] == "2026-10-16"

    # Every step is in the audit log under the clerk or judge who took it.
    events = {
        e.action: e
        for e in await AuditEvent.filter(resource_id=str(case.filing.id)).order_by("seq")
        if e.action in {"service.postal_failed", "service.public_notice"}
    }
    assert events["service.postal_failed"].actor_subject == str(case.judge.account.id)
    assert events["service.public_notice"].actor_subject == str(case.clerk.account.id)
    assert events["service.public_notice"].details["medium"] == NOTICE["medium"]

    # The proof of service lists the returned post and the publication.
    proof = await build_proof(await ServiceDelivery.get(id=delivery_id))
    steps = [(a.channel, a.status, a.at.isoformat(), a.detail) for a in proof.attempts]
    assert (
        "postal",
        "returned",
        "2026-08-20T02:00:00+00:00",
        "EMS1234567CN: 下落不明 / whereabouts unknown",
    ) in steps
    assert steps[-1] == (
        "public_notice",
        "published",
        "2026-09-01T02:00:00+00:00",
        f"{NOTICE['medium']} {NOTICE['reference']}",
    )
    assert proof.service_date == datetime(2026, 10, 1, 2, tzinfo=UTC)
    resp = await client.get(f"{url}/proof", headers=clerk)
    assert resp.status == 200

    # Once published, the delivery no longer waits for the post.
    for action, body in (("postal-failed", RETURNED), ("public-notice", NOTICE)):
        problem = await _post(client, f"{url}/{action}", body, clerk, 409)
        assert problem["code"] == "not_postal"
    served = {"served_at": "2026-09-05T10:00:00+08:00", "tracking_number": "EMS7654321CN"}
    await _post(client, f"{url}/postal", served, clerk, 409)


async def test_public_notice_to_a_party_abroad_is_deemed_served_after_60_days(
    app: web.Application, client: Client, accounts: Accounts
) -> None:
    case = await make_case(app, accounts)
    url = await _postal_delivery(client, case, abroad=True)
    await _post(client, f"{url}/postal-failed", RETURNED, case.clerk.headers, 200)
    out = await _post(client, f"{url}/public-notice", NOTICE, case.clerk.headers, 200)
    assert out["service_date"] == "2026-10-31T02:00:00+00:00"
    [deadline] = out["deadlines"]
    # CPL Art. 285: 30 days from 2026-10-31 end on Monday 2026-11-30.
    assert (deadline["days"], deadline["article"]) == (30, "CPL Art. 285")
    assert (deadline["start"], deadline["due"]) == ("2026-10-31", "2026-11-30")


async def test_only_court_staff_of_the_case_record_failures_and_notices(
    app: web.Application, client: Client, accounts: Accounts
) -> None:
    case = await make_case(app, accounts)
    url = await _postal_delivery(client, case)
    _, other_clerk = await accounts.headers(Role.CLERK, court_code="京0491")
    for action, body in (("postal-failed", RETURNED), ("public-notice", NOTICE)):
        for litigant in (case.defendant.headers, case.outsider.headers):
            await _post(client, f"{url}/{action}", body, litigant, 403)
        # Staff of another court: the delivery does not exist for them.
        await _post(client, f"{url}/{action}", body, other_clerk, 404)
    row = await ServiceDelivery.get(id=url.rsplit("/", 1)[1])
    assert row.postal_failure is None and row.status == "postal"
