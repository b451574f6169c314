"""Video hearing services: scheduling, the lifecycle, recording control log, clerk's notes.

Every change runs in the caller's transaction together with its audit event and its case-timeline
entry. Nothing here sees a request or a peer connection; the live room (hearings.video_room) calls
these and then acts on the media.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.models import Account
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.jobs.queue import enqueue
from filing.access import FilingAccess
from filing.filings import add_event
from filing.models import Filing
from hearings.models import (
    ParticipantRole,
    VideoHearing,
    VideoHearingStatus,
    VideoNote,
    VideoParticipant,
    VideoRecordingEvent,
)
from hearings.video_access import RESOURCE
from hearings.video_notice import HearingNoticeSender

S = VideoHearingStatus
#: Electronic service of the hearing notice must reach people at least this long before.
NOTICE_MIN_LEAD = timedelta(days=3)
LOBBY_LEAD = timedelta(minutes=30)
#: The durable job that opens the lobby by the clock (hearings.video_jobs).
LOBBY_JOB = "hearings.video_lobby_open"

STATUS_NAMES: dict[str, tuple[str, str]] = {
    S.SCHEDULED: ("已排期", "scheduled"),
    S.LOBBY_OPEN: ("候庭中", "lobby open"),
    S.IN_SESSION: ("庭审中", "in session"),
    S.RECESS: ("休庭", "in recess"),
    S.CLOSED: ("已闭庭", "closed"),
}

# target status → statuses it may be reached from
_TRANSITIONS: dict[str, frozenset[str]] = {
    S.LOBBY_OPEN: frozenset({S.SCHEDULED}),
    S.IN_SESSION: frozenset({S.LOBBY_OPEN, S.RECESS}),
    S.RECESS: frozenset({S.IN_SESSION}),
    S.CLOSED: frozenset({S.IN_SESSION, S.RECESS}),
}
_ACTIONS = {
    S.LOBBY_OPEN: "video_hearing.lobby_open",
    S.IN_SESSION: "video_hearing.in_session",
    S.RECESS: "video_hearing.recess",
    S.CLOSED: "video_hearing.closed",
}


def field_error(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code=code,
        errors=[{"location": "body", "field": field, "message": message, "type": code}],
    )


def lobby_opens_at(hearing: VideoHearing) -> datetime:
    return hearing.starts_at - LOBBY_LEAD


async def schedule_lobby_opening(conn: BaseDBAsyncClient, hearing: VideoHearing) -> None:
    """Enqueue the lobby's opening for its time, in the caller's transaction."""
    await enqueue(conn, LOBBY_JOB, {"hearing_id": str(hearing.id)}, run_at=lobby_opens_at(hearing))


async def _timeline(
    conn: BaseDBAsyncClient,
    hearing: VideoHearing,
    kind: str,
    actor_id: UUID | None,
    details: dict[str, Any] | None = None,
    *,
    visibility: str = "all",
    at: datetime | None = None,
) -> None:
    filing = await Filing.get(id=hearing.filing_id, using_db=conn)
    await add_event(
        conn,
        filing,
        kind,
        actor_id,
        {"hearing_id": str(hearing.id), **(details or {})},
        visibility=visibility,
        at=at,
    )


def check_schedule(
    filing: Filing,
    access: FilingAccess,
    *,
    starts_at: datetime,
    invited: list[UUID] | None,
    now: datetime,
    min_lead: timedelta = NOTICE_MIN_LEAD,
    mediator: UUID | None = None,
) -> list[tuple[UUID, ParticipantRole]]:
    """The refusals of :func:`schedule` that need no database, and the hearing's members.

    Callers that render the notice ahead (``notices.prepare``) call this first, so a refused
    request renders and stores nothing; :func:`schedule` calls it again on the access it is given.
    """
    if filing.case_number is None:
        raise Conflict("只有已立案的案件可以排期庭审 / only a registered case can be heard")
    if starts_at - now < min_lead:
        raise field_error(
            "starts_at",
            "too_soon",
            "开庭通知须在开庭3日前送达 / the hearing notice must be served at least 3 days "
            "before the hearing: choose a later time",
        )
    members: list[tuple[UUID, ParticipantRole]] = []
    for judge in sorted(access.judge_account_ids):
        members.append((judge, ParticipantRole.JUDGE))
    for clerk in sorted(access.clerk_account_ids):
        members.append((clerk, ParticipantRole.CLERK))
    if mediator is not None and all(m[0] != mediator for m in members):
        members.append((mediator, ParticipantRole.MEDIATOR))
    invitable = {a: ParticipantRole.PARTY for a in access.party_account_ids}
    invitable.update({a: ParticipantRole.LAWYER for a in access.agent_account_ids})
    chosen = sorted(invitable) if invited is None else list(dict.fromkeys(invited))
    for index, account_id in enumerate(chosen):
        if account_id not in invitable:
            raise ValidationFailed(
                "只能邀请本案当事人及其代理律师 / only the case's parties and their lawyers "
                "can be invited",
                code="not_a_case_member",
                errors=[
                    {
                        "location": "body",
                        "field": f"participant_account_ids.{index}",
                        "message": "not a party or lawyer of this case",
                        "type": "not_a_case_member",
                    }
                ],
            )
        if all(m[0] != account_id for m in members):
            members.append((account_id, invitable[account_id]))
    if not any(role is ParticipantRole.JUDGE for _, role in members):
        raise Conflict("案件尚未分配法官 / the case has no assigned judge", code="no_judge")
    return members


async def schedule(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    filing: Filing,
    access: FilingAccess,
    *,
    title: str,
    starts_at: datetime,
    invited: list[UUID] | None,
    notices: HearingNoticeSender,
    now: datetime,
    min_lead: timedelta = NOTICE_MIN_LEAD,
    mediator: UUID | None = None,
    prepared_notice: object = None,
) -> VideoHearing:
    """Schedule in ``conn``. ``mediator``: the court staff member who runs a mediation session
    in this room; joins as its host unless already in it as the case's judge or clerk
    (hearings.video_access). ``prepared_notice``: what ``notices.prepare`` rendered for this
    title and start before the transaction opened."""
    members = check_schedule(
        filing,
        access,
        starts_at=starts_at,
        invited=invited,
        now=now,
        min_lead=min_lead,
        mediator=mediator,
    )
    names = {
        a.id: a.display_name
        for a in await Account.filter(id__in=[m[0] for m in members]).using_db(conn)
    }
    hearing = await VideoHearing.create(
        id=uuid4(),
        filing_id=filing.id,
        court_code=access.court_code,
        title=title,
        starts_at=starts_at,
        scheduled_by_id=principal.account_id,
        using_db=conn,
    )
    participants = [
        await VideoParticipant.create(
            id=uuid4(),
            hearing=hearing,
            account_id=account_id,
            role=role.value,
            display_name=names.get(account_id, "")[:100],
            using_db=conn,
        )
        for account_id, role in members
    ]
    hearing.notice_status = await notices.send_notice(
        conn, hearing, participants, actor, prepared_notice
    )
    await hearing.save(using_db=conn, update_fields=["notice_status"])
    await schedule_lobby_opening(conn, hearing)
    await audit.record(
        conn,
        actor,
        "video_hearing.scheduled",
        RESOURCE,
        str(hearing.id),
        {
            "filing_id": str(filing.id),
            "starts_at": starts_at.isoformat(),
            "participant_count": len(participants),
        },
    )
    await _timeline(
        conn,
        hearing,
        "video_hearing_scheduled",
        principal.account_id,
        {"title": title, "starts_at": starts_at.isoformat()},
    )
    return hearing


async def get_hearing(hearing_id: UUID, conn: BaseDBAsyncClient | None = None) -> VideoHearing:
    query = VideoHearing.filter(id=hearing_id)
    if conn is not None:
        query = query.using_db(conn).select_for_update()
    hearing = await query.first()
    if hearing is None:
        raise NotFound("no such hearing")
    return hearing


async def transition(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    actor_id: UUID | None,
    hearing: VideoHearing,
    target: VideoHearingStatus,
    *,
    now: datetime,
    reason: str = "",
) -> VideoHearing:
    """Move the (row-locked) hearing to ``target``; 409 from a status that cannot reach it."""
    if hearing.status not in _TRANSITIONS[target]:
        zh, en = STATUS_NAMES[hearing.status]
        raise Conflict(
            f"庭审当前为“{zh}”，不能进行此操作 / the hearing is {en}: it cannot go {target}",
            code="invalid_hearing_transition",
        )
    if target is S.LOBBY_OPEN and now < lobby_opens_at(hearing):
        raise Conflict(
            "候庭室在开庭前30分钟开放 / the lobby opens 30 minutes before the hearing",
            code="lobby_not_open",
            extra={"lobby_opens_at": lobby_opens_at(hearing).isoformat()},
        )
    before = hearing.status
    hearing.status = target.value
    fields = ["status", "updated_at"]
    if target is S.LOBBY_OPEN:
        hearing.lobby_opened_at = now
        fields.append("lobby_opened_at")
    if target is S.IN_SESSION and hearing.opened_at is None:
        hearing.opened_at = now
        fields.append("opened_at")
    if target is S.CLOSED:
        hearing.closed_at = now
        fields.append("closed_at")
    await hearing.save(using_db=conn, update_fields=fields)
    details: dict[str, Any] = {"from": before}
    if reason:
        details["reason"] = reason
    await audit.record(conn, actor, _ACTIONS[target], RESOURCE, str(hearing.id), details)
    await _timeline(conn, hearing, f"video_hearing_{target.value}", actor_id, details, at=now)
    return hearing


async def open_lobby_if_due(
    conn: BaseDBAsyncClient, audit: AuditLog, hearing: VideoHearing, *, now: datetime
) -> VideoHearing:
    """The lobby opens by the clock (system actor): the job at its time, or the first look at a
    due hearing if the job has not run yet."""
    if hearing.status == S.SCHEDULED and now >= lobby_opens_at(hearing):
        return await transition(
            conn, audit, Actor.system("hearings"), None, hearing, S.LOBBY_OPEN, now=now
        )
    return hearing


async def record_recording_event(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    actor_id: UUID | None,
    hearing: VideoHearing,
    kind: str,
    *,
    now: datetime,
    reason: str = "",
) -> None:
    """Log a recording start/pause/resume/stop. Court recording rules: a pause is logged with its
    reason, on the hearing record and in the audit log."""
    await VideoRecordingEvent.create(
        hearing=hearing, kind=kind, reason=reason, actor_id=actor_id, at=now, using_db=conn
    )
    details: dict[str, Any] = {"reason": reason} if reason else {}
    await audit.record(
        conn, actor, f"video_hearing.recording_{kind}", RESOURCE, str(hearing.id), details
    )
    await _timeline(
        conn, hearing, f"video_recording_{kind}", actor_id, details, visibility="court", at=now
    )


async def add_note(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    principal: Principal,
    hearing: VideoHearing,
    text: str,
    *,
    now: datetime,
) -> VideoNote:
    if hearing.status not in (S.IN_SESSION, S.RECESS, S.LOBBY_OPEN):
        raise Conflict(
            "只能在庭审进行中记录笔录 / notes are taken while the hearing runs",
            code="hearing_not_running",
        )
    offset_ms = int((now - hearing.opened_at).total_seconds() * 1000) if hearing.opened_at else None
    note = await VideoNote.create(
        hearing=hearing,
        author_id=principal.account_id,
        at=now,
        offset_ms=offset_ms,
        text=text,
        using_db=conn,
    )
    await audit.record(
        conn,
        actor,
        "video_hearing.note_added",
        RESOURCE,
        str(hearing.id),
        {"note_id": note.id, "offset_ms": offset_ms},
    )
    return note


async def remove_participant(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    hearing: VideoHearing,
    participant: VideoParticipant,
    *,
    now: datetime,
    reason: str,
) -> None:
    participant.removed_at = now
    await participant.save(using_db=conn, update_fields=["removed_at"])
    await audit.record(
        conn,
        actor,
        "video_hearing.participant_removed",
        RESOURCE,
        str(hearing.id),
        {"participant_id": str(participant.id), "reason": reason},
    )
    await _timeline(
        conn,
        hearing,
        "video_participant_removed",
        None,
        {"participant_id": str(participant.id), "reason": reason},
        visibility="court",
        at=now,
    )


async def replace_mediator(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    hearing: VideoHearing,
    mediator: UUID,
    *,
    now: datetime,
) -> None:
    """A newly designated mediator takes over hosting a mediation's video session: the previous
    one is removed (and so loses access, hearings.video_access), the new one joins as host
    unless already in the hearing."""
    rows = await VideoParticipant.filter(hearing_id=hearing.id).using_db(conn)
    for row in rows:
        hosting = row.role == ParticipantRole.MEDIATOR and row.removed_at is None
        if hosting and row.account_id != mediator:
            await remove_participant(
                conn, audit, actor, hearing, row, now=now, reason="mediator replaced"
            )
    existing = next((r for r in rows if r.account_id == mediator), None)
    if existing is not None:
        # Already in the hearing: as the case's judge or clerk, or as an earlier host.
        if existing.role == ParticipantRole.MEDIATOR and existing.removed_at is not None:
            existing.removed_at = None
            await existing.save(using_db=conn, update_fields=["removed_at"])
        return
    account = await Account.get(id=mediator, using_db=conn)
    participant = await VideoParticipant.create(
        id=uuid4(),
        hearing=hearing,
        account_id=mediator,
        role=ParticipantRole.MEDIATOR.value,
        display_name=account.display_name[:100],
        using_db=conn,
    )
    await audit.record(
        conn,
        actor,
        "video_hearing.participant_added",
        RESOURCE,
        str(hearing.id),
        {"participant_id": str(participant.id), "role": participant.role},
    )
