"""Stage windows: open, close (recording missed windows, Art. 25), advance, extend, reopen, and
conversion to a video hearing. Closing happens when the judge advances or, at the window's end,
through a durable job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.jobs.queue import JobContext, PermanentJobError
from backend.keys import load_keyring
from backend.settings import Settings
from filing.filings import add_event, get_filing
from hearings import video_service
from hearings.asynchronous.access import RESOURCE, Case, case_of
from hearings.asynchronous.models import AsyncHearing, AsyncPost, AsyncStage, MissedWindow
from hearings.asynchronous.notify import notify, schedule_window_jobs
from hearings.asynchronous.preparation import utcnow, window_end
from hearings.asynchronous.rules import (
    DEFENDANT,
    PLAINTIFF,
    STAGE_NAMES,
    StageKind,
)
from hearings.models import VideoHearing
from hearings.video_notice import HearingNoticeSender

EVIDENCE_KINDS = ("file", "voice", "video")


async def stages_of(
    hearing: AsyncHearing, conn: BaseDBAsyncClient | None = None
) -> list[AsyncStage]:
    return await AsyncStage.filter(hearing_id=hearing.id).using_db(conn).order_by("position")


def require_in_progress(hearing: AsyncHearing) -> None:
    if hearing.status != "in_progress":
        raise Conflict(
            f"异步审理不在进行中（{hearing.status}） / the hearing is not in progress "
            f"({hearing.status})",
            code="hearing_not_in_progress",
        )


async def open_stage(
    conn: BaseDBAsyncClient, case: Case, stage: AsyncStage, *, closes_at: datetime | None
) -> None:
    now = utcnow()
    stage.status, stage.opens_at = "open", now
    stage.closes_at = closes_at or window_end(stage, now)
    stage.closed_at = None
    await stage.save(using_db=conn)
    await schedule_window_jobs(conn, stage)
    zh, en = STAGE_NAMES[StageKind(stage.kind)]
    await add_event(
        conn,
        case.filing,
        "async_stage_opened",
        None,
        {
            "stage": stage.kind,
            "name_zh": zh,
            "name_en": en,
            "closes_at": stage.closes_at.isoformat(),
        },
    )
    await notify(
        conn,
        case.participant_accounts,
        "stage_opened",
        case_label=case.label,
        when=stage.closes_at,
        key=f"stage_opened:{stage.id}:{int(stage.closes_at.timestamp())}",
    )


def _posted_for(post: AsyncPost, case: Case) -> set[UUID]:
    """The parties a published post speaks for (older posts named only a side)."""
    if post.author_party_id is not None:
        return {post.author_party_id}
    return {p.id for p in case.parties if p.role == post.author_role}


async def _expected_parties(
    conn: BaseDBAsyncClient, case: Case, hearing: AsyncHearing, stage: AsyncStage
) -> dict[UUID, str]:
    """The parties (id -> role) that were expected to post in ``stage`` and did not: the window
    counts as missed for each of them (Art. 25)."""
    kind = StageKind(stage.kind)
    posts = await AsyncPost.filter(stage_id=stage.id, seq__isnull=False).using_db(conn)
    posted = {party for post in posts for party in _posted_for(post, case)}
    parties = {p.id: p.role for p in case.parties}
    if kind is StageKind.CLAIM:
        expected = {pid for pid, role in parties.items() if role == PLAINTIFF}
    elif kind is StageKind.DEFENCE:
        expected = {pid for pid, role in parties.items() if role == DEFENDANT}
    elif kind is StageKind.EVIDENCE:
        expected = set()
    elif kind is StageKind.CROSS_EXAMINATION:
        # Cross-examination is per item: a party that left any opposing item without its
        # opinion missed the window, whatever else it posted.
        items = await AsyncPost.filter(
            hearing_id=hearing.id,
            stage__kind=StageKind.EVIDENCE.value,
            kind__in=EVIDENCE_KINDS,
            seq__isnull=False,
        ).using_db(conn)
        opined = {
            (str(post.data.get("evidence_post_id")), party)
            for post in posts
            if post.kind == "opinion"
            for party in _posted_for(post, case)
        }
        return {
            pid: role
            for pid, role in parties.items()
            if any(item.author_role != role and (str(item.id), pid) not in opined for item in items)
        }
    elif kind is StageKind.INQUIRY:
        # Only the party a question names has to answer it, by a reply of its own.
        answered = {
            (post.reply_to_id, party)
            for post in posts
            if post.reply_to_id is not None
            for party in _posted_for(post, case)
        }
        unanswered = set()
        for question in (p for p in posts if p.kind == "question"):
            named = (
                {question.addressed_party_id}
                if question.addressed_party_id is not None
                else {pid for pid, role in parties.items() if role == question.addressed_to}
            )
            unanswered |= {pid for pid in named if (question.id, pid) not in answered}
        return {pid: parties[pid] for pid in unanswered if pid in parties}
    else:
        expected = set(parties)
    return {pid: parties[pid] for pid in expected - posted}


async def close_stage(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, case: Case, stage: AsyncStage
) -> list[MissedWindow]:
    hearing = await AsyncHearing.get(id=stage.hearing_id).using_db(conn)  # type: ignore[attr-defined]
    now = utcnow()
    stage.status, stage.closed_at = "closed", now
    await stage.save(using_db=conn)
    expected = await _expected_parties(conn, case, hearing, stage)
    missed = []
    for party_id, role in sorted(expected.items(), key=lambda item: (item[1], str(item[0]))):
        if await MissedWindow.filter(stage_id=stage.id, party_id=party_id).using_db(conn).exists():
            continue  # a reopened window missed again keeps its first record
        missed.append(
            await MissedWindow.create(
                id=uuid4(),
                hearing_id=hearing.id,
                stage_id=stage.id,
                party_id=party_id,
                party_role=role,
                recorded_at=now,
                using_db=conn,
            )
        )
    details = {
        "stage": stage.kind,
        "missed": [{"party_id": str(m.party_id), "party_role": m.party_role} for m in missed],
    }
    await audit.record(
        conn, actor, "async_hearing.stage_closed", RESOURCE, str(case.filing.id), details
    )
    await add_event(conn, case.filing, "async_stage_closed", None, {"stage": stage.kind})
    for window in missed:
        # Flagged to the judge (court-only timeline) and notified: Art. 25 needs a decision.
        await add_event(
            conn,
            case.filing,
            "async_window_missed",
            None,
            {
                "stage": stage.kind,
                "party_id": str(window.party_id),
                "party_role": window.party_role,
                "missed_id": str(window.id),
            },
            visibility="court",
        )
        await notify(
            conn,
            case.judge_accounts,
            "missed_window",
            case_label=case.label,
            when=now,
            key=f"missed:{window.id}",
        )
    return missed


async def advance(
    conn: BaseDBAsyncClient, audit: AuditLog, actor: Actor, case: Case, hearing: AsyncHearing
) -> AsyncStage | None:
    """Close the open stage (if any) and open the next pending one; None when the last stage
    closed (the hearing is then closed)."""
    require_in_progress(hearing)
    stages = await stages_of(hearing, conn)
    current = next((s for s in stages if s.status == "open"), None)
    if current is not None:
        await close_stage(conn, audit, actor, case, current)
    following = next((s for s in stages if s.status == "pending"), None)
    if following is None:
        hearing.status, hearing.closed_at = "closed", utcnow()
        await hearing.save(using_db=conn)
        await add_event(conn, case.filing, "async_hearing_closed", None, {})
        return None
    await open_stage(conn, case, following, closes_at=None)
    return following


def _stage(stages: list[AsyncStage], kind: StageKind) -> AsyncStage:
    for stage in stages:
        if stage.kind == kind.value:
            return stage
    raise NotFound(f"这次审理没有该阶段 / this hearing has no {kind.value} stage")


def _future(closes_at: datetime) -> datetime:
    if closes_at.tzinfo is None:
        raise ValidationFailed("closes_at needs a time zone", code="naive_datetime")
    if closes_at <= utcnow():
        raise ValidationFailed(
            "新的截止时间必须晚于现在 / the new window end must be in the future",
            code="window_in_past",
        )
    return closes_at.astimezone(UTC)


class WindowChange(Protocol):
    """``extend`` and ``reopen``: change a stage's window to end at ``closes_at``."""

    async def __call__(
        self,
        conn: BaseDBAsyncClient,
        audit: AuditLog,
        actor: Actor,
        case: Case,
        hearing: AsyncHearing,
        kind: StageKind,
        closes_at: datetime,
    ) -> AsyncStage: ...


