"""Parties to a filing: identifier checks, encryption of ID numbers, masking for the other side."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.errors import ValidationFailed
from backend.fieldcrypto import FieldCipher
from filing.catalogue import PROVINCES
from filing.models import Filing, Party
from filing.schemas import PartyIn, PartyOut, PartyUpdate
from identity.credit_code import parse_credit_code
from identity.idcard import InvalidIdentifier, mask_resident_id, parse_resident_id
from identity.models import Organisation, RealName, RealNameStatus

# Same context as identity's real-name records, so a party's lookup hash matches the hash of the
# person's own real-name record (Online Litigation Rules Art. 10: the defendant links to the case).
RESIDENT_ID_CONTEXT = "resident_id"


def _field(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code=code,
        errors=[{"location": "body", "field": field, "message": message, "type": code}],
    )


def party_values(body: PartyIn, cipher: FieldCipher) -> dict[str, Any]:
    """Column values for a new party; 422 with the field named when an identifier is wrong."""
    values: dict[str, Any] = {
        "role": body.role,
        "kind": body.kind,
        "name": " ".join(body.name.split()),
        "region_code": body.region_code,
        "address": body.address,
        "service_address": body.service_address,
        "service_address_confirmed": body.service_address_confirmed,
        "domiciled_abroad": body.domiciled_abroad,
    }
    if body.kind == "natural":
        if body.credit_code:
            raise _field("credit_code", "credit_code_unexpected", "a person has no credit code")
        if not body.id_number:
            raise _field("id_number", "id_number_required", "the ID number is required")
        try:
            resident = parse_resident_id(body.id_number)
        except InvalidIdentifier as exc:
            raise _field("id_number", exc.code, exc.message) from None
        values["id_number_enc"] = cipher.encrypt(resident.number, context=RESIDENT_ID_CONTEXT)
        values["id_number_hash"] = cipher.lookup_hash(resident.number, context=RESIDENT_ID_CONTEXT)
        values["id_number_masked"] = mask_resident_id(resident.number)
    else:
        if body.id_number:
            raise _field("id_number", "id_number_unexpected", "an organisation has no ID number")
        if not body.credit_code:
            raise _field("credit_code", "credit_code_required", "the credit code is required")
        try:
            values["credit_code"] = parse_credit_code(body.credit_code).code
        except InvalidIdentifier as exc:
            raise _field("credit_code", exc.code, exc.message) from None
    return values


async def check_is_me(conn: BaseDBAsyncClient, values: dict[str, Any], account_id: UUID) -> None:
    """A party linked to the caller's account must be the caller (Online Litigation Rules Art. 7):
    a person by their verified real-name record, an organisation by its legal representative."""
    if values["kind"] == "natural":
        record = (
            await RealName.filter(account_id=account_id, status=RealNameStatus.VERIFIED.value)
            .using_db(conn)
            .first()
        )
        if record is None or record.id_number_hash != values["id_number_hash"]:
            raise _field(
                "is_me",
                "realname_mismatch",
                "only a party whose ID number matches your verified real name can be you / "
                "只能关联与您实名认证身份一致的当事人",
            )
        return
    if (
        not await Organisation.filter(
            credit_code=values["credit_code"], legal_representative_id=account_id
        )
        .using_db(conn)
        .exists()
    ):
        raise _field(
            "is_me",
            "not_legal_representative",
            "you are not the registered legal representative of this organisation / "
            "您不是该组织登记的法定代表人",
        )


async def create_party(
    conn: BaseDBAsyncClient,
    filing: Filing,
    body: PartyIn,
    cipher: FieldCipher,
    account_id: UUID | None,
) -> Party:
    values = party_values(body, cipher)
    if account_id is not None:
        await check_is_me(conn, values, account_id)
    return await Party.create(
        id=uuid4(), filing=filing, account_id=account_id, using_db=conn, **values
    )


def party_changes(body: PartyUpdate) -> dict[str, Any]:
    """Column values a party edit sets: only the fields given."""
    values = body.model_dump(exclude_unset=True)
    for field in ("region_code", "address", "service_address_confirmed", "domiciled_abroad"):
        if field in values and values[field] is None:
            raise _field(field, "null_not_allowed", f"{field} cannot be null")
    return values


async def update_party(conn: BaseDBAsyncClient, party: Party, body: PartyUpdate) -> dict[str, Any]:
    """Apply an edit; the changed fields with their new values (for the audit record)."""
    values = {k: v for k, v in party_changes(body).items() if getattr(party, k) != v}
    if values:
        party.update_from_dict(values)
        await party.save(using_db=conn, update_fields=list(values))
    return values


def region_name(region_code: str) -> str:
    """The province of a division code: what the other side learns of a party's address."""
    for province in PROVINCES:
        if province.division_prefix and region_code.startswith(province.division_prefix):
            return f"{province.name_zh}（{region_code[:4]}00）"
    return region_code[:4] + "00"


def party_out(party: Party, *, masked: bool) -> PartyOut:
    if not masked:
        return PartyOut(
            id=str(party.id),
            role=party.role,
            kind=party.kind,
            name=party.name,
            id_number_masked=party.id_number_masked,
            credit_code=party.credit_code,
            region_code=party.region_code,
            address=party.address,
            service_address=party.service_address,
            service_address_confirmed=party.service_address_confirmed,
            domiciled_abroad=party.domiciled_abroad,
            linked=party.account_id is not None,
            masked=False,
        )
    # The other side: the ID reduced to its first and last characters, the address to the
    # region (a court still serves by the full address; the opponent does not need it).
    masked_id = party.id_number_masked
    if masked_id:
        masked_id = masked_id[:1] + "*" * (len(masked_id) - 2) + masked_id[-1:]
    return PartyOut(
        id=str(party.id),
        role=party.role,
        kind=party.kind,
        name=party.name,
        id_number_masked=masked_id,
        credit_code=party.credit_code,
        region_code=party.region_code[:4] + "00",
        address=region_name(party.region_code),
        service_address=None,
        service_address_confirmed=party.service_address_confirmed,
        domiciled_abroad=party.domiciled_abroad,
        linked=party.account_id is not None,
        masked=True,
    )
