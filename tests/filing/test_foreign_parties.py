"""Parties without a PRC resident ID or credit code: the document type on create and edit, its
storage (encrypted, hashed, masked), the domicile default, and the parties' and lawyers' account
ids shown to court staff only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from backend.appkeys import DATABASE, KEYRING
from backend.auth.principal import Role
from backend.fieldcrypto import FieldCipher
from filing.models import Party, Representation
from tests.filing.test_id_documents import HK_PERMIT, PERMANENT_2023, wrong_check
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


async def _ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def _problem(response: Any) -> tuple[str, str]:
    """(field, code) of a 422."""
    body = await response.json()
    assert response.status == 422, body
    assert response.content_type == "application/problem+json"
    return body["errors"][0]["field"], body["errors"][0]["type"]


def _defendant(id_type: str, number: str, **extra: Any) -> dict[str, Any]:
    body = person("defendant", number, "330281", id_type=id_type, **extra)
    body.pop("service_address")
    body.pop("service_address_confirmed")
    return body


def _company(**identity: Any) -> dict[str, Any]:
    return {
        "role": "defendant",
        "kind": "organisation",
        "name": "Example Trading Ltd",
        "region_code": "330281",
        "address": "1 Queen's Road Central, Hong Kong",
        **identity,
    }


async def _draft(client: Client, app: web.Application, accounts: Any) -> tuple[Any, dict, str]:
    await seed(app)
    plaintiff, headers = await accounts.headers(Role.LITIGANT)
    await verify_real_name(app, plaintiff.id, PLAINTIFF_ID)
    draft = await _ok(
        await client.post(
            f"{API}/filings",
            json={"court": "浙0281", "cause": "4.cont.loan.private", "claim_amount": "5000"},
            headers=headers,
        ),
        201,
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
    return plaintiff, headers, url


# (id_type, number as typed, stored number, masked, domiciled_abroad by default, extra fields)
NATURAL = [
    ("resident_id", DEFENDANT_ID.lower(), DEFENDANT_ID, "3302**********0021", False, {}),
    ("hmt_residence_permit", HK_PERMIT, HK_PERMIT, f"8100**********{HK_PERMIT[-4:]}", False, {}),
    ("hk_macau_permit", "h12345678", "H12345678", "H1*****78", True, {}),
    ("taiwan_permit", "01234567", "01234567", "01****67", True, {}),
    (
        "foreign_permanent_resident_id",
        PERMANENT_2023,
        PERMANENT_2023,
        f"9118**********{PERMANENT_2023[-4:]}",
        False,
        {},
    ),
    (
        "foreign_permanent_resident_id",
        "USA110065010130",
        "USA110065010130",
        "USA*********130",
        False,
        {},
    ),
    ("passport", "e12345678", "E12345678", "E1*****78", True, {"country": "usa"}),
]
CONTEXT = {"resident_id": "resident_id", "hmt_residence_permit": "resident_id"}


@pytest.mark.parametrize(("id_type", "typed", "number", "masked", "abroad", "extra"), NATURAL)
async def test_a_person_is_added_with_each_document(
    client: Client,
    app: web.Application,
    accounts: Any,
    id_type: str,
    typed: str,
    number: str,
    masked: str,
    abroad: bool,
    extra: dict[str, Any],
) -> None:
    _, headers, url = await _draft(client, app, accounts)
    party = await _ok(
        await client.post(
            f"{url}/parties", json=_defendant(id_type, typed, **extra), headers=headers
        ),
        201,
    )
    assert party["id_type"] == id_type and party["id_number_masked"] == masked
    assert party["domiciled_abroad"] is abroad
    assert party["country"] == ("USA" if extra else None) and party["credit_code"] is None
    assert " / " in party["id_type_name"]
    assert number not in str(party)
    # Stored like resident IDs: encrypted and hashed, in the document's own context.
    cipher = FieldCipher(app[KEYRING].field_key)
    context = CONTEXT.get(id_type, id_type)
    with app[DATABASE].activate():
        stored = await Party.get(id=party["id"])
    assert stored.id_number_enc is not None
    assert cipher.decrypt(stored.id_number_enc, context=context) == number
    assert stored.id_number_hash == cipher.lookup_hash(number, context=context)
    # The filer says otherwise: the default gives way.
    other = await _ok(
        await client.post(
            f"{url}/parties",
            json=_defendant(id_type, typed, domiciled_abroad=not abroad, **extra),
            headers=headers,
        ),
        201,
    )
    assert other["domiciled_abroad"] is (not abroad)


async def test_organisations_in_the_mainland_and_abroad(
    client: Client, app: web.Application, accounts: Any
) -> None:
    _, headers, url = await _draft(client, app, accounts)
    local = await _ok(
        await client.post(
            f"{url}/parties", json=_company(credit_code=COMPANY_CODE), headers=headers
        ),
        201,
    )
    assert local["id_type"] == "credit_code" and local["domiciled_abroad"] is False
    foreign = await _ok(
        await client.post(
            f"{url}/parties",
            json=_company(
                id_type="foreign_registration", registration_number=" 1234567 ", country="hkg"
            ),
            headers=headers,
        ),
        201,
    )
    assert foreign["registration_number"] == "1234567" and foreign["country"] == "HKG"
    assert foreign["domiciled_abroad"] is True and foreign["credit_code"] is None


BAD_CREATES = [
    # a document of the other kind of party
    (_defendant("credit_code", DEFENDANT_ID), ("id_type", "id_type_kind")),
    (_company(id_type="passport", id_number="E12345678"), ("id_type", "id_type_kind")),
    (_defendant("no_such_document", DEFENDANT_ID), ("id_type", "enum")),
    # wrong numbers per type
    (_defendant("resident_id", wrong_check(DEFENDANT_ID)), ("id_number", "id_checksum")),
    (_defendant("hmt_residence_permit", DEFENDANT_ID), ("id_number", "residence_permit_prefix")),
    (_defendant("hk_macau_permit", "X12345678"), ("id_number", "hk_macau_permit_format")),
    (_defendant("taiwan_permit", "1234567"), ("id_number", "taiwan_permit_format")),
    (
        _defendant("foreign_permanent_resident_id", wrong_check(PERMANENT_2023)),
        ("id_number", "permanent_resident_id_checksum"),
    ),
    (_defendant("passport", "E1", country="USA"), ("id_number", "passport_format")),
    # missing or unexpected companions
    (_defendant("passport", "E12345678"), ("country", "country_unknown")),
    (_defendant("passport", "E12345678", country="XYZ"), ("country", "country_unknown")),
    (_defendant("hk_macau_permit", "H12345678", country="HKG"), ("country", "country_unexpected")),
    (
        _defendant("resident_id", DEFENDANT_ID, credit_code=COMPANY_CODE),
        ("credit_code", "credit_code_unexpected"),
    ),
    (_defendant("passport", None, country="USA"), ("id_number", "id_number_required")),
    (_company(), ("credit_code", "credit_code_required")),
    (
        _company(id_type="foreign_registration", country="USA"),
        ("registration_number", "registration_number_required"),
    ),
    (
        _company(id_type="foreign_registration", registration_number="1", credit_code=COMPANY_CODE),
        ("credit_code", "credit_code_unexpected"),
    ),
    (
        _company(credit_code=COMPANY_CODE, registration_number="1"),
        ("registration_number", "registration_number_unexpected"),
    ),
    (
        _company(id_type="foreign_registration", registration_number="1", country="CHN"),
        ("country", "country_mainland"),
    ),
    (
        _defendant("passport", "E12345678", country="USA", domiciled_abroad=None),
        ("domiciled_abroad", "value_error"),
    ),
]


async def test_bad_combinations_are_422_and_write_nothing(
    client: Client, app: web.Application, accounts: Any
) -> None:
    _, headers, url = await _draft(client, app, accounts)
    for body, expected in BAD_CREATES:
        field, code = await _problem(
            await client.post(f"{url}/parties", json=body, headers=headers)
        )
        assert field == expected[0] and (code == expected[1] or expected[1] == "enum"), (body, code)
    with app[DATABASE].activate():
        assert await Party.all().count() == 1  # the plaintiff only


async def test_edit_changes_the_document(
    client: Client, app: web.Application, accounts: Any
) -> None:
    _, headers, url = await _draft(client, app, accounts)
    plaintiff_url = (
        f"{url}/parties/" + (await _ok(await client.get(url, headers=headers)))["parties"][0]["id"]
    )
    defendant = await _ok(
        await client.post(
            f"{url}/parties", json=_defendant("resident_id", DEFENDANT_ID), headers=headers
        ),
        201,
    )
    party_url = f"{url}/parties/{defendant['id']}"

    # To a passport: number and country together; the new type brings its domicile default.
    assert await _problem(
        await client.patch(party_url, json={"id_type": "passport"}, headers=headers)
    ) == ("id_number", "id_number_required")
    assert await _problem(
        await client.patch(party_url, json={"country": "GBR"}, headers=headers)
    ) == ("country", "country_unexpected")
    edited = await _ok(
        await client.patch(
            party_url,
            json={"id_type": "passport", "id_number": "533401822", "country": "GBR"},
            headers=headers,
        )
    )
    assert edited["id_type"] == "passport" and edited["id_number_masked"] == "53*****22"
    assert edited["country"] == "GBR" and edited["domiciled_abroad"] is True
    # The type stays when only the number and country are given; the domicile stays too.
    edited = await _ok(
        await client.patch(
            party_url, json={"id_number": "533401822", "country": "IRL"}, headers=headers
        )
    )
    assert edited["id_type"] == "passport" and edited["country"] == "IRL"
    # Back to a resident ID, explicitly domiciled abroad: the companions are cleared.
    edited = await _ok(
        await client.patch(
            party_url,
            json={"id_type": "resident_id", "id_number": DEFENDANT_ID, "domiciled_abroad": True},
            headers=headers,
        )
    )
    assert edited["country"] is None and edited["domiciled_abroad"] is True
    assert edited["id_number_masked"] == "3302**********0021"
    assert await _problem(
        await client.patch(party_url, json={"id_type": "credit_code"}, headers=headers)
    ) == ("id_type", "id_type_kind")

    # A party linked to an account stays the person of its verified real name.
    assert await _problem(
        await client.patch(
            plaintiff_url,
            json={"id_type": "taiwan_permit", "id_number": "01234567"},
            headers=headers,
        )
    ) == ("is_me", "realname_mismatch")
    # An organisation moves from a credit code to its registration abroad.
    company = await _ok(
        await client.post(
            f"{url}/parties", json=_company(credit_code=COMPANY_CODE), headers=headers
        ),
        201,
    )
    moved = await _ok(
        await client.patch(
            f"{url}/parties/{company['id']}",
            json={
                "id_type": "foreign_registration",
                "registration_number": "C-99",
                "country": "SGP",
            },
            headers=headers,
        )
    )
    assert moved["credit_code"] is None and moved["registration_number"] == "C-99"
    assert moved["domiciled_abroad"] is True
    with app[DATABASE].activate():
        stored = await Party.get(id=defendant["id"])
    assert stored.id_type == "resident_id" and stored.country is None


async def test_id_types_are_listed_bilingually(client: Client) -> None:
    listed = await _ok(await client.get(f"{API}/id-types"))
    by_code = {t["code"]: t for t in listed["items"]}
    assert set(by_code) == {
        "resident_id",
        "hmt_residence_permit",
        "hk_macau_permit",
        "taiwan_permit",
        "foreign_permanent_resident_id",
        "passport",
        "credit_code",
        "foreign_registration",
    }
    assert by_code["passport"]["name_zh"] == "外国护照" and by_code["passport"]["country_required"]
    assert by_code["foreign_registration"]["number_field"] == "registration_number"


async def test_account_ids_are_shown_to_court_staff_only(
    client: Client, app: web.Application, accounts: Any
) -> None:
    plaintiff, headers, url = await _draft(client, app, accounts)
    lawyer, lawyer_h = await accounts.headers(Role.LAWYER)
    defendant, defendant_h = await accounts.headers(Role.LITIGANT)
    their_lawyer, their_lawyer_h = await accounts.headers(Role.LAWYER)
    _, clerk_h = await accounts.headers(Role.CLERK, court_code="浙0281")
    judge, judge_h = await accounts.headers(Role.JUDGE, court_code="浙0281")
    _, admin_h = await accounts.headers(Role.COURT_ADMIN, court_code="浙0281")
    _, outsider_h = await accounts.headers(Role.LITIGANT)
    me = (await _ok(await client.get(url, headers=headers)))["parties"][0]
    passport = await _ok(
        await client.post(
            f"{url}/parties",
            json=_defendant("passport", "E12345678", country="USA"),
            headers=headers,
        ),
        201,
    )
    unlinked = await _ok(
        await client.post(
            f"{url}/parties", json=_defendant("taiwan_permit", "01234567"), headers=headers
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{url}/representations",
            data=form(PDF, "poa.pdf", party_id=me["id"], lawyer_id=str(lawyer.id)),
            headers=headers,
        ),
        201,
    )
    await _ok(await client.post(f"{url}/submit", headers=headers))
    # The defendant links (as after Online Litigation Rules Art. 10) and appoints a lawyer.
    with app[DATABASE].activate():
        await Party.filter(id=passport["id"]).update(account_id=defendant.id)
        await Representation.create(
            id=uuid.uuid4(),
            party_id=passport["id"],
            lawyer_account_id=their_lawyer.id,
            power_of_attorney_file_id=uuid.uuid4(),
            granted_at=datetime.now(UTC),
        )
    await _ok(await client.post(f"{url}/register", headers=clerk_h))
    await _ok(
        await client.post(f"{url}/assignment", json={"judge_id": str(judge.id)}, headers=admin_h)
    )

    expected_parties = {
        me["id"]: str(plaintiff.id),
        passport["id"]: str(defendant.id),
        unlinked["id"]: None,
    }
    lawyers = {str(lawyer.id), str(their_lawyer.id)}
    for staff in (clerk_h, judge_h):
        record = await _ok(await client.get(url, headers=staff))
        assert {p["id"]: p["account_id"] for p in record["parties"]} == expected_parties
        assert {r["lawyer_account_id"] for r in record["representations"]} == lawyers

    # Each side: no party's account id; only its own lawyer's.
    for side, own_lawyer in (
        (headers, lawyer),
        (lawyer_h, lawyer),
        (defendant_h, their_lawyer),
        (their_lawyer_h, their_lawyer),
    ):
        record = await _ok(await client.get(url, headers=side))
        assert all(p["account_id"] is None for p in record["parties"])
        shown = {r["lawyer_account_id"] for r in record["representations"]}
        assert shown == {str(own_lawyer.id), None}
        assert str(defendant.id if own_lawyer is lawyer else plaintiff.id) not in str(record)
    assert (await client.get(url, headers=outsider_h)).status == 404
    # The other side sees the passport number reduced to its ends.
    seen = await _ok(await client.get(url, headers=headers))
    masked = {p["id"]: p for p in seen["parties"]}[passport["id"]]
    assert masked["masked"] is True and masked["id_number_masked"] == "E*******8"
    assert masked["country"] == "USA"
