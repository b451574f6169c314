"""/api/v1/hearings/video/…: scheduling, the lifecycle, lobby controls, recording, notes, the
hearing record and the signaling WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, DATABASE, POLICY, SETTINGS
from backend.auth.principal import Principal
from backend.errors import Conflict, Forbidden, NotFound
from backend.http import endpoint, prepare_stream, request_actor, require_principal
from hearings import video_service as svc
from hearings.models import (
    VideoHearing,
    VideoHearingStatus,
    VideoNote,
    VideoParticipant,
    VideoSegment,
)
from hearings.video_access import CONTROL, READ, authorize, case_access, hosts_of
from hearings.video_media import AiortcMediaEngine, MediaEngine
from hearings.video_notice import HEARING_NOTICE_SENDER, PendingNoticeSender
from hearings.video_record import link_of, load_record
from hearings.video_recording import verify
from hearings.video_room import COURT_ROLES, Member, Room, RoomManager, utcnow
from hearings.video_schemas import (
    HearingList,
    HearingListQuery,
    HearingOut,
    NoteIn,
    NoteList,
    NoteOut,
    OptionalReasonIn,
    ParticipantOut,
    ReasonIn,
    RecordingEventOut,
    RecordOut,
    ScheduleIn,
    SegmentOut,
    VerifyOut,
)
from hearings.video_signaling import serve
from identity.presence import require_recent_presence

routes = web.RouteTableDef()
TAGS = ("video hearings",)
S = VideoHearingStatus

MEDIA_ENGINE = web.AppKey("video_media_engine", MediaEngine)
VIDEO_ROOMS = web.AppKey("video_rooms", RoomManager)


async def video_ctx(app: web.Application) -> AsyncIterator[None]:
    """The media engine (unless a deployment registered its own) and the live rooms."""
    settings = app[SETTINGS]
    if MEDIA_ENGINE not in app:
        app[MEDIA_ENGINE] = AiortcMediaEngine(settings.video_ice_servers)
    if HEARING_NOTICE_SENDER not in app:
        app[HEARING_NOTICE_SENDER] = PendingNoticeSender()
    manager = RoomManager(settings, app[MEDIA_ENGINE], app[AUDIT], app[DATABASE])
    app[VIDEO_ROOMS] = manager
    try:
        yield
    finally:
        await manager.close()


# ------------------------------------------------------------------------------ helpers


def _uuid(request: web.Request, name: str) -> UUID:
    try:
        return UUID(request.match_info[name])
    except ValueError:
        raise NotFound("no such resource") from None


async def _load(request: web.Request, action: str) -> tuple[Principal, VideoHearing]:
    principal = require_principal(request)
    hearing = await VideoHearing.get_or_none(id=_uuid(request, "hearing_id"))
    if hearing is None:
        raise NotFound("no such hearing")
    _, access = await case_access(hearing.filing_id)
    authorize(request.config_dict[POLICY], principal, access, action, await hosts_of(hearing.id))
    return principal, hearing


async def _out(request: web.Request, hearing: VideoHearing) -> HearingOut:
    participants = await VideoParticipant.filter(hearing_id=hearing.id).order_by("role", "id")
    room = request.config_dict[VIDEO_ROOMS].live(hearing.id)
    zh, en = svc.STATUS_NAMES[hearing.status]
    items = []
    for p in participants:
        member = room.members.get(p.id) if room else None
        items.append(
            ParticipantOut(
                id=p.id,
                account_id=p.account_id,
                role=p.role,
                display_name=p.display_name,
                removed=p.removed_at is not None,
                presence=member.state if member else "absent",
                muted=member.muted if member else False,
            )
        )
    return HearingOut(
        id=hearing.id,
        filing_id=hearing.filing_id,
        title=hearing.title,
        starts_at=hearing.starts_at,
        status=hearing.status,
        status_zh=zh,
        status_en=en,
        notice_status=hearing.notice_status,
        lobby_opens_at=svc.lobby_opens_at(hearing),
        opened_at=hearing.opened_at,
        closed_at=hearing.closed_at,
        recording=bool(room and room.recording_state == "on"),
        participants=items,
    )


async def _due(request: web.Request, hearing: VideoHearing) -> VideoHearing:
    if hearing.status == S.SCHEDULED and utcnow() >= svc.lobby_opens_at(hearing):
        async with in_transaction() as conn:
            locked = await svc.get_hearing(hearing.id, conn)
            hearing = await svc.open_lobby_if_due(
                conn, request.config_dict[AUDIT], locked, now=utcnow()
            )
    return hearing


# ---------------------------------------------------------------------------- scheduling


@routes.post("/video")
@endpoint(
    "Schedule a video hearing (the case's judge or clerk; at least 3 days ahead)",
    body=ScheduleIn,
    response=HearingOut,
    status=201,
    tags=TAGS,
    errors=(403, 404, 409, 422),
)
async def schedule(request: web.Request, *, body: ScheduleIn) -> HearingOut:
    principal = require_principal(request)
    filing, access = await case_access(body.filing_id)
    authorize(request.config_dict[POLICY], principal, access, CONTROL)
    now = utcnow()
    # The scripted demo (MC_DEMO_SHORTCUTS, refused in production) hears at once.
    min_lead = timedelta(0) if request.config_dict[SETTINGS].demo_shortcuts else svc.NOTICE_MIN_LEAD
    invited = body.participant_account_ids
    svc.check_schedule(
        filing, access, starts_at=body.starts_at, invited=invited, now=now, min_lead=min_lead
    )
    notices = request.config_dict[HEARING_NOTICE_SENDER]
    prepared = await notices.prepare(filing, body.title, body.starts_at)
    async with in_transaction() as conn:
        hearing = await svc.schedule(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            filing,
            access,
            title=body.title,
            starts_at=body.starts_at,
            invited=invited,
            notices=notices,
            now=now,
            min_lead=min_lead,
            prepared_notice=prepared,
        )
    return await _out(request, hearing)


@routes.get("/video")
@endpoint("A case's video hearings", query=HearingListQuery, response=HearingList, tags=TAGS)
async def list_hearings(request: web.Request, *, query: HearingListQuery) -> HearingList:
    principal = require_principal(request)
    _, access = await case_access(query.filing_id)
    authorize(request.config_dict[POLICY], principal, access, READ)
    hearings = await VideoHearing.filter(filing_id=query.filing_id).order_by("starts_at")
    return HearingList(items=[await _out(request, await _due(request, h)) for h in hearings])


@routes.get("/video/{hearing_id}")
@endpoint("One video hearing", response=HearingOut, tags=TAGS, errors=(404,))
async def get_hearing(request: web.Request) -> HearingOut:
    _, hearing = await _load(request, READ)
    return await _out(request, await _due(request, hearing))


# ----------------------------------------------------------------------------- lifecycle


async def _lifecycle(
    request: web.Request, target: VideoHearingStatus, reason: str = ""
) -> HearingOut:
    principal, hearing = await _load(request, CONTROL)
    hearing = await _due(request, hearing)
    manager: RoomManager = request.config_dict[VIDEO_ROOMS]
    audit, actor, now = request.config_dict[AUDIT], request_actor(request), utcnow()
    async with in_transaction() as conn:
        locked = await svc.get_hearing(hearing.id, conn)
        before = locked.status
        hearing = await svc.transition(
            conn, audit, actor, principal.account_id, locked, target, now=now, reason=reason
        )
        if target is S.IN_SESSION:
            kind = "resumed" if before == S.RECESS else "started"
            await svc.record_recording_event(
                conn, audit, actor, principal.account_id, hearing, kind, now=now
            )
        elif target is S.RECESS:
            await svc.record_recording_event(
                conn,
                audit,
                actor,
                principal.account_id,
                hearing,
                "paused",
                now=now,
                reason=f"休庭 recess: {reason}",
            )
        elif target is S.CLOSED:
            await svc.record_recording_event(
                conn, audit, actor, principal.account_id, hearing, "stopped", now=now
            )
    room = await manager.room(hearing)
    manager.status_changed(room, hearing.status)
    if target is S.IN_SESSION:
        await manager.start_recording(room)
    elif target is S.RECESS and room.recording_state == "on":
        await manager.change_recording(room, "paused")
    elif target is S.CLOSED:
        await manager.finish(room, hearing, actor)
        hearing = await VideoHearing.get(id=hearing.id)
    return await _out(request, hearing)


@routes.post("/video/{hearing_id}/open")
@endpoint(
    "Open the session (recording starts) or resume after a recess",
    response=HearingOut,
    tags=TAGS,
    errors=(403, 404, 409),
)
async def open_session(request: web.Request) -> HearingOut:
    return await _lifecycle(request, S.IN_SESSION)


@routes.post("/video/{hearing_id}/recess")
@endpoint(
    "Recess (the recording pauses, with the reason logged)",
    body=ReasonIn,
    response=HearingOut,
    tags=TAGS,
    errors=(403, 404, 409, 422),
)
async def recess(request: web.Request, *, body: ReasonIn) -> HearingOut:
    return await _lifecycle(request, S.RECESS, body.reason)


@routes.post("/video/{hearing_id}/close")
@endpoint(
    "Close the hearing: the recording ends, the manifest is written, everyone is let go",
    response=HearingOut,
    tags=TAGS,
    errors=(403, 404, 409),
)
async def close(request: web.Request) -> HearingOut:
    return await _lifecycle(request, S.CLOSED)


# -------------------------------------------------------------------------- participants


async def _live_member(request: web.Request) -> tuple[Principal, VideoHearing, Room, Member]:
    principal, hearing = await _load(request, CONTROL)
    manager: RoomManager = request.config_dict[VIDEO_ROOMS]
    room = manager.live(hearing.id)
    if room is None:
        raise Conflict("庭审室未开启 / nobody is connected to this hearing", code="room_not_live")
    member = manager.member(room, _uuid(request, "participant_id"))
    if member.is_court:
        raise Forbidden("court staff cannot be controlled", code="hearing_control_forbidden")
    return principal, hearing, room, member


async def _audit_control(
    request: web.Request, hearing: VideoHearing, action: str, details: dict[str, Any]
) -> None:
    async with in_transaction() as conn:
        await request.config_dict[AUDIT].record(
            conn, request_actor(request), action, "video_hearing", str(hearing.id), details
        )


Control = Callable[[RoomManager, Room, Member], None]


def _control(verb: str, action: str, summary: str, apply: Control) -> None:
    """Register one lobby / microphone control: same checks, same audit shape."""

    async def handler(request: web.Request) -> None:
        _, hearing, room, member = await _live_member(request)
        apply(request.config_dict[VIDEO_ROOMS], room, member)
        await _audit_control(
            request,
            hearing,
            f"video_hearing.{action}",
            {"participant_id": str(member.participant_id)},
        )

    handler.__name__ = handler.__qualname__ = verb
    routes.post(f"/video/{{hearing_id}}/participants/{{participant_id}}/{verb}")(
        endpoint(summary, tags=TAGS, status=204, errors=(403, 404, 409))(handler)
    )


_CONTROLS: tuple[tuple[str, str, str, Control], ...] = (
    ("admit", "admitted", "Admit a participant waiting in the lobby", RoomManager.admit),
    ("deny", "denied", "Turn a participant away from the lobby", RoomManager.deny),
    ("mute", "muted", "Mute a participant's microphone", lambda m, r, p: m.set_muted(r, p, True)),
    (
        "unmute",
        "unmuted",
        "Unmute a participant's microphone",
        lambda m, r, p: m.set_muted(r, p, False),
    ),
)
for _control_args in _CONTROLS:
    _control(*_control_args)


@routes.post("/video/{hearing_id}/participants/{participant_id}/remove")
@endpoint(
    "Remove a participant from the hearing (they cannot rejoin)",
    body=ReasonIn,
    tags=TAGS,
    status=204,
    errors=(403, 404, 409, 422),
)
async def remove(request: web.Request, *, body: ReasonIn) -> None:
    _, hearing, room, member = await _live_member(request)
    participant = await VideoParticipant.get(id=member.participant_id)
    async with in_transaction() as conn:
        await svc.remove_participant(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            hearing,
            participant,
            now=utcnow(),
            reason=body.reason,
        )
    await request.config_dict[VIDEO_ROOMS].remove(room, member)


# ----------------------------------------------------------------------------- recording


async def _recording(request: web.Request, kind: str, reason: str) -> HearingOut:
    principal, hearing = await _load(request, CONTROL)
    manager: RoomManager = request.config_dict[VIDEO_ROOMS]
    if hearing.status != S.IN_SESSION:
        raise Conflict("庭审未在进行 / the hearing is not in session", code="not_in_session")
    room = await manager.room(hearing)
    manager.check_recording_change(room, kind)
    async with in_transaction() as conn:
        await svc.record_recording_event(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal.account_id,
            hearing,
            kind,
            now=utcnow(),
            reason=reason,
        )
    await manager.change_recording(room, kind)
    return await _out(request, hearing)


@routes.post("/video/{hearing_id}/recording/start")
@endpoint(
    "Start the recording again after an equipment failure (give the written explanation)",
    body=OptionalReasonIn,
    response=HearingOut,
    tags=TAGS,
    errors=(403, 404, 409),
)
async def recording_start(request: web.Request, *, body: OptionalReasonIn) -> HearingOut:
    return await _recording(request, "started", body.reason)


@routes.post("/video/{hearing_id}/recording/pause")
@endpoint(
    "Pause the recording (non-public evidence, mediation …) with the reason",
    body=ReasonIn,
    response=HearingOut,
    tags=TAGS,
    errors=(403, 404, 409, 422),
)
async def recording_pause(request: web.Request, *, body: ReasonIn) -> HearingOut:
    return await _recording(request, "paused", body.reason)


@routes.post("/video/{hearing_id}/recording/resume")
@endpoint("Resume the recording", response=HearingOut, tags=TAGS, errors=(403, 404, 409))
async def recording_resume(request: web.Request) -> HearingOut:
    return await _recording(request, "resumed", "")


# -------------------------------------------------------------------------- notes, record


def _note_out(note: VideoNote) -> NoteOut:
    return NoteOut(
        id=note.id, author_id=note.author_id, at=note.at, offset_ms=note.offset_ms, text=note.text
    )


@routes.post("/video/{hearing_id}/notes")
@endpoint(
    "Add a clerk's note, placed on the recording timeline",
    body=NoteIn,
    response=NoteOut,
    status=201,
    tags=TAGS,
    errors=(403, 404, 409, 422),
)
async def add_note(request: web.Request, *, body: NoteIn) -> NoteOut:
    principal, hearing = await _load(request, CONTROL)
    async with in_transaction() as conn:
        note = await svc.add_note(
            conn,
            request.config_dict[AUDIT],
            request_actor(request),
            principal,
            hearing,
            body.text,
            now=utcnow(),
        )
    return _note_out(note)


@routes.get("/video/{hearing_id}/notes")
@endpoint("The clerk's notes", response=NoteList, tags=TAGS, errors=(403, 404))
async def list_notes(request: web.Request) -> NoteList:
    _, hearing = await _load(request, CONTROL)
    notes = await VideoNote.filter(hearing_id=hearing.id).order_by("id")
    return NoteList(items=[_note_out(n) for n in notes])


@routes.get("/video/{hearing_id}/record")
@endpoint(
    "The hearing record: recording segments (chained), recording log and notes",
    response=RecordOut,
    tags=TAGS,
    errors=(403, 404),
)
async def record(request: web.Request) -> RecordOut:
    _, hearing = await _load(request, CONTROL)
    stored = await load_record(hearing.id)
    return RecordOut(
        hearing_id=hearing.id,
        status=hearing.status,
        opened_at=hearing.opened_at,
        closed_at=hearing.closed_at,
        segments=[SegmentOut.model_validate(s) for s in stored.segments],
        recording_events=[RecordingEventOut.model_validate(e) for e in stored.events],
        notes=[_note_out(n) for n in stored.notes],
        manifest_sha256=hearing.manifest_sha256,
    )


@routes.get("/video/{hearing_id}/record/verify")
@endpoint(
    "Check every recorded segment: present, hash intact, chained, decodable",
    response=VerifyOut,
    tags=TAGS,
    errors=(403, 404),
)
async def verify_record(request: web.Request) -> VerifyOut:
    _, hearing = await _load(request, CONTROL)
    segments = await VideoSegment.filter(hearing_id=hearing.id).order_by("seq")
    links = [link_of(s) for s in segments]
    directory = request.config_dict[SETTINGS].effective_recording_dir / str(hearing.id)
    problems = await asyncio.to_thread(verify, directory, links)
    return VerifyOut(ok=not problems, segments=len(links), problems=problems)


# ----------------------------------------------------------------------------- signaling


@routes.get("/video/{hearing_id}/signaling")
@endpoint(
    "Signaling WebSocket (authenticate with the first message, never in the URL)",
    public=True,
    tags=TAGS,
    description='Upgrade to a WebSocket; send {"type": "auth", "token": …} first. '
    "The Origin header must be an allowed origin.",
    response_content={"application/json": {"schema": {"type": "object"}}},
    errors=(403,),
)
async def signaling(request: web.Request) -> web.StreamResponse:
    settings = request.config_dict[SETTINGS]
    if request.headers.get("Origin") not in settings.video_allowed_origins:
        raise Forbidden("origin not allowed", code="origin_not_allowed")
    hearing_id = _uuid(request, "hearing_id")
    ws = web.WebSocketResponse(max_msg_size=settings.video_ws_max_message, heartbeat=20)
    await prepare_stream(request, ws)
    policy = request.config_dict[POLICY]
    manager: RoomManager = request.config_dict[VIDEO_ROOMS]

    async def may_enter(principal: Principal, wanted: UUID) -> VideoHearing:
        hearing = await VideoHearing.get_or_none(id=wanted)
        if hearing is None:
            raise NotFound("no such hearing")
        _, access = await case_access(hearing.filing_id)
        authorize(policy, principal, access, READ, await hosts_of(hearing.id))
        hearing = await _due(request, hearing)
        if hearing.status not in (S.LOBBY_OPEN, S.IN_SESSION, S.RECESS):
            raise Conflict("庭审室未开放 / the hearing room is not open", code="room_not_open")
        participant = await VideoParticipant.get_or_none(
            hearing_id=hearing.id, account_id=principal.account_id
        )
        if participant is None or participant.removed_at is not None:
            raise Forbidden("you are not a participant of this hearing", code="not_a_participant")
        room = manager.live(hearing.id)
        member = room.members.get(participant.id) if room else None
        rejoining = member is not None and member.state == "reconnecting"
        if participant.role not in COURT_ROLES and not rejoining:
            # Online Litigation Rules Art. 7: identity re-verified before entering the lobby;
            # a dropped phone coming back within the grace period was already verified.
            require_recent_presence(principal)
        return hearing

    await serve(request, ws, manager, hearing_id, may_enter)
    return ws
