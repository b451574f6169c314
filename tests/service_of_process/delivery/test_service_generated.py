"""Documents generated from templates: served from the console, and by other domains through
``serve_documents`` inside their own transaction (once per origin key)."""

from __future__ import annotations

import hashlib
import io

import pytest
from aiohttp import web
from pypdf import PdfReader
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, BLOBS, KEYRING
from backend.auth.principal import Actor
from backend.fieldcrypto import FieldCipher
from backend.settings import Settings
from filing.models import Filing
from service_of_process.documents import DocumentKind
from service_of_process.models import ServiceDelivery, ServiceDocument, ServiceTask
from service_of_process.service import serve_documents
from tests.conftest import Accounts
from tests.service_of_process.delivery.delivery_fixtures import (
    SERVICE,
    Client,
    drain,
    make_case,
    make_worker,
)

HEARING = {"hearing_at": "2026年12月8日上午9时30分", "place": "第三法庭"}


async def test_generated_hearing_notice_is_served_and_downloadable(
    app: web.Application, client: Client, accounts: Accounts, settings: Settings
) -> None:
    case = await make_case(app, accounts)
    assert case.plaintiff.party
    resp = await client.post(
        f"{case.url}/tasks",
        json={
            "documents": [{"kind": "hearing_notice", "template_fields": HEARING}],
            "recipients": [{"party_id": str(case.plaintiff.party.id)}],
            "plan": [["inapp", "email"]],
        },
        headers=case.clerk.headers,
    )
    assert resp.status == 201, await resp.text()
    task = await resp.json()
    [document] = task["documents"]
    assert document["title_zh"] == "开庭通知书"
    await drain(make_worker(app, settings))
    delivery_id = task["deliveries"][0]["id"]
    url = f"{SERVICE}/deliveries/{delivery_id}/documents/{document['id']}"
    resp = await client.get(url, headers=case.judge.headers)
    assert resp.status == 200
    pdf = await resp.read()
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"]
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "(2026)浙0281民初88号" in text and "第三法庭" in text
    # No deadline runs from a hearing notice.
    assert (await ServiceDelivery.get(id=delivery_id)).service_rule == "reached_confirmed_address"
    resp = await client.get(f"{case.url}/deadlines", headers=case.clerk.headers)
    assert (await resp.json())["items"] == []


async def test_missing_template_field_is_a_422_and_nothing_is_written(
    app: web.Application, client: Client, accounts: Accounts, settings: Settings
) -> None:
    case = await make_case(app, accounts)
    assert case.plaintiff.party
    resp = await client.post(
        f"{case.url}/tasks",
        json={
            "documents": [{"kind": "hearing_notice", "template_fields": {"place": "第三法庭"}}],
            "recipients": [{"party_id": str(case.plaintiff.party.id)}],
            "plan": [["inapp"]],
        },
        headers=case.clerk.headers,
    )
    assert resp.status == 422
    assert "hearing_at" in (await resp.json())["detail"]
    assert await ServiceTask.all().count() == 0


@pytest.mark.parametrize("commit", [True, False])
async def test_other_domains_serve_inside_their_transaction_once(
    app: web.Application, accounts: Accounts, settings: Settings, commit: bool
) -> None:
    case = await make_case(app, accounts)
    cipher = FieldCipher(app[KEYRING].field_key)

    async def register_case() -> None:
        async with in_transaction() as conn:
            filing = await Filing.filter(id=case.filing.id).using_db(conn).get()
            await serve_documents(
                conn,
                cipher,
                app[AUDIT],
                app[BLOBS],
                Actor.system("filing"),
                filing=filing,
                documents=[
                    (DocumentKind.SUMMONS, {**HEARING, "reason": "开庭审理"}),
                    (DocumentKind.NOTICE_OF_RESPONSE, {"response_days": "15"}),
                ],
                origin="filing",
                origin_key=f"filing:{filing.id}:registered",
            )
            if not commit:
                raise RuntimeError("the registration failed after serving")

    if commit:
        await register_case()
        await register_case()  # a retried caller
    else:
        with pytest.raises(RuntimeError):
            await register_case()
    tasks = await ServiceTask.all()
    assert len(tasks) == (1 if commit else 0)
    if commit:
        [task] = tasks
        kinds = await ServiceDocument.filter(task_id=task.id).order_by("position")
        assert [d.kind for d in kinds] == ["summons", "notice_of_response"]
        deliveries = await ServiceDelivery.filter(task_id=task.id)
        assert sorted(d.recipient_role for d in deliveries) == ["defendant", "plaintiff"]
        await drain(make_worker(app, settings))
        plaintiff = next(d for d in deliveries if d.recipient_role == "plaintiff")
        served = await ServiceDelivery.get(id=plaintiff.id)
        assert served.service_rule == "reached_confirmed_address"
        resp_deadlines = [d.kind for d in await served_deadlines(served.id)]
        assert resp_deadlines == ["response"]


async def served_deadlines(delivery_id: object) -> list[object]:
    from service_of_process.models import ServiceDeadline

    return list(await ServiceDeadline.filter(delivery_id=delivery_id))
