"""Real-name records of natural persons and the organisations they represent.

Online Litigation Rules Art. 7: a party's identity is verified by checking ID documents online or
through an identity platform. Submitting a name and a valid resident ID number makes a record
``pending_face``; a face match (the face engine, :func:`mark_verified` with ``FACE``) or a clerk's
in-person check moves it to ``verified``. Face recognition is never the only way (face-recognition
security measures, 2025): the in-person path always exists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.auth.principal import Actor
from backend.errors import Conflict, NotFound, ValidationFailed
from identity.consents import require_consent
from identity.credit_code import parse_credit_code
from identity.idcard import InvalidIdentifier, china_today, parse_resident_id
from identity.keys import IdentityDeps
from identity.models import (
    ConsentPurpose,
    Organisation,
    RealName,
    RealNameStatus,
    VerificationMethod,
)

RESIDENT_ID_CONTEXT = "resident_id"
_NAME_MARKS = frozenset("·•・.-' ")


def field_error(field: str, error: InvalidIdentifier) -> ValidationFailed:
    return ValidationFailed(
        error.message,
        code=error.code,
        errors=[{"location": "body", "field": field, "message": error.message, "type": error.code}],
    )


def check_person_name(name: str) -> str:
    """Letters of any script plus the separators of minority and foreign names.

    E.g. 张三, 阿依古丽·买买提, Anna-Maria."""
    cleaned = " ".join(name.split())
    letters = [c for c in cleaned if c not in _NAME_MARKS]
    if len(letters) < 2 or not all(c.isalpha() for c in letters):
        raise field_error(
            "name",
            InvalidIdentifier(
                "name_format",
                "enter your name as on your ID card / 请输入与身份证一致的姓名",
            ),
        )
    return cleaned


def mask_name(name: str) -> str:
    """``张*`` / ``欧阳**``: what others may see of a real name."""
    if len(name) <= 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def is_minor_now(record: RealName) -> bool:
    today = china_today()
    years = today.year - record.birth_date.year
    if (today.month, today.day) < (record.birth_date.month, record.birth_date.day):
        years -= 1
    return years < 18


async def register_real_name(
    deps: IdentityDeps, account_id: UUID, name: str, id_number: str, actor: Actor
) -> RealName:
    """Record (or, while still unverified, correct) the account's name and resident ID."""
    await require_consent(account_id, ConsentPurpose.PERSONAL_INFO)
    name = check_person_name(name)
    try:
        resident = parse_resident_id(id_number)
    except InvalidIdentifier as exc:
        raise field_error("id_number", exc) from None
    id_hash = deps.cipher.lookup_hash(resident.number, context=RESIDENT_ID_CONTEXT)
    minor = resident.is_minor_on(china_today())
    values = {
        "name": name,
        "id_number_enc": deps.cipher.encrypt(resident.number, context=RESIDENT_ID_CONTEXT),
        "id_number_hash": id_hash,
        "id_number_masked": resident.masked,
        "birth_date": resident.birth_date,
        "sex": resident.sex,
        "is_minor": minor,
        "guardian_required": minor,
        "status": RealNameStatus.PENDING_FACE.value,
        "method": None,
        "verified_at": None,
    }
    claimed = Conflict(
        "this ID number is already registered to another account; contact the court / "
        "该身份证号码已被其他账号认证，请联系法院处理",
        code="id_number_claimed",
    )
    try:
        async with in_transaction() as conn:
            if (
                await RealName.filter(id_number_hash=id_hash)
                .exclude(account_id=account_id)
                .using_db(conn)
                .exists()
            ):
                raise claimed
            record = (
                await RealName.select_for_update()
                .using_db(conn)
                .filter(account_id=account_id)
                .first()
            )
            if record is not None and record.status == RealNameStatus.VERIFIED.value:
                raise Conflict(
                    "your identity is already verified; ask the court to correct it / "
                    "您的身份已认证，如需更正请联系法院",
                    code="realname_already_verified",
                )
            corrected = record is not None
            if record is None:
                record = await RealName.create(
                    id=uuid4(), account_id=account_id, using_db=conn, **values
                )
            else:
                record.update_from_dict(values)
                await record.save(using_db=conn)
            await deps.audit.record(
                conn,
                actor,
                "identity.realname_submitted",
                "account",
                str(account_id),
                {"is_minor": minor, "corrected": corrected, "status": record.status},
            )
    except IntegrityError:
        # Another account claimed the same number at the same moment.
        raise claimed from None
    return record