async def extend(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    kind: StageKind,
    closes_at: datetime,
) -> AsyncStage:
    require_in_progress(hearing)
    stage = _stage(await stages_of(hearing, conn), kind)
    closes_at = _future(closes_at)
    if stage.status != "open":
        raise Conflict(
            "只能延长正在进行的阶段 / only the open stage can be extended", code="stage_not_open"
        )
    assert stage.closes_at is not None
    if closes_at <= stage.closes_at:
        raise ValidationFailed(
            "延长后的截止时间必须晚于原截止时间 / an extension must end later than the window",
            code="not_an_extension",
        )
    previous = stage.closes_at
    stage.closes_at = closes_at
    await stage.save(using_db=conn)
    await schedule_window_jobs(conn, stage)
    details = {"stage": kind.value, "from": previous.isoformat(), "to": closes_at.isoformat()}
    await audit.record(conn, actor, "async_hearing.extend", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "async_window_extended", actor_id(actor), details)
    return stage


async def reopen(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    kind: StageKind,
    closes_at: datetime,
) -> AsyncStage:
    """Reopen a closed stage; stages after it go back to pending (refused once they hold posts)."""
    require_in_progress(hearing)
    stages = await stages_of(hearing, conn)
    stage = _stage(stages, kind)
    closes_at = _future(closes_at)
    if stage.status != "closed":
        raise Conflict(
            "只能重新开启已结束的阶段 / only a closed stage can be reopened",
            code="stage_not_closed",
        )
    later = [s for s in stages if s.position > stage.position and s.status != "pending"]
    if later and await AsyncPost.filter(stage_id__in=[s.id for s in later]).using_db(conn).exists():
        raise Conflict(
            "后续阶段已有发言，不能重新开启 / later stages already hold posts",
            code="later_stage_has_posts",
        )
    for following in later:
        following.status, following.opens_at, following.closes_at = "pending", None, None
        following.closed_at = None
        await following.save(using_db=conn)
    await open_stage(conn, case, stage, closes_at=closes_at)
    details = {"stage": kind.value, "closes_at": closes_at.isoformat()}
    await audit.record(conn, actor, "async_hearing.reopen", RESOURCE, str(case.filing.id), details)
    await add_event(conn, case.filing, "async_window_reopened", actor_id(actor), details)
    return stage


