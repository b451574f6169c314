"""Filing services: drafting, submission with routing and forwarding, review and registration.

Every change runs in one transaction with its audit event and its timeline entries. Nothing here
sees a request; handlers pass the principal, the audit actor and the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.models import Account
from backend.auth.principal import Actor, Principal, Role
from backend.errors import Conflict, NotFound, ValidationFailed
from filing.access import RESOURCE, FilingAccess
from filing.case_numbers import CaseNumberError, allocate_case_number, validate_court_code
from filing.catalogue import CASE_TYPES_BY_CODE
from filing.courts import court_fee_schedule
from filing.fees import FeeCaseType, fee_payment_deadline, quote_fee
from filing.models import (
    CaseEvent,
    CauseOfAction,
    CorrectionNotice,
    Court,
    Filing,
    FilingStatus,
    Forwarding,
    Party,
    Representation,
)
from filing.routing import CourtInfo, RoutingInput, route_filing
from filing.schemas import FilingCreate, FilingUpdate
from filing.workflow import (
    S,
    china_date,
    require_editable,
    start_clock,
    transition,
    utcnow,
)


def _field(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code=code,
        errors=[{"location": "body", "field": field, "message": message, "type": code}],
    )


async def add_event(
    conn: BaseDBAsyncClient,
    filing: Filing,
    kind: str,
    actor_id: UUID | None,
    details: dict[str, Any] | None = None,
    *,
    visibility: str = "all",
    at: datetime | None = None,
) -> None:
    await CaseEvent.create(
        filing=filing,
        kind=kind,
        actor_id=actor_id,
        at=at or utcnow(),
        details=details or {},
        visibility=visibility,
        using_db=conn,
    )


# ------------------------------------------------------------------------------ drafting


async def create_draft(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, principal: Principal, body: FilingCreate
) -> Filing:
    try:
        court_code = validate_court_code(body.court)
    except CaseNumberError:
        raise _field("court", "unknown_court", "no such court") from None
    court = await Court.get_or_none(code=court_code)
    if court is None:
        raise _field("court", "unknown_court", "no such court")
    if not await CauseOfAction.exists(code=body.cause):
        raise _field("cause", "unknown_cause", "no such cause of action")
    if body.case_type not in CASE_TYPES_BY_CODE:
        raise _field("case_type", "unknown_case_type", "no such case type code")
    filing = await Filing.create(
        id=uuid4(),
        receiving_court_code=court.code,
        case_type_code=body.case_type,
        procedure=body.procedure.value,
        cause_code=body.cause,
        claim_amount=body.claim_amount,
        performance_region_code=body.performance_region,
        claims=body.claims,
        facts_and_reasons=body.facts_and_reasons,
        created_by_id=principal.account_id,
        using_db=conn,
    )
    await add_event(conn, filing, "draft_created", principal.account_id, {"court": court.code})
    await audit.record(
        conn, actor, "filing.create", RESOURCE, str(filing.id), {"court": court.code}
    )
    return filing


async def update_draft(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, filing: Filing, body: FilingUpdate
) -> None:
    require_editable(filing)
    changed = body.model_dump(exclude_unset=True)
    for key, value in changed.items():
        setattr(filing, key, value)
    await filing.save(using_db=conn, update_fields=[*changed, "updated_at"])
    await audit.record(
        conn, actor, "filing.update", RESOURCE, str(filing.id), {"fields": sorted(changed)}
    )


# ----------------------------------------------------------------------------- submission


def _court_info(court: Court) -> CourtInfo:
    return CourtInfo(
        code=court.code,
        level=court.level,
        region_code=court.region_code,
        name_zh=court.name_zh,
        designated_categories=tuple(court.designated_categories),
    )


async def _check_filer(filing: Filing, parties: list[Party], principal: Principal) -> None:
    """The filer must be a plaintiff, or a lawyer for a plaintiff under a power of attorney."""
    who = principal.account_id
    if any(p.account_id == who and p.role == "plaintiff" for p in parties):
        return
    plaintiffs = [p.id for p in parties if p.role == "plaintiff"]
    if principal.has(Role.LAWYER) and await Representation.exists(
        party_id__in=plaintiffs, lawyer_account_id=who, revoked_at__isnull=True
    ):
        return
    raise ValidationFailed(
        "the filer must be a plaintiff, or a lawyer representing a plaintiff with an uploaded "
        "power of attorney / 起诉人须为原告或持有授权委托书的原告代理律师",
        code="filer_not_party",
    )


async def submit(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    *,
    intermediate_threshold: Decimal | None = None,
) -> Filing:
    if filing.status != S.DRAFT.value:
        from filing.workflow import invalid_transition

        raise invalid_transition(filing.status, S.SUBMITTED.value)
    parties = await Party.filter(filing_id=filing.id).using_db(conn)
    if not any(p.role == "plaintiff" for p in parties):
        raise ValidationFailed("add at least one plaintiff", code="plaintiff_required")
    if not any(p.role == "defendant" for p in parties):
        raise ValidationFailed("add at least one defendant", code="defendant_required")
    await _check_filer(filing, parties, principal)

    cause = await CauseOfAction.get(code=filing.cause_code, using_db=conn)
    courts = [_court_info(c) for c in await Court.all().using_db(conn)]
    routing_input = RoutingInput(
        receiving_court=filing.receiving_court_code,
        party_regions=tuple(p.region_code for p in parties if p.role in {"plaintiff", "defendant"}),
        defendant_regions=tuple(p.region_code for p in parties if p.role == "defendant"),
        internet_category=cause.internet_category,
        performance_region=filing.performance_region_code,
        claim_amount=filing.claim_amount,
    )
    kwargs = (
        {} if intermediate_threshold is None else {"intermediate_threshold": intermediate_threshold}
    )
    routed = route_filing(courts, routing_input, **kwargs)
    competent = routed.court.code if routed.court else filing.receiving_court_code
    if routed.court is None:
        routed.add("由受理法院审查", "the receiving court reviews the filing")
    filing.competent_court_code = competent
    filing.routing_reasons = [{"zh": r.zh, "en": r.en} for r in routed.reasons]
    now = utcnow()
    await add_event(
        conn,
        filing,
        "submitted",
        principal.account_id,
        {"court": filing.receiving_court_code},
        at=now,
    )
    if competent != filing.receiving_court_code:
        transition(filing, S.FORWARDED)
        reason = "；".join(r.zh for r in routed.reasons)
        await Forwarding.create(
            id=uuid4(),
            filing=filing,
            from_court_code=filing.receiving_court_code,
            to_court_code=competent,
            reason=reason,
            at=now,
            using_db=conn,
        )
        await add_event(
            conn,
            filing,
            "forwarded",
            None,
            {"from_court": filing.receiving_court_code, "to_court": competent},
            at=now,
        )
    else:
        transition(filing, S.SUBMITTED)
    start_clock(filing, now, restart=False)
    await add_event(
        conn,
        filing,
        "received",
        None,
        {"court": competent, "decision_due_on": str(filing.decision_due_on)},
        at=now,
    )
    await filing.save(using_db=conn)
    await audit.record(
        conn,
        actor,
        "filing.submit",
        RESOURCE,
        str(filing.id),
        {"receiving_court": filing.receiving_court_code, "competent_court": competent},
    )
    return filing


# -------------------------------------------------------------------------------- review


async def request_correction(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    items: list[str],
    deadline_days: int,
) -> CorrectionNotice:
    # One notice listing every correction (立案登记制): a second round is not allowed.
    if await CorrectionNotice.exists(filing_id=filing.id):
        raise Conflict(
            "a correction notice was already issued; only one is allowed",
            code="invalid_transition",
            extra={"status": filing.status},
        )
    transition(filing, S.CORRECTION_REQUESTED)
    now = utcnow()
    cleaned = [" ".join(i.split()) for i in items if i.strip()]
    if not cleaned:
        raise _field("items", "items_required", "list at least one correction")
    notice = await CorrectionNotice.create(
        id=uuid4(),
        filing=filing,
        items=cleaned,
        deadline=china_date(now) + timedelta(days=deadline_days),
        issued_by_id=principal.account_id,
        issued_at=now,
        using_db=conn,
    )
    await filing.save(using_db=conn, update_fields=["status", "updated_at"])
    await add_event(
        conn,
        filing,
        "correction_requested",
        principal.account_id,
        {"items": cleaned, "deadline": str(notice.deadline)},
        at=now,
    )
    await audit.record(
        conn,
        actor,
        "filing.request_correction",
        RESOURCE,
        str(filing.id),
        {"items_count": len(cleaned)},
    )
    return notice


async def resubmit(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, principal: Principal, filing: Filing
) -> None:
    transition(filing, S.RESUBMITTED)
    now = utcnow()
    await (
        CorrectionNotice.filter(filing_id=filing.id, answered_at__isnull=True)
        .using_db(conn)
        .update(answered_at=now)
    )
    start_clock(filing, now, restart=True)  # Online Litigation Rules Art. 9
    await filing.save(using_db=conn)
    await add_event(
        conn,
        filing,
        "resubmitted",
        principal.account_id,
        {
            "clock_restarts": str(filing.clock_started_at),
            "decision_due_on": str(filing.decision_due_on),
        },
        at=now,
    )
    await audit.record(conn, actor, "filing.resubmit", RESOURCE, str(filing.id))


def _fee_case_type(filing: Filing) -> FeeCaseType:
    if filing.claim_amount is not None and filing.claim_amount > 0:
        return FeeCaseType.PROPERTY
    return FeeCaseType.OTHER_NON_PROPERTY


async def register(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, principal: Principal, filing: Filing
) -> Filing:
    transition(filing, S.REGISTERED)
    now = utcnow()
    court_code = filing.competent_court_code or filing.receiving_court_code
    court = await Court.get(code=court_code, using_db=conn)
    kind = _fee_case_type(filing)
    quote = quote_fee(
        kind,
        filing.claim_amount if kind is FeeCaseType.PROPERTY else None,
        procedure=filing.procedure,
        schedule=court_fee_schedule(court),
    )
    number = await allocate_case_number(
        conn, court_code, filing.case_type_code, china_date(now).year
    )
    filing.case_number = str(number)
    filing.decided_at = now
    filing.fee_total = quote.total
    # The notice is delivered with the registration in the mini-program: received today.
    filing.fee_due_on = fee_payment_deadline(china_date(now))
    filing.fee_quote = {
        "case_type": quote.case_type.value,
        "procedure": quote.procedure.value,
        "amount": None if quote.amount is None else str(quote.amount),
        "subtotal": str(quote.subtotal),
        "total": str(quote.total),
        "total_fen": quote.total_fen,
        "prepayment_required": quote.prepayment_required,
    }
    await filing.save(using_db=conn)
    await add_event(
        conn,
        filing,
        "registered",
        principal.account_id,
        {"case_number": filing.case_number},
        at=now,
    )
    await add_event(
        conn,
        filing,
        "fee_notice_issued",
        None,
        {"total": str(quote.total), "due_on": str(filing.fee_due_on)},
        at=now,
    )
    await audit.record(
        conn,
        actor,
        "filing.register",
        RESOURCE,
        str(filing.id),
        {"case_number": filing.case_number, "fee_total": str(quote.total)},
    )
    return filing


async def refuse(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    reason: str,
) -> None:
    transition(filing, S.REFUSED)
    now = utcnow()
    filing.refusal_reason = reason
    filing.decided_at = now
    await filing.save(using_db=conn)
    # CPL Art. 126: the inadmissibility ruling is appealable.
    await add_event(conn, filing, "refused", principal.account_id, {"reason": reason}, at=now)
    await audit.record(conn, actor, "filing.refuse", RESOURCE, str(filing.id))


async def assign(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    access: FilingAccess,
    judge_id: UUID | None,
    clerk_id: UUID | None,
) -> None:
    if filing.status != FilingStatus.REGISTERED.value:
        raise Conflict(
            "judges are assigned to registered cases",
            code="invalid_transition",
            extra={"status": filing.status},
        )
    for field_name, account_id, role in (
        ("judge_id", judge_id, Role.JUDGE),
        ("clerk_id", clerk_id, Role.CLERK),
    ):
        if account_id is None:
            continue
        account = await Account.get_or_none(id=account_id, using_db=conn)
        if (
            account is None
            or role.value not in account.roles
            or account.court_code != access.court_code
        ):
            raise _field(field_name, "not_court_staff", f"not a {role.value} of this court")
    if judge_id is not None:
        filing.assigned_judge_id = judge_id
    if clerk_id is not None:
        filing.assigned_clerk_id = clerk_id
    await filing.save(
        using_db=conn, update_fields=["assigned_judge_id", "assigned_clerk_id", "updated_at"]
    )
    await add_event(
        conn,
        filing,
        "assigned",
        principal.account_id,
        {
            "judge_id": str(judge_id) if judge_id else None,
            "clerk_id": str(clerk_id) if clerk_id else None,
        },
        visibility="court",
    )
    await audit.record(conn, actor, "filing.assign", RESOURCE, str(filing.id))


async def get_filing(filing_id: str, conn: BaseDBAsyncClient | None = None) -> Filing:
    try:
        key = UUID(filing_id)
    except ValueError:
        raise NotFound("no such case") from None
    query = Filing.filter(id=key)
    if conn is not None:
        query = query.using_db(conn).select_for_update()
    filing = await query.first()
    if filing is None:
        raise NotFound("no such case")
    return filing
