"""Filing services: drafting, submission with routing and forwarding, review and registration.

Every change runs in one transaction with its audit event and its timeline entries. Nothing here
sees a request; handlers pass the principal, the audit actor and the transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal, Role
from backend.errors import NotFound, ValidationFailed
from filing.access import RESOURCE
from filing.case_numbers import CaseNumberError, validate_court_code
from filing.catalogue import CASE_TYPES_BY_CODE
from filing.models import (
    CaseEvent,
    CauseOfAction,
    Court,
    Filing,
    Forwarding,
    Party,
    Representation,
)
from filing.routing import CourtInfo, RoutingInput, route_filing
from filing.schemas import FilingCreate, FilingUpdate
from filing.workflow import (
    S,
    invalid_transition,
    require_editable,
    start_clock,
    transition,
    utcnow,
)


def field_error(field: str, code: str, message: str) -> ValidationFailed:
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
        raise field_error("court", "unknown_court", "no such court") from None
    court = await Court.get_or_none(code=court_code)
    if court is None:
        raise field_error("court", "unknown_court", "no such court")
    if not await CauseOfAction.exists(code=body.cause):
        raise field_error("cause", "unknown_cause", "no such cause of action")
    if body.case_type not in CASE_TYPES_BY_CODE:
        raise field_error("case_type", "unknown_case_type", "no such case type code")
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
        case_types=tuple(court.case_types),
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
        case_type=filing.case_type_code,
    )
    routed = route_filing(courts, routing_input, intermediate_threshold=intermediate_threshold)
    competent = routed.court.code if routed.court else filing.receiving_court_code
    if routed.court is None:
        receiving = next(c for c in courts if c.code == filing.receiving_court_code)
        if not receiving.hears(filing.case_type_code):
            raise ValidationFailed(
                f"no court found that hears {filing.case_type_code} cases for these parties: "
                + "; ".join(r.en for r in routed.reasons),
                code="no_competent_court",
                extra={"routing_reasons": [{"zh": r.zh, "en": r.en} for r in routed.reasons]},
            )
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
