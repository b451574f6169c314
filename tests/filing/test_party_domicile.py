"""A party's domicile outside the PRC mainland (CPL Art. 285–286): set when the party is added,
shown in the record, changed by the filing side while drafting and by the clerk afterwards."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from backend.appkeys import DATABASE
from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from filing.models import Party
from tests.filing.workflow_helpers import DEFENDANT_ID, PLAINTIFF_ID, person, seed, verify_real_name

Client = Any
API = "/api/v1/filing"


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


def _field_error(problem: dict[str, Any]) -> str:
    return str(problem["errors"][0]["field"])


async def test_domicile_abroad_is_set_shown_and_edited(
    client: Client, app: web.Application, accounts: Any
) -> None:
    await seed(app)
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    _, clerk = await accounts.headers(Role.CLERK, court_code="浙0281")
    _, outsider = await accounts.headers(Role.LITIGANT)
    draft = await _ok(
        await client.post(
            f"{API}/filings",
            json={"court": "浙0281", "cause": "4.cont.loan.private", "claim_amount": "5000"},
            headers=headers,
        ),
        201,
    )
    url = f"{API}/filings/{draft['id']}"

    # A wrong type is refused with the field named, and nothing is saved.
    for wrong in ("yes", 1, None):
        resp = await client.post(
            f"{url}/parties",
            json=person("defendant", DEFENDANT_ID, "330281", domiciled_abroad=wrong),
            headers=headers,
        )
        problem = await resp.json()
        assert resp.status == 422, (wrong, problem)
        assert _field_error(problem) == "domiciled_abroad"
    with app[DATABASE].activate():
        assert await Party.all().count() == 0

    me = await _ok(
        await client.post(
            f"{url}/parties",
            json=person("plaintiff", PLAINTIFF_ID, "330106", is_me=True),
            headers=headers,
        ),
        201,
    )
    assert me["domiciled_abroad"] is False  # the default: domiciled in the PRC
    defendant = await _ok(
        await client.post(
            f"{url}/parties",
            json=person("defendant", DEFENDANT_ID, "330281", domiciled_abroad=True),
            headers=headers,
        ),
        201,
    )
    assert defendant["domiciled_abroad"] is True
    detail = await _ok(await client.get(url, headers=headers))
    shown = {p["role"]: p["domiciled_abroad"] for p in detail["parties"]}
    assert shown == {"plaintiff": False, "defendant": True}

    # The filing side edits a party while drafting; only the fields given change.
    party_url = f"{url}/parties/{defendant['id']}"
    edited = await _ok(
        await client.patch(party_url, json={"domiciled_abroad": False}, headers=headers)
    )
    assert edited["domiciled_abroad"] is False and edited["address"] == defendant["address"]
    for body in ({"domiciled_abroad": "no"}, {"domiciled_abroad": None}, {"surprise": 1}):
        resp = await client.patch(party_url, json=body, headers=headers)
        assert resp.status == 422, body
    assert (await client.patch(party_url, json={}, headers=outsider)).status == 404
    unknown = await client.patch(f"{url}/parties/{uuid.uuid4()}", json={}, headers=headers)
    assert unknown.status == 404
    with app[DATABASE].activate():
        stored = await Party.get(id=defendant["id"])
        assert stored.domiciled_abroad is False
        [event] = await AuditEvent.filter(action="filing.edit_party")
        assert event.details["fields"] == ["domiciled_abroad"]

    # Once submitted the filing side no longer edits; the clerk of the court holding the case
    # establishes the domicile, but not what only the party declares.
    await _ok(await client.post(f"{url}/submit", headers=headers))
    resp = await client.patch(party_url, json={"domiciled_abroad": True}, headers=headers)
    assert resp.status == 409
    by_clerk = await _ok(
        await client.patch(party_url, json={"domiciled_abroad": True}, headers=clerk)
    )
    assert by_clerk["domiciled_abroad"] is True
    resp = await client.patch(party_url, json={"service_address": "x@example.com"}, headers=clerk)
    assert resp.status == 422 and _field_error(await resp.json()) == "service_address"
    detail = await _ok(await client.get(url, headers=clerk))
    assert {p["role"]: p["domiciled_abroad"] for p in detail["parties"]}["defendant"] is True
