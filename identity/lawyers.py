"""Lawyer accounts: an applicant with a real-name record sends a licence number, a law firm and a
photo of the licence; a court administrator approves (the account gains the ``lawyer`` role) or
rejects with a reason the applicant sees.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from backend.auth.models import Account
from backend.auth.principal import Actor, Principal, Role
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.policy import Policy
from backend.storage.blobs import StoredBlob
from backend.storage.purposes import Purpose
from backend.storage.service import register_file
from identity.idcard import InvalidIdentifier
from identity.keys import IdentityDeps
from identity.models import LawyerApplication, LawyerApplicationStatus, RealName
from identity.realname import field_error

# 执业证号: 17 digits, no checksum; licences issued before the 17-digit scheme have 12 digits.
_LICENCE = re.compile(r"[0-9]{17}|[0-9]{12}")
RESOURCE = "lawyer_application"


def check_licence_number(raw: str) -> str:
    number = re.sub(r"\s", "", raw)
    if not _LICENCE.fullmatch(number):
        raise field_error(
            "licence_number",
            InvalidIdentifier(
                "licence_number_format",
                "a lawyer's licence number has 17 digits (older licences 12) / "
                "律师执业证号应为17位数字（旧证为12位）",
            ),
        )
    return number


def check_law_firm(raw: str) -> str:
    name = " ".join(raw.split())
    if not 2 <= len(name) <= 200:
        raise field_error(
            "law_firm",
            InvalidIdentifier(
                "law_firm_format", "enter the law firm's name / 请填写律师事务所名称"
            ),
        )
    return name


async def ensure_may_apply(account_id: UUID, roles: frozenset[Role]) -> RealName:
    """Checks made before the upload is read: real name first, one open application."""
    if Role.LAWYER in roles:
        raise Conflict(
            "this account is already a lawyer's / 该账号已是律师账号", code="already_lawyer"
        )
    record = await RealName.filter(account_id=account_id).first()
    if record is None:
        raise ValidationFailed(
            "complete real-name verification first / 请先完成实名认证",
            code="realname_required",
        )
    if await LawyerApplication.filter(
        account_id=account_id, status=LawyerApplicationStatus.PENDING.value
    ).exists():
        raise Conflict(
            "an application is already waiting for review / 已有待审核的申请",
            code="application_pending",
        )
    return record


async def submit_application(
    deps: IdentityDeps,
    account_id: UUID,
    licence_number: str,
    law_firm: str,
    blob: StoredBlob,
    filename: str,
    actor: Actor,
) -> LawyerApplication:
    async with in_transaction() as conn:
        stored = await register_file(
            conn,
            blob=blob,
            original_name=filename,
            purpose=Purpose.ID_DOCUMENT.value,
            owner_account_id=account_id,
        )
        application = await LawyerApplication.create(
            id=uuid4(),
            account_id=account_id,
            licence_number=licence_number,
            law_firm=law_firm,
            licence_file_id=stored.id,
            submitted_at=datetime.now(UTC),
            using_db=conn,
        )
        await deps.audit.record(
            conn,
            actor,
            "identity.lawyer_applied",
            RESOURCE,
            str(application.id),
            {"licence_file_id": str(stored.id)},
        )
    return application


async def get_application(
    policy: Policy, principal: Principal, application_id: UUID
) -> LawyerApplication:
    """The applicant's own application, or any for a reviewer; 404 otherwise."""
    application = await LawyerApplication.filter(id=application_id).first()
    if application is None or not (
        application.account_id == principal.account_id  # type: ignore[attr-defined]
        or policy.permits(principal, "review", RESOURCE)
    ):
        raise NotFound("no such application")
    return application


async def decide(
    deps: IdentityDeps,
    application_id: UUID,
    approve: bool,
    reviewer: UUID,
    actor: Actor,
    reason: str | None = None,
) -> LawyerApplication:
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        application = (
            await LawyerApplication.select_for_update()
            .using_db(conn)
            .filter(id=application_id)
            .first()
        )
        if application is None:
            raise NotFound("no such application")
        if application.status != LawyerApplicationStatus.PENDING.value:
            raise Conflict(
                f"the application is already {application.status} / 该申请已处理",
                code="application_decided",
            )
        application.status = (
            LawyerApplicationStatus.APPROVED if approve else LawyerApplicationStatus.REJECTED
        ).value
        application.reason = reason
        application.decided_at = now
        application.decided_by_id = reviewer
        await application.save(
            using_db=conn, update_fields=["status", "reason", "decided_at", "decided_by_id"]
        )
        if approve:
            account = (
                await Account.select_for_update().using_db(conn).get(id=application.account_id)  # type: ignore[attr-defined]
            )
            if Role.LAWYER.value not in account.roles:
                account.roles = [*account.roles, Role.LAWYER.value]
                await account.save(using_db=conn, update_fields=["roles", "updated_at"])
                # The role applies on the applicant's next request: every process drops its
                # cached session state for the account when this transaction commits.
                await deps.auth.revoked(conn, account_id=account.id)
        # The reason is free text: kept on the application, only its length is audited.
        await deps.audit.record(
            conn,
            actor,
            "identity.lawyer_approved" if approve else "identity.lawyer_rejected",
            RESOURCE,
            str(application.id),
            {
                "applicant_account_id": str(application.account_id),  # type: ignore[attr-defined]
                "reason_length": len(reason or ""),
            },
        )
    return application


@dataclass(frozen=True)
class ApplicationPage:
    items: list[LawyerApplication]
    next_cursor: str | None


def _encode_cursor(application: LawyerApplication) -> str:
    raw = f"{application.submitted_at.isoformat()}|{application.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, UUID] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, ident = raw.partition("|")
        return datetime.fromisoformat(when), UUID(ident)
    except (ValueError, UnicodeDecodeError):
        return None


async def list_applications(
    status: LawyerApplicationStatus, limit: int, cursor: str | None
) -> ApplicationPage:
    """Oldest first (the queue order), keyset-paginated on (submitted_at, id)."""
    query = LawyerApplication.filter(status=status.value)
    if cursor:
        after = _decode_cursor(cursor)
        if after is None:
            return ApplicationPage([], None)
        when, ident = after
        query = query.filter(Q(submitted_at__gt=when) | Q(submitted_at=when, id__gt=ident))
    rows = await query.order_by("submitted_at", "id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return ApplicationPage(rows, _encode_cursor(rows[-1]) if more and rows else None)


async def applications_of(account_id: UUID) -> list[LawyerApplication]:
    return await LawyerApplication.filter(account_id=account_id).order_by("-submitted_at")