def video_title(case: Case, title: str | None) -> str:
    """The converted video hearing's title: the judge's, else one naming the case."""
    return title or f"{case.label} 视频庭审（由异步审理转换）/ video hearing (converted)"[:200]


def check_conversion(case: Case, hearing: AsyncHearing, starts_at: datetime) -> None:
    """The conversion's refusals (the hearing no longer in progress; too soon, no judge …), run
    before the hearing notice is rendered so a refused conversion renders nothing
    (:func:`convert_to_video` checks again in its transaction)."""
    require_in_progress(hearing)
    video_service.check_schedule(
        case.filing, case.access, starts_at=starts_at, invited=None, now=utcnow()
    )


async def convert_to_video(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
    reason: str,
    *,
    starts_at: datetime,
    notices: HearingNoticeSender,
    title: str | None = None,
    prepared_notice: object = None,
) -> tuple[AsyncHearing, VideoHearing]:
    """End the asynchronous hearing in favour of a video hearing, scheduled here through the
    video hearing service like any other: at least 3 days ahead, every party and lawyer
    invited, the hearing notice served electronically (``notices``; ``prepared_notice`` is
    what ``notices.prepare`` rendered for :func:`video_title` before the transaction). One
    transaction: a refused schedule (too soon, no judge) leaves the asynchronous hearing
    running."""
    require_in_progress(hearing)
    now = utcnow()
    video = await video_service.schedule(
        conn,
        audit,
        actor,
        principal,
        case.filing,
        case.access,
        title=video_title(case, title),
        starts_at=starts_at,
        invited=None,
        notices=notices,
        now=now,
        prepared_notice=prepared_notice,
    )
    for stage in await stages_of(hearing, conn):
        if stage.status == "open":
            stage.status, stage.closed_at = "closed", now
            await stage.save(using_db=conn)
    hearing.status, hearing.converted_at, hearing.conversion_reason = "converted", now, reason
    hearing.video_hearing_id = video.id
    await hearing.save(using_db=conn)
    # The reason is free text: it goes to the case record, never to the audit log.
    await audit.record(
        conn,
        actor,
        "async_hearing.convert",
        RESOURCE,
        str(case.filing.id),
        {"hearing_id": str(hearing.id), "video_hearing_id": str(video.id)},
    )
    details = {
        "hearing_id": str(hearing.id),
        "reason": reason,
        "video_hearing_id": str(video.id),
        "starts_at": starts_at.isoformat(),
    }
    await add_event(
        conn, case.filing, "async_hearing_converted_to_video", principal.account_id, details
    )
    return hearing, video


