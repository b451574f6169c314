"""Online mediation (人民法院在线调解规则 2021).

Art. 10: a mediator is designated within 3 working days of the mediation starting (a late
designation is still made, and flagged). Art. 19: the agreement takes effect when the last party
has e-signed it; the mediation statement is then generated and handed to the DocumentServer for
electronic service. Art. 24: mediation periods — 30 days before filing; after filing 15 days
(ordinary procedure) or 7 days (simple and small-claims procedure); past the period nothing more
can be done in the mediation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.models import Account, AccountStatus
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound, ValidationFailed
from filing.filings import add_event
from filing.models import Filing, FilingStatus
from hearings import video_service
from hearings.asynchronous.access import Case
from hearings.asynchronous.notify import notify
from hearings.asynchronous.preparation import party_consents
from hearings.asynchronous.rules import Scope, consent_problems
from hearings.mediation.access import MEDIATOR_ROLES, RESOURCE
from hearings.mediation.models import Mediation, MediationSession, Proposal
from hearings.mediation.workdays import IsWorkingDay, add_working_days, period_end
from hearings.models import ParticipantRole, VideoHearing, VideoHearingStatus, VideoParticipant

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
INVITED_ROLES = frozenset({ParticipantRole.PARTY.value, ParticipantRole.LAWYER.value})


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
    if mediation.mediator_id not in (None, mediator_id):
        await _hand_over_rooms(conn, audit, actor, mediation, mediator_id, now)
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
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    case: Case,
    mediation: Mediation,
    mode: str,
    starts_at: datetime,
    note: str,
) -> MediationSession:
    """A live session schedules its video room here, in the same transaction: a refused room
    leaves no session behind."""
    require_active(mediation)
    require_mediator(mediation)
    video = (
        await _video_room(conn, audit, actor, principal, case, mediation, starts_at)
        if mode == "live"
        else None
    )
    session = await MediationSession.create(
        id=uuid4(),
        mediation=mediation,
        mode=mode,
        starts_at=starts_at,
        note=note,
        video_hearing_id=video.id if video else None,
        created_by_id=principal.account_id,
        created_at=utcnow(),
        using_db=conn,
    )
    details = {
        "mediation_id": str(mediation.id),
        "session_id": str(session.id),
        "mode": mode,
        "starts_at": starts_at.isoformat(),
        "video_hearing_id": str(video.id) if video else None,
    }
    await audit.record(conn, actor, "mediation.session", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "mediation_session", principal.account_id, details)
    return session


async def _video_room(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    case: Case,
    mediation: Mediation,
    starts_at: datetime,
) -> VideoHearing:
    """The video hearing a live session runs in: every party and lawyer of the case invited,
    the case's judge and clerk as for any hearing, and the mediator as its host."""
    if case.filing.case_number is None:
        raise Conflict(
            "视频调解须在立案后进行，诉前调解请安排异步调解 / video mediation needs a registered "
            "case: schedule an asynchronous session before filing",
            code="video_needs_registered_case",
        )
    now = utcnow()
    # Mediation is not a court session (开庭): CPL Art. 139's 3-day hearing notice does not
    # apply, so a video mediation may start at once, just not in the past; no hearing notice
    # is served, the parties get a courtesy notice (SessionNotice).
    if starts_at < now:
        raise video_service.field_error(
            "starts_at",
            "starts_in_past",
            "调解时间不能早于当前时间 / a session cannot start in the past",
        )
    return await video_service.schedule(
        conn,
        audit,
        actor,
        principal,
        case.filing,
        case.access,
        title=f"{case.label} 视频调解 / video mediation"[:200],
        starts_at=starts_at,
        invited=None,
        notices=SessionNotice(case.label),
        now=now,
        min_lead=timedelta(0),
        mediator=mediation.mediator_id,
    )


class SessionNotice:
    """The HearingNoticeSender of a video mediation: a WeChat courtesy notice to the invited
    parties and lawyers instead of a served hearing notice (see _video_room)."""

    def __init__(self, case_label: str) -> None:
        self.case_label = case_label

    async def prepare(self, filing: Filing, title: str, starts_at: datetime) -> object:
        return None  # nothing to render: a message, not a served document

    async def send_notice(
        self,
        conn: BaseDBAsyncClient,
        hearing: VideoHearing,
        participants: list[VideoParticipant],
        actor: Actor,
        prepared: object = None,
    ) -> str:
        await notify(
            conn,
            {p.account_id for p in participants if p.role in INVITED_ROLES},
            "video_mediation",
            case_label=self.case_label,
            when=hearing.starts_at,
            key=f"video-mediation:{hearing.id}",
        )
        return "not_required"


async def _hand_over_rooms(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    mediation: Mediation,
    mediator_id: UUID,
    now: datetime,
) -> None:
    """A new mediator hosts the video sessions still to come; the previous one loses them."""
    for session in await MediationSession.filter(mediation_id=mediation.id).using_db(conn):
        if session.video_hearing_id is None:
            continue
        hearing = await video_service.get_hearing(session.video_hearing_id, conn)
        if hearing.status != VideoHearingStatus.CLOSED:
            await video_service.replace_mediator(conn, audit, actor, hearing, mediator_id, now=now)


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
