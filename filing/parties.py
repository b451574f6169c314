"""Parties to a filing: identifier checks, encryption of ID numbers, masking for the other side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.errors import ValidationFailed
from backend.fieldcrypto import FieldCipher
from filing.catalogue import PROVINCES
from filing.models import Filing, IdType, Party
from filing.schemas import PartyIdentity, PartyIn, PartyOut, PartyUpdate
from identity.credit_code import parse_credit_code
from identity.documents import (
    mask_identifier,
    parse_country,
    parse_foreign_permanent_resident_id,
    parse_foreign_registration_number,
    parse_hk_macau_permit,
    parse_hmt_residence_permit,
    parse_passport_number,
    parse_taiwan_permit,
)
from identity.idcard import InvalidIdentifier, parse_resident_id
from identity.models import Organisation, RealName, RealNameStatus

# Same context as identity's real-name records, so a party's lookup hash matches the hash of the
# person's own real-name record (Online Litigation Rules Art. 10: the defendant links to the case).
RESIDENT_ID_CONTEXT = "resident_id"


@dataclass(frozen=True, slots=True)
class Document:
    kind: str  # "natural" or "organisation"
    name_zh: str
    name_en: str
    number_field: str  # the PartyIn field carrying the number
    parse: Callable[[str], str]
    # Encryption and lookup-hash context of a person's number: GB 11643 numbers share the
    # real-name records' context; each other document has its own, so equal strings on different
    # documents never match one another.
    context: str | None = None
    country_required: bool = False
    # The default of ``domiciled_abroad`` (CPL Art. 285-286 periods). LEGAL.md names no document,
    # so the default follows what the document says of where its holder lives: the travel
    # permits are issued to residents of Hong Kong, Macao and Taiwan, which count as outside the
    # mainland for these periods (the SPC's CPL interpretation applies the foreign-related rules
    # to them by analogy), and a foreign passport or registration abroad shows no mainland
    # domicile. A residence permit needs half a year's residence in the mainland and a permanent
    # resident ID is permanent residence in China, so both default to a mainland domicile. The
    # filer or the clerk overrides either way.
    abroad: bool = False

    @property
    def name(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


DOCUMENTS: dict[IdType, Document] = {
    IdType.RESIDENT_ID: Document(
        "natural",
        "居民身份证",
        "Resident identity card",
        "id_number",
        lambda value: parse_resident_id(value).number,
        RESIDENT_ID_CONTEXT,
    ),
    IdType.HMT_RESIDENCE_PERMIT: Document(
        "natural",
        "港澳台居民居住证",
        "Residence permit for Hong Kong, Macao and Taiwan residents",
        "id_number",
        parse_hmt_residence_permit,
        RESIDENT_ID_CONTEXT,
    ),
    IdType.HK_MACAU_PERMIT: Document(
        "natural",
        "港澳居民来往内地通行证",
        "Mainland travel permit for Hong Kong and Macao residents",
        "id_number",
        parse_hk_macau_permit,
        "hk_macau_permit",
        abroad=True,
    ),
    IdType.TAIWAN_PERMIT: Document(
        "natural",
        "台湾居民来往大陆通行证",
        "Mainland travel permit for Taiwan residents",
        "id_number",
        parse_taiwan_permit,
        "taiwan_permit",
        abroad=True,
    ),
    IdType.FOREIGN_PERMANENT_RESIDENT_ID: Document(
        "natural",
        "外国人永久居留身份证",
        "Foreign permanent resident ID card",
        "id_number",
        parse_foreign_permanent_resident_id,
        "foreign_permanent_resident_id",
    ),
    IdType.PASSPORT: Document(
        "natural",
        "外国护照",
        "Foreign passport",
        "id_number",
        parse_passport_number,
        "passport",
        country_required=True,
        abroad=True,
    ),
    IdType.CREDIT_CODE: Document(
        "organisation",
        "统一社会信用代码",
        "Unified social credit code",
        "credit_code",
        lambda value: parse_credit_code(value).code,
    ),
    IdType.FOREIGN_REGISTRATION: Document(
        "organisation",
        "境外注册登记号码",
        "Registration number abroad",
        "registration_number",
        parse_foreign_registration_number,
        country_required=True,
        abroad=True,
    ),
}

IDENTITY_FIELDS = ("id_number", "credit_code", "registration_number", "country")
_UNEXPECTED = {
    "id_number": "an organisation has no ID number / 组织没有身份证件号码",
    "credit_code": "only an organisation registered in the mainland has a credit code / "
    "只有在内地登记的组织才有统一社会信用代码",
    "registration_number": "only an organisation registered abroad gives a registration number "
    "/ 只有境外登记的组织才填写境外注册号码",
    "country": "this document needs no country / 该证件无需填写国家或地区",
}


def _field(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code=code,
        errors=[{"location": "body", "field": field, "message": message, "type": code}],
    )


def identity_values(
    kind: str, id_type: IdType | None, body: PartyIdentity, cipher: FieldCipher
) -> dict[str, Any]:
    """Every identity column of a party from its document fields (the others cleared), or 422
    naming the field. Numbers of persons are stored encrypted, hashed and masked."""
    if id_type is None:
        id_type = IdType.RESIDENT_ID if kind == "natural" else IdType.CREDIT_CODE
    doc = DOCUMENTS[id_type]
    if doc.kind != kind:
        raise _field(
            "id_type",
            "id_type_kind",
            f"{doc.name} does not identify {'a person' if kind == 'natural' else 'an organisation'}"
            f" / 该证件不适用于{'自然人' if kind == 'natural' else '组织'}",
        )
    given = {f: getattr(body, f) for f in IDENTITY_FIELDS if getattr(body, f) not in (None, "")}
    expected = {doc.number_field, "country"} if doc.country_required else {doc.number_field}
    unexpected = sorted(given.keys() - expected)
    if unexpected:
        raise _field(unexpected[0], f"{unexpected[0]}_unexpected", _UNEXPECTED[unexpected[0]])
    raw = given.get(doc.number_field)
    if raw is None:
        raise _field(
            doc.number_field,
            f"{doc.number_field}_required",
            f"the {doc.name_en} number is required / 请填写{doc.name_zh}号码",
        )
    try:
        number = doc.parse(raw)
        country = parse_country(given.get("country", "")) if doc.country_required else None
    except InvalidIdentifier as exc:
        field = "country" if exc.code.startswith("country") else doc.number_field
        raise _field(field, exc.code, exc.message) from None
    if id_type is IdType.FOREIGN_REGISTRATION and country == "CHN":
        raise _field(
            "country",
            "country_mainland",
            "an organisation registered in the mainland gives its credit code / "
            "在内地登记的组织请填写统一社会信用代码",
        )
    values: dict[str, Any] = {
        "id_type": id_type.value,
        "id_number_enc": None,
        "id_number_hash": None,
        "id_number_masked": None,
        "credit_code": number if doc.number_field == "credit_code" else None,
        "registration_number": number if doc.number_field == "registration_number" else None,
        "country": country,
    }
    if doc.context is not None:
        values["id_number_enc"] = cipher.encrypt(number, context=doc.context)
        values["id_number_hash"] = cipher.lookup_hash(number, context=doc.context)
        values["id_number_masked"] = mask_identifier(number)
    return values


def party_values(body: PartyIn, cipher: FieldCipher) -> dict[str, Any]:
    """Column values for a new party; 422 with the field named when an identifier is wrong."""
    identity = identity_values(body.kind, body.id_type, body, cipher)
    abroad = body.domiciled_abroad
    if abroad is None:  # omitted: the document's default (see Document.abroad)
        abroad = DOCUMENTS[IdType(identity["id_type"])].abroad
    return {
        "role": body.role,
        "kind": body.kind,
        "name": " ".join(body.name.split()),
        "region_code": body.region_code,
        "address": body.address,
        "service_address": body.service_address,
        "service_address_confirmed": body.service_address_confirmed,
        "domiciled_abroad": abroad,
        **identity,
    }


async def check_is_me(
    conn: BaseDBAsyncClient, kind: str, values: dict[str, Any], account_id: UUID
) -> None:
    """A party linked to the caller's account must be the caller (Online Litigation Rules Art. 7):
    a person by their verified real-name record, an organisation by its legal representative."""
    if kind == "natural":
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
        values["credit_code"] is None
        or not await Organisation.filter(
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
        await check_is_me(conn, body.kind, values, account_id)
    return await Party.create(
        id=uuid4(), filing=filing, account_id=account_id, using_db=conn, **values
    )


async def party_changes(
    conn: BaseDBAsyncClient, party: Party, body: PartyUpdate, cipher: FieldCipher
) -> dict[str, Any]:
    """Column values a party edit sets: only the fields given."""
    values = body.model_dump(exclude_unset=True, exclude={"id_type", *IDENTITY_FIELDS})
    for field in ("region_code", "address", "service_address_confirmed", "domiciled_abroad"):
        if field in values and values[field] is None:
            raise _field(field, "null_not_allowed", f"{field} cannot be null")
    if body.model_fields_set & {"id_type", *IDENTITY_FIELDS}:
        identity = identity_values(party.kind, body.id_type or IdType(party.id_type), body, cipher)
        if party.account_id is not None:
            # A linked party stays the person (or organisation) of the linked account.
            await check_is_me(conn, party.kind, identity, party.account_id)
        if identity["id_number_hash"] is not None and identity["id_number_hash"] == (
            party.id_number_hash
        ):
            del identity["id_number_enc"]  # the same number again (ciphertexts always differ)
        if identity["id_type"] != party.id_type and "domiciled_abroad" not in values:
            # A new kind of document brings its default (see Document.abroad).
            values["domiciled_abroad"] = DOCUMENTS[IdType(identity["id_type"])].abroad
        values.update(identity)
    return values


async def update_party(
    conn: BaseDBAsyncClient, party: Party, body: PartyUpdate, cipher: FieldCipher
) -> dict[str, Any]:
    """Apply an edit; the changed fields with their new values (for the audit record)."""
    changes = await party_changes(conn, party, body, cipher)
    values = {k: v for k, v in changes.items() if getattr(party, k) != v}
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


def party_out(party: Party, *, masked: bool, staff: bool) -> PartyOut:
    """``masked`` for the other side; ``staff`` (court staff of the case) also sees the linked
    account, which the hearing console needs to invite the party."""
    out = PartyOut(
        id=str(party.id),
        role=party.role,
        kind=party.kind,
        name=party.name,
        id_type=IdType(party.id_type),
        id_type_name=DOCUMENTS[IdType(party.id_type)].name,
        id_number_masked=party.id_number_masked,
        credit_code=party.credit_code,
        registration_number=party.registration_number,
        country=party.country,
        region_code=party.region_code,
        address=party.address,
        service_address=party.service_address,
        service_address_confirmed=party.service_address_confirmed,
        domiciled_abroad=party.domiciled_abroad,
        linked=party.account_id is not None,
        account_id=str(party.account_id) if staff and party.account_id else None,
        masked=masked,
    )
    if not masked:
        return out
    # The other side: the ID reduced to its first and last characters, the address to the
    # region (a court still serves by the full address; the opponent does not need it).
    masked_id = party.id_number_masked
    if masked_id:
        masked_id = masked_id[:1] + "*" * (len(masked_id) - 2) + masked_id[-1:]
    return out.model_copy(
        update={
            "id_number_masked": masked_id,
            "region_code": party.region_code[:4] + "00",
            "address": region_name(party.region_code),
            "service_address": None,
        }
    )