def actor_id(actor: Actor) -> UUID | None:
    return UUID(actor.subject) if actor.subject else None


# ------------------------------------------------------------------------------ jobs


async def _case_for_stage(stage_id: str, conn: BaseDBAsyncClient) -> tuple[Case, AsyncStage] | None:
    try:
        key = UUID(stage_id)
    except ValueError:
        raise PermanentJobError("bad stage id") from None
    stage = await AsyncStage.filter(id=key).using_db(conn).select_for_update().first()
    if stage is None:
        return None
    hearing = await AsyncHearing.get(id=stage.hearing_id).using_db(conn)  # type: ignore[attr-defined]
    filing = await get_filing(str(hearing.filing_id), conn)
    return await case_of(filing), stage


def _same_window(stage: AsyncStage, payload: dict[str, Any]) -> bool:
    # An extended or reopened window scheduled new jobs; the old ones find a different end.
    return (
        stage.status == "open"
        and stage.closes_at is not None
        and stage.closes_at.astimezone(UTC) == datetime.fromisoformat(payload["closes_at"])
    )


async def remind_stage_job(payload: dict[str, Any], ctx: JobContext) -> None:
    async with in_transaction() as conn:
        found = await _case_for_stage(payload.get("stage_id", ""), conn)
        if found is None or not _same_window(found[1], payload):
            return
        case, stage = found
        assert stage.closes_at is not None
        await notify(
            conn,
            case.participant_accounts,
            "window_closing",
            case_label=case.label,
            when=stage.closes_at,
            key=f"closing:{stage.id}:{int(stage.closes_at.timestamp())}",
        )


class CloseStageJob:
    """At the window's end: close the stage (recording missed windows) and open the next."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._audit: AuditLog | None = None

    @property
    def audit(self) -> AuditLog:
        # Built on first use, so registering job kinds never touches key files.
        if self._audit is None:
            self._audit = AuditLog(load_keyring(self._settings).server_key)
        return self._audit

    async def __call__(self, payload: dict[str, Any], ctx: JobContext) -> None:
        async with in_transaction() as conn:
            found = await _case_for_stage(payload.get("stage_id", ""), conn)
            if found is None or not _same_window(found[1], payload):
                return
            case, stage = found
            hearing_id = stage.hearing_id  # type: ignore[attr-defined]
            hearing = (
                await AsyncHearing.filter(id=hearing_id).using_db(conn).select_for_update().get()
            )
            if hearing.status != "in_progress":
                return
            await advance(conn, self.audit, Actor.system("async_hearing_window"), case, hearing)