async def mark_verified(
    conn: BaseDBAsyncClient,
    deps: IdentityDeps,
    account_id: UUID,
    method: VerificationMethod,
    actor: Actor,
    *,
    verified_by: UUID | None = None,
    note: str = "",
) -> RealName:
    """Move a pending record to ``verified`` inside the caller's transaction, with its audit
    event. The face engine calls this with ``FACE`` after a successful match."""
    record = await RealName.select_for_update().using_db(conn).filter(account_id=account_id).first()
    if record is None:
        raise NotFound("this account has no real-name record / 该账号尚未提交实名信息")
    if record.status == RealNameStatus.VERIFIED.value:
        raise Conflict(
            "this identity is already verified / 该身份已认证", code="realname_already_verified"
        )
    record.status = RealNameStatus.VERIFIED.value
    record.method = method.value
    record.verified_at = datetime.now(UTC)
    record.verified_by_id = verified_by
    record.verification_note = note
    await record.save(
        using_db=conn,
        update_fields=[
            "status",
            "method",
            "verified_at",
            "verified_by_id",
            "verification_note",
            "updated_at",
        ],
    )
    # The note is free text a clerk typed: it stays in the record, only its length is audited.
    await deps.audit.record(
        conn,
        actor,
        "identity.realname_verified",
        "account",
        str(account_id),
        {"method": method.value, "note_length": len(note)},
    )
    return record


async def verify_in_person(
    deps: IdentityDeps, account_id: UUID, note: str, clerk_id: UUID, actor: Actor
) -> RealName:
    async with in_transaction() as conn:
        return await mark_verified(
            conn,
            deps,
            account_id,
            VerificationMethod.IN_PERSON,
            actor,
            verified_by=clerk_id,
            note=note,
        )


async def get_real_name(account_id: UUID) -> RealName | None:
    return await RealName.filter(account_id=account_id).first()


async def is_verified_person(account_id: UUID) -> bool:
    return await RealName.filter(
        account_id=account_id, status=RealNameStatus.VERIFIED.value
    ).exists()


async def register_organisation(
    deps: IdentityDeps,
    name: str,
    credit_code: str,
    legal_representative_id: UUID,
    created_by: UUID,
    actor: Actor,
) -> tuple[Organisation, RealName]:
    try:
        code = parse_credit_code(credit_code)
    except InvalidIdentifier as exc:
        raise field_error("credit_code", exc) from None
    representative = await RealName.filter(
        account_id=legal_representative_id, status=RealNameStatus.VERIFIED.value
    ).first()
    if representative is None:
        # Same answer for "no such account" and "not verified": no account-existence oracle.
        raise field_error(
            "legal_representative_account_id",
            InvalidIdentifier(
                "legal_representative_not_verified",
                "the legal representative must be a natural person with a verified identity / "
                "法定代表人须为已完成实名认证的自然人",
            ),
        )
    try:
        async with in_transaction() as conn:
            if await Organisation.filter(credit_code=code.code).using_db(conn).exists():
                raise IntegrityError("duplicate credit code")
            organisation = await Organisation.create(
                id=uuid4(),
                name=name,
                credit_code=code.code,
                legal_representative_id=legal_representative_id,
                created_by_id=created_by,
                using_db=conn,
            )
            await deps.audit.record(
                conn,
                actor,
                "identity.organisation_registered",
                "organisation",
                str(organisation.id),
                {
                    "credit_code": code.code,
                    "legal_representative_account_id": str(legal_representative_id),
                },
            )
    except IntegrityError:
        raise Conflict(
            "an organisation with this credit code is already registered / "
            "该统一社会信用代码已登记",
            code="organisation_exists",
        ) from None
    return organisation, representative


async def organisations_of(account_id: UUID) -> list[Organisation]:
    """Organisations the account registered or legally represents."""
    return await Organisation.filter(
        Q(created_by_id=account_id) | Q(legal_representative_id=account_id)
    ).order_by("created_at")
