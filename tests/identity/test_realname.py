"""Real-name registration, masking, the in-person check, organisations and consents."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web

from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from identity.consents import NOTICES
from identity.credit_code import credit_code_check_char
from identity.keys import IDENTITY
from identity.models import ConsentPurpose, RealName
from identity.realname import RESIDENT_ID_CONTEXT
from tests.identity.conftest import (
    ADULT_ID,
    MINOR_ID,
    OTHER_ADULT_ID,
    Client,
    grant,
    register,
)

REALNAME = "/api/v1/identity/realname"
ORGS = "/api/v1/identity/organisations"
CONSENTS = "/api/v1/identity/consents"
COURT = "浙0281"
CREDIT_CODE = "91330281MA2H4K7L0" + credit_code_check_char("91330281MA2H4K7L0")


async def _problem(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
async def user(login: Callable[..., Any], accounts: Any) -> dict[str, Any]:
    signed_in: dict[str, Any] = await login()
    return signed_in


async def test_register_masks_and_encrypts(
    client: Client, user: dict[str, Any], app: web.Application
) -> None:
    out = await register(client, user["headers"], ADULT_ID.lower())  # lower-case x accepted
    assert out["id_number_masked"] == "3302**********108X"
    assert out["name"] == "王小明" and out["sex"] == "female" and out["birth_date"] == "1990-03-07"
    assert out["status"] == "pending_face" and out["method"] is None
    assert out["is_minor"] is False and out["guardian_required"] is False
    me = await client.get("/api/v1/identity/me", headers=user["headers"])
    text = await me.text()
    assert ADULT_ID not in text and ADULT_ID.lower() not in text
    assert (await me.json())["real_name"]["id_number_masked"] == "3302**********108X"

    record = await RealName.get(account_id=user["account_id"])
    assert ADULT_ID.encode() not in record.id_number_enc
    cipher = app[IDENTITY].cipher
    assert cipher.decrypt(record.id_number_enc, context=RESIDENT_ID_CONTEXT) == ADULT_ID
    assert record.id_number_hash == cipher.lookup_hash(ADULT_ID, context=RESIDENT_ID_CONTEXT)
    details = json.dumps([e.details for e in await AuditEvent.all()], ensure_ascii=False)
    assert ADULT_ID not in details and "王小明" not in details


async def test_real_name_needs_consent(client: Client, user: dict[str, Any]) -> None:
    await _problem(
        await client.post(
            REALNAME, json={"name": "王小明", "id_number": ADULT_ID}, headers=user["headers"]
        ),
        403,
        "consent_required",
    )


@pytest.mark.parametrize(
    ("id_number", "code"),
    [
        ("3302811990030710", "id_length"),
        ("330281900307108", "id_length"),  # first-generation 15 digits
        ("33028119900307108A", "id_format"),
        ("330281199002301234", "id_date"),  # 30 February
        ("330281189901011234", "id_date_implausible"),
        ("330281209901011234", "id_date_future"),
        ("330281199003071081", "id_checksum"),
    ],
)
async def test_invalid_id_numbers(
    client: Client, user: dict[str, Any], id_number: str, code: str
) -> None:
    await grant(client, user["headers"], ConsentPurpose.PERSONAL_INFO)
    resp = await client.post(
        REALNAME, json={"name": "王小明", "id_number": id_number}, headers=user["headers"]
    )
    body = await _problem(resp, 422, code)
    assert body["errors"][0]["field"] == "id_number" and body["errors"][0]["type"] == code
    assert id_number not in await resp.text()


async def test_bad_name_and_missing_fields(client: Client, user: dict[str, Any]) -> None:
    await grant(client, user["headers"], ConsentPurpose.PERSONAL_INFO)
    body = await _problem(
        await client.post(
            REALNAME, json={"name": "王1", "id_number": ADULT_ID}, headers=user["headers"]
        ),
        422,
        "name_format",
    )
    assert body["errors"][0]["field"] == "name"
    await _problem(
        await client.post(REALNAME, json={"name": "王小明"}, headers=user["headers"]),
        422,
        "validation_failed",
    )
    out = await register(client, user["headers"], OTHER_ADULT_ID, name="阿依古丽·买买提")
    assert out["name"] == "阿依古丽·买买提" and out["sex"] == "male"


async def test_one_number_one_account(
    client: Client, user: dict[str, Any], login: Callable[..., Any]
) -> None:
    await register(client, user["headers"], ADULT_ID)
    # correcting one's own pending record is fine
    corrected = await register(client, user["headers"], OTHER_ADULT_ID)
    assert corrected["id_number_masked"] == "3302**********1119"
    other = await login()
    await grant(client, other["headers"], ConsentPurpose.PERSONAL_INFO)
    resp = await client.post(
        REALNAME, json={"name": "李四", "id_number": OTHER_ADULT_ID}, headers=other["headers"]
    )
    await _problem(resp, 409, "id_number_claimed")
    assert OTHER_ADULT_ID not in await resp.text()
    # the number released by the correction is free again
    assert (await register(client, other["headers"], ADULT_ID))["status"] == "pending_face"


async def test_minor_is_flagged_for_a_guardian(client: Client, user: dict[str, Any]) -> None:
    out = await register(client, user["headers"], MINOR_ID, name="王小小")
    assert out["is_minor"] is True and out["guardian_required"] is True


async def test_in_person_check_by_clerk_only(
    client: Client, user: dict[str, Any], accounts: Any
) -> None:
    await register(client, user["headers"], ADULT_ID)
    target = f"{REALNAME}/{user['account_id']}/verify-in-person"
    note = {"note": "居民身份证原件已核对 / ID card checked at the filing desk"}
    for role in (Role.LITIGANT, Role.JUDGE, Role.LAWYER):
        _, headers = await accounts.headers(role, court_code=COURT)
        await _problem(await client.post(target, json=note, headers=headers), 403, "forbidden")
    await _problem(await client.post(target, json=note, headers=user["headers"]), 403, "forbidden")
    clerk, clerk_headers = await accounts.headers(Role.CLERK, court_code=COURT)
    resp = await client.post(target, json=note, headers=clerk_headers)
    assert resp.status == 200, await resp.text()
    out = await resp.json()
    assert out["status"] == "verified" and out["method"] == "in_person"
    assert out["id_number_masked"] == "3302**********108X" and ADULT_ID not in await resp.text()
    await _problem(
        await client.post(target, json=note, headers=clerk_headers),
        409,
        "realname_already_verified",
    )
    record = await RealName.get(account_id=user["account_id"])
    assert record.verified_by_id == clerk.id and record.verification_note == note["note"]
    event = await AuditEvent.get(action="identity.realname_verified")
    assert event.actor_subject == str(clerk.id) and event.details["method"] == "in_person"
    # staff read the record masked; the person can no longer change a verified record
    read = await client.get(f"{REALNAME}/{user['account_id']}", headers=clerk_headers)
    assert (await read.json())["status"] == "verified"
    await _problem(
        await client.post(
            REALNAME, json={"name": "王小明", "id_number": ADULT_ID}, headers=user["headers"]
        ),
        409,
        "realname_already_verified",
    )
    unknown = f"{REALNAME}/{clerk.id}/verify-in-person"
    await _problem(await client.post(unknown, json=note, headers=clerk_headers), 404, "not_found")
    await _problem(
        await client.post(
            f"{REALNAME}/not-a-uuid/verify-in-person", json=note, headers=clerk_headers
        ),
        404,
        "not_found",
    )


async def test_organisations(
    client: Client, user: dict[str, Any], accounts: Any, login: Callable[..., Any]
) -> None:
    await register(client, user["headers"], ADULT_ID)
    body = {
        "name": "宁波某某贸易有限公司",
        "credit_code": CREDIT_CODE,
        "legal_representative_account_id": user["account_id"],
    }
    await _problem(
        await client.post(ORGS, json=body, headers=user["headers"]),
        422,
        "legal_representative_not_verified",
    )
    bad = await _problem(
        await client.post(
            ORGS,
            json={
                **body,
                "credit_code": CREDIT_CODE[:-1] + "0"
                if CREDIT_CODE[-1] != "0"
                else CREDIT_CODE[:-1] + "1",
            },
            headers=user["headers"],
        ),
        422,
        "credit_code_checksum",
    )
    assert bad["errors"][0]["field"] == "credit_code"
    await _problem(
        await client.post(
            ORGS, json={**body, "credit_code": "91330281MA2H4K7LO1"}, headers=user["headers"]
        ),
        422,
        "credit_code_format",
    )

    _, clerk = await accounts.headers(Role.CLERK, court_code=COURT)
    assert (
        await client.post(
            f"{REALNAME}/{user['account_id']}/verify-in-person",
            json={"note": "checked"},
            headers=clerk,
        )
    ).status == 200
    resp = await client.post(
        ORGS, json={**body, "credit_code": CREDIT_CODE.lower()}, headers=user["headers"]
    )
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["credit_code"] == CREDIT_CODE and out["organisation_type"] == "企业"
    assert out["legal_representative_name_masked"] == "王**"
    await _problem(
        await client.post(ORGS, json=body, headers=user["headers"]), 409, "organisation_exists"
    )
    listed = await (await client.get(ORGS, headers=user["headers"])).json()
    assert [o["id"] for o in listed["items"]] == [out["id"]]
    stranger = await login()
    assert (await (await client.get(ORGS, headers=stranger["headers"])).json())["items"] == []


async def test_consents(client: Client, user: dict[str, Any]) -> None:
    notices = await client.get(f"{CONSENTS}/notices")  # public
    assert notices.status == 200
    items = {n["purpose"]: n for n in (await notices.json())["items"]}
    face = items["biometric_face"]
    assert face["sensitive"] is True and "人脸" in face["text_zh"] and "face" in face["text_en"]
    assert {"personal_info", "biometric_face", "e_service"} <= set(items)

    headers = user["headers"]
    version = NOTICES[ConsentPurpose.BIOMETRIC_FACE].version
    await _problem(
        await client.post(
            CONSENTS,
            json={"purpose": "biometric_face", "notice_version": "1999-01", "granted": True},
            headers=headers,
        ),
        422,
        "notice_version_outdated",
    )
    await _problem(
        await client.post(
            CONSENTS,
            json={"purpose": "marketing", "notice_version": version, "granted": True},
            headers=headers,
        ),
        422,
        "validation_failed",
    )
    grant_body = {"purpose": "biometric_face", "notice_version": version, "granted": True}
    first = await (await client.post(CONSENTS, json=grant_body, headers=headers)).json()
    again = await (await client.post(CONSENTS, json=grant_body, headers=headers)).json()
    assert first["active"] is True and first["consent"]["id"] == again["consent"]["id"]

    state = await (await client.get(CONSENTS, headers=headers)).json()
    current = {s["purpose"]: s["active"] for s in state["current"]}
    # separate consents: face consent is not personal_info consent
    assert current == {"personal_info": False, "biometric_face": True, "e_service": False}

    withdrawn = await client.post(CONSENTS, json={**grant_body, "granted": False}, headers=headers)
    assert (await withdrawn.json()) == {
        "purpose": "biometric_face",
        "active": False,
        "consent": None,
    }
    state = await (await client.get(CONSENTS, headers=headers)).json()
    assert not any(s["active"] for s in state["current"])
    assert len(state["history"]) == 1 and state["history"][0]["withdrawn_at"] is not None
    actions = [e.action for e in await AuditEvent.filter(action__startswith="identity.consent")]
    assert actions == ["identity.consent_granted", "identity.consent_withdrawn"]
    await _problem(await client.get(CONSENTS), 401, "unauthenticated")
