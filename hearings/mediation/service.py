"""Online mediation (人民法院在线调解规则 2021).

Art. 10: a mediator is designated within 3 working days of the mediation starting (a late
designation is still made, and flagged). Art. 19: the agreement takes effect when the last party
has e-signed it; the mediation statement is then generated and handed to the DocumentServer for
electronic service. Art. 24: mediation periods — 30 days before filing; after filing 15 days
(ordinary procedure) or 7 days (simple and small-claims procedure); past the period nothing more
can be done in the mediation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.models import Account, AccountStatus
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound, ValidationFailed
from filing.filings import add_event
from filing.models import FilingStatus
from hearings.asynchronous.access import Case
from hearings.asynchronous.preparation import party_consents
from hearings.asynchronous.rules import Scope, consent_problems
from hearings.mediation.access import MEDIATOR_ROLES, RESOURCE
from hearings.mediation.models import Mediation, MediationSession, Proposal
from hearings.mediation.workdays import IsWorkingDay, add_working_days, period_end

DESIGNATION_WORKING_DAYS = 3
PRE_FILING_DAYS = 30
ORDINARY_DAYS = 15
SIMPLE_DAYS = 7
ACTIVE = ("awaiting_mediator", "in_progress")
# Days are the court's days (China Standard Time): a mediation asked for at 00:30 in Beijing
# starts that day, not the previous UTC day.
COURT_TZ = ZoneInfo("Asia/Shanghai")
AGREEMENT_KIND = "mediation_agreement"
MAX_STATEMENT_BYTES = 20 * 1024 * 1024


def utcnow() -> datetime:
    return datetime.now(UTC)


def court_day(moment: datetime) -> date:
    return moment.astimezone(COURT_TZ).date()


def today() -> date:
    return court_day(utcnow())


def period_days(phase: str, procedure: str) -> int:
    if phase == "pre_filing":
        return PRE_FILING_DAYS
    return ORDINARY_DAYS if procedure == "ordinary" else SIMPLE_DAYS


def effective_status(mediation: Mediation, on: date | None = None) -> str:
    """The stored status, or ``expired`` once an active mediation outlived its period."""
    if mediation.status in ACTIVE and (on or today()) > mediation.ends_on:
        return "expired"
    return mediation.status


def require_active(mediation: Mediation) -> None:
    status = effective_status(mediation)
    if status == "expired":
        raise Conflict(
            f"调解期限已于{mediation.ends_on.isoformat()}届满（在线调解规则第二十四条） / the "
            f"mediation period ended on {mediation.ends_on.isoformat()} (Art. 24)",
            code="mediation_period_expired",
        )
    if status not in ACTIVE:
        raise Conflict(
            f"调解已结束（{status}） / the mediation is over ({status})", code="mediation_over"
        )


def require_mediator(mediation: Mediation) -> None:
    if mediation.mediator_id is None:
        raise Conflict("尚未指定调解员 / no mediator designated yet", code="no_mediator")


async def get_mediation(mediation_id: UUID, conn: BaseDBAsyncClient | None = None) -> Mediation:
    query = Mediation.filter(id=mediation_id)
    if conn is not None:
        query = query.using_db(conn).select_for_update()
    row = await query.first()
    if row is None:
        raise NotFound("no such mediation")
    return row


async def start(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    principal: Principal,
    is_working_day: IsWorkingDay,
) -> Mediation:
    """Every party must have consented to online mediation in the app (Art. 20 ¶1)."""
    if case.filing.status == FilingStatus.DRAFT.value:
        raise Conflict("案件尚未提交 / the case has not been submitted", code="case_not_submitted")
    problems = consent_problems(await party_consents(case, Scope.MEDIATION, conn), Scope.MEDIATION)
    if problems:
        raise Conflict(
            "；".join(p.message_zh for p in problems)
            + " / "
            + "; ".join(p.message_en for p in problems),
            code="consent_required",
            extra={
                "unmet": [
                    {"code": p.code, "message_zh": p.message_zh, "message_en": p.message_en}
                    for p in problems
                ]
            },
        )
    active = await Mediation.filter(filing_id=case.filing.id, status__in=ACTIVE).using_db(conn)
    if any(effective_status(m) in ACTIVE for m in active):
        raise Conflict(
            "本案已有进行中的调解 / a mediation is already under way", code="mediation_active"
        )
    phase = "post_filing" if case.filing.status == FilingStatus.REGISTERED.value else "pre_filing"
    days = period_days(phase, case.filing.procedure)
    started = utcnow()
    start_day = court_day(started)
    mediation = await Mediation.create(
        id=uuid4(),
        filing_id=case.filing.id,
        phase=phase,
        requested_by_id=principal.account_id,
        requested_at=started,
        designation_due_on=add_working_days(start_day, DESIGNATION_WORKING_DAYS, is_working_day),
        period_days=days,
        ends_on=period_end(start_day, days, is_working_day),
        using_db=conn,
    )
    details = {"mediation_id": str(mediation.id), "phase": phase, "period_days": days}
    await audit.record(conn, actor, "mediation.start", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "mediation_started", principal.account_id, details)
    return mediation


async def designate(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    mediation: Mediation,
    mediator_id: UUID,
) -> Mediation:
    require_active(mediation)
    account = await Account.filter(id=mediator_id).using_db(conn).first()
    if (
        account is None
        or account.status != AccountStatus.ACTIVE
        or account.court_code != case.access.court_code
        or not MEDIATOR_ROLES & set(account.roles)
    ):
        raise ValidationFailed(
            "调解员须为本院在职工作人员 / the mediator must be an active staff member of the court",
            code="invalid_mediator",
            errors=[
                {
                    "location": "body",
                    "field": "mediator_id",
                    "message": "not eligible",
                    "type": "invalid_mediator",
                }
            ],
        )
    now = utcnow()
    mediation.mediator_id, mediation.designated_at = mediator_id, now
    mediation.designated_late = court_day(now) > mediation.designation_due_on
    mediation.status = "in_progress"
    await mediation.save(using_db=conn)
    details = {
        "mediation_id": str(mediation.id),
        "mediator_id": str(mediator_id),
        "late": mediation.designated_late,
    }
    await audit.record(conn, actor, "mediation.designate", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "mediator_designated", None, details)
    return mediation


async def add_session(
    conn: BaseDBAsyncClient,
    principal: Principal,
    case: Case,
    mediation: Mediation,
    mode: str,
    starts_at: datetime,
    note: str,
) -> MediationSession:
    require_active(mediation)
    require_mediator(mediation)
    session = await MediationSession.create(
        id=uuid4(),
        mediation=mediation,
        mode=mode,
        starts_at=starts_at,
        note=note,
        created_by_id=principal.account_id,
        created_at=utcnow(),
        using_db=conn,
    )
    await add_event(
        conn,
        case.filing,
        "mediation_session",
        principal.account_id,
        {"mediation_id": str(mediation.id), "mode": mode, "starts_at": starts_at.isoformat()},
    )
    return session


def role_in(case: Case, principal: Principal, mediation: Mediation) -> str:
    if mediation.mediator_id == principal.account_id:
        return "mediator"
    if principal.account_id in case.judge_accounts:
        return "judge"
    return case.role_of(principal)


async def propose(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    mediation: Mediation,
    principal: Principal,
    terms: str,
    counter_to: UUID | None,
) -> Proposal:
    require_active(mediation)
    role = role_in(case, principal, mediation)
    if counter_to is not None:
        original = (
            await Proposal.filter(id=counter_to, mediation_id=mediation.id).using_db(conn).first()
        )
        if original is None:
            raise ValidationFailed(
                "counter_to: no such proposal in this mediation", code="invalid_counter"
            )
        if original.author_role == role:
            raise ValidationFailed(
                "不能对己方方案提出反方案 / a counter-proposal answers another side's proposal",
                code="invalid_counter",
            )
    proposal = await Proposal.create(
        id=uuid4(),
        mediation=mediation,
        author_id=principal.account_id,
        author_role=role,
        terms=terms,
        counter_to_id=counter_to,
        created_at=utcnow(),
        using_db=conn,
    )
    details = {
        "mediation_id": str(mediation.id),
        "proposal_id": str(proposal.id),
        "author_role": role,
    }
    await audit.record(conn, actor, "mediation.propose", RESOURCE, str(case.filing.id), details)
    return proposal


async def close_failed(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    mediation: Mediation,
    principal: Principal,
    note: str,
) -> Mediation:
    if mediation.status not in ACTIVE:
        raise Conflict("调解已结束 / the mediation is over", code="mediation_over")
    mediation.status, mediation.closed_at, mediation.outcome_note = "failed", utcnow(), note
    await mediation.save(using_db=conn)
    details = {"mediation_id": str(mediation.id)}
    await audit.record(conn, actor, "mediation.failed", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "mediation_failed", principal.account_id, details)
    return mediation
