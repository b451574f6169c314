"""Before the hearing: consents, the written application, the judge's findings, eligibility and
the start (stages created, the first one opened)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict
from filing.filings import add_event
from filing.models import FilingStatus
from hearings.asynchronous.access import RESOURCE, Case
from hearings.asynchronous.models import (
    AsyncApplication,
    AsyncConsent,
    AsyncHearing,
    AsyncStage,
)
from hearings.asynchronous.rules import (
    STAGES,
    CaseFacts,
    Exclusion,
    Mode,
    Scope,
    StageKind,
    Unmet,
    unmet_conditions,
)

DEFAULT_WINDOW_HOURS = 72


def utcnow() -> datetime:
    return datetime.now(UTC)


async def hearing_of(case: Case, conn: BaseDBAsyncClient | None = None) -> AsyncHearing:
    """The case's hearing row, created on first use (locked when ``conn`` is given)."""
    query = AsyncHearing.filter(filing_id=case.filing.id)
    if conn is not None:
        query = query.using_db(conn).select_for_update()
    hearing = await query.first()
    if hearing is None:
        hearing = await AsyncHearing.create(id=uuid4(), filing_id=case.filing.id, using_db=conn)
    return hearing


async def record_consent(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    principal: Principal,
    scope: Scope,
    consented: bool,
    reason: str,
) -> AsyncConsent:
    """The caller's own answer for ``scope``; a later answer replaces an earlier one."""
    role = case.role_of(principal)
    row = (
        await AsyncConsent.filter(
            filing_id=case.filing.id, account_id=principal.account_id, scope=scope.value
        )
        .using_db(conn)
        .first()
    )
    if row is None:
        row = AsyncConsent(
            id=uuid4(), filing_id=case.filing.id, account_id=principal.account_id, scope=scope.value
        )
    row.party_role, row.consented, row.reason, row.at = role, consented, reason, utcnow()
    await row.save(using_db=conn)
    await audit.record(
        conn,
        actor,
        "async_hearing.consent",
        RESOURCE,
        str(case.filing.id),
        {"scope": scope.value, "consented": consented, "party_role": role},
    )
    await add_event(
        conn,
        case.filing,
        "online_consent",
        principal.account_id,
        {"scope": scope.value, "consented": consented, "party_role": role},
    )
    return row


async def record_application(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    principal: Principal,
    text: str,
) -> AsyncApplication:
    role = case.role_of(principal)
    application = await AsyncApplication.create(
        id=uuid4(),
        filing_id=case.filing.id,
        account_id=principal.account_id,
        party_role=role,
        text=text,
        at=utcnow(),
        using_db=conn,
    )
    await audit.record(
        conn,
        actor,
        "async_hearing.apply",
        RESOURCE,
        str(case.filing.id),
        {"application_id": str(application.id), "party_role": role},
    )
    await add_event(
        conn,
        case.filing,
        "async_hearing_applied",
        principal.account_id,
        {"application_id": str(application.id), "party_role": role},
    )
    return application


async def record_findings(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    principal: Principal,
    *,
    facts_undisputed: bool,
    attendance_hard: bool,
    exclusions: list[Exclusion],
) -> AsyncHearing:
    hearing = await hearing_of(case, conn)
    if hearing.status != "preparing":
        raise Conflict("审理已开始 / the hearing has already started", code="hearing_started")
    hearing.facts_undisputed = facts_undisputed
    hearing.attendance_hard = attendance_hard
    hearing.exclusions = sorted({e.value for e in exclusions})
    hearing.findings_by_id, hearing.findings_at = principal.account_id, utcnow()
    await hearing.save(using_db=conn)
    details = {
        "facts_undisputed": facts_undisputed,
        "attendance_hard": attendance_hard,
        "exclusions": hearing.exclusions,
    }
    await audit.record(
        conn, actor, "async_hearing.findings", RESOURCE, str(case.filing.id), details
    )
    await add_event(conn, case.filing, "async_hearing_findings", principal.account_id, details)
    return hearing


async def party_consents(
    case: Case, scope: Scope, conn: BaseDBAsyncClient | None = None
) -> dict[str, bool | None]:
    """Each party's answer for ``scope`` (None: not answered, or no account to answer with)."""
    answers = {
        c.account_id: c.consented
        for c in await AsyncConsent.filter(filing_id=case.filing.id, scope=scope.value).using_db(
            conn
        )
    }
    return {
        str(p.id): answers.get(p.account_id) if p.account_id is not None else None
        for p in case.parties
    }


async def case_facts(
    case: Case, hearing: AsyncHearing | None, mode: Mode, conn: BaseDBAsyncClient | None = None
) -> CaseFacts:
    scope = Scope.HEARING if mode is Mode.HEARING else Scope.EXCHANGE
    # Every party answers for itself: a party without an account linked cannot have consented.
    consents = await party_consents(case, scope, conn)
    applied = await AsyncApplication.filter(filing_id=case.filing.id).using_db(conn).exists()
    return CaseFacts(
        registered=case.filing.status == FilingStatus.REGISTERED.value,
        case_type_code=case.filing.case_type_code,
        procedure=case.filing.procedure,
        has_written_application=applied,
        consents=consents,
        attendance_hard=hearing.attendance_hard if hearing else False,
        facts_undisputed=hearing.facts_undisputed if hearing else False,
        exclusions=tuple(hearing.exclusions) if hearing else (),
    )


async def eligibility(case: Case, mode: Mode, conn: BaseDBAsyncClient | None = None) -> list[Unmet]:
    hearing = await AsyncHearing.filter(filing_id=case.filing.id).using_db(conn).first()
    return unmet_conditions(await case_facts(case, hearing, mode, conn), mode)


async def start(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    principal: Principal,
    mode: Mode,
    windows: dict[StageKind, int],
) -> AsyncHearing:
    """Start the hearing: 409 ``not_eligible`` naming every unmet condition otherwise."""
    from hearings.asynchronous.stages import open_stage

    hearing = await hearing_of(case, conn)
    if hearing.status != "preparing":
        raise Conflict("审理已开始 / the hearing has already started", code="hearing_started")
    unmet = unmet_conditions(await case_facts(case, hearing, mode, conn), mode)
    if unmet:
        raise Conflict(
            "不符合异步审理条件："
            + "；".join(u.message_zh for u in unmet)
            + " / Not eligible: "
            + "; ".join(u.message_en for u in unmet),
            code="not_eligible",
            extra={
                "unmet": [
                    {"code": u.code, "message_zh": u.message_zh, "message_en": u.message_en}
                    for u in unmet
                ]
            },
        )
    hearing.mode, hearing.status, hearing.started_at = mode.value, "in_progress", utcnow()
    await hearing.save(using_db=conn)
    stages = []
    for position, kind in enumerate(STAGES[mode]):
        stages.append(
            await AsyncStage.create(
                id=uuid4(),
                hearing=hearing,
                position=position,
                kind=kind.value,
                window_hours=windows.get(kind, DEFAULT_WINDOW_HOURS),
                using_db=conn,
            )
        )
    await audit.record(
        conn,
        actor,
        "async_hearing.start",
        RESOURCE,
        str(case.filing.id),
        {"hearing_id": str(hearing.id), "mode": mode.value},
    )
    await add_event(
        conn,
        case.filing,
        "async_hearing_started",
        principal.account_id,
        {"hearing_id": str(hearing.id), "mode": mode.value},
    )
    await open_stage(conn, case, stages[0], closes_at=None)
    return hearing


def window_end(stage: AsyncStage, now: datetime) -> datetime:
    return now + timedelta(hours=stage.window_hours)
