"""The signaling WebSocket of a video hearing.

Authentication is in-band: the first message is ``{"type": "auth", "token": …}`` (tokens never go
in URLs, DESIGN §5). The Origin header must be one of ``MC_VIDEO_ALLOWED_ORIGINS``; every message
is validated; messages are size-capped and rate-limited (a token bucket per connection) and a
connection that breaks the rules is closed.

Client → server: ``auth``, ``offer`` (session_id, purpose publish | subscribe | loopback,
publisher_id for subscribe, sdp), ``candidate`` (trickled ICE), ``close_session``, ``ping``.
Server → client: ``welcome``, ``answer``, ``error``, ``pong`` and room events (``lobby``,
``admitted``, ``denied``, ``removed``, ``participant_joined`` / ``_left`` / ``_removed``,
``published``, ``muted``, ``recording``, ``hearing_status``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated, Any, Literal
from uuid import UUID

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from backend.appkeys import AUTH, DATABASE
from backend.auth.principal import Principal
from backend.errors import AppError
from hearings.models import VideoHearingStatus
from hearings.video_media import SessionPurpose
from hearings.video_room import Member, Peer, Room, RoomManager

log = logging.getLogger("mobile_court.hearings.signaling")

AUTH_TIMEOUT_S = 10
SESSION_ID = r"^[A-Za-z0-9_-]{1,64}$"
LIVE = (VideoHearingStatus.LOBBY_OPEN, VideoHearingStatus.IN_SESSION, VideoHearingStatus.RECESS)


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthMsg(_Message):
    type: Literal["auth"]
    token: str = Field(min_length=10, max_length=4096)


class OfferMsg(_Message):
    type: Literal["offer"]
    session_id: str = Field(pattern=SESSION_ID)
    purpose: Literal["publish", "subscribe", "loopback"]
    publisher_id: UUID | None = None
    sdp: str = Field(min_length=10, max_length=32 * 1024)


class CandidateMsg(_Message):
    type: Literal["candidate"]
    session_id: str = Field(pattern=SESSION_ID)
    candidate: str | None = Field(default=None, max_length=1024)
    sdp_mid: str | None = Field(default=None, max_length=64)
    sdp_mline_index: int | None = Field(default=None, ge=0, le=64)


class CloseSessionMsg(_Message):
    type: Literal["close_session"]
    session_id: str = Field(pattern=SESSION_ID)


class PingMsg(_Message):
    type: Literal["ping"]


ClientMessage = Annotated[
    OfferMsg | CandidateMsg | CloseSessionMsg | PingMsg, Field(discriminator="type")
]
CLIENT_MESSAGE: TypeAdapter[Any] = TypeAdapter(ClientMessage)
AUTH_MESSAGE: TypeAdapter[AuthMsg] = TypeAdapter(AuthMsg)


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.capacity, self.tokens = rate, burst, burst
        self.last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def _error(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "detail": detail, **extra}


async def _first_message(ws: web.WebSocketResponse) -> AuthMsg | None:
    try:
        msg = await ws.receive(timeout=AUTH_TIMEOUT_S)
    except TimeoutError:
        return None
    if msg.type != WSMsgType.TEXT:
        return None
    try:
        return AUTH_MESSAGE.validate_json(msg.data)
    except ValidationError:
        return None


async def serve(
    request: web.Request,
    ws: web.WebSocketResponse,
    manager: RoomManager,
    hearing_id: UUID,
    authorize: Any,
) -> None:
    """Run one signaling connection to its end. ``authorize(principal, hearing)`` raises an
    AppError when the principal may not enter (not a participant, no recent face check …)."""
    first = await _first_message(ws)
    if first is None:
        await ws.close(code=4401, message=b"authenticate first")
        return
    try:
        principal: Principal = await request.config_dict[AUTH].authenticate(first.token)
        with request.config_dict[DATABASE].activate():
            hearing = await authorize(principal, hearing_id)
            room = await manager.room(hearing)
    except AppError as error:
        await ws.send_json(_error(error.code, error.detail))
        await ws.close(code=4000 + min(error.status, 999), message=error.code.encode()[:100])
        return
    member = room.by_account(principal.account_id)
    if member is None:
        await ws.send_json(_error("not_a_participant", "you are not invited to this hearing"))
        await ws.close(code=4403, message=b"not a participant")
        return

    async def close(code: int, reason: str) -> None:
        await ws.close(code=code, message=reason.encode()[:100])

    peer = Peer(ws.send_str, close)
    resumed = manager.join(room, member, peer)
    peer.push(manager.welcome(room, member, resumed))
    settings = manager.settings
    bucket = TokenBucket(settings.video_ws_messages_per_s, 2 * settings.video_ws_messages_per_s)
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            if not bucket.take():
                peer.kick(4429, "too many messages")
                break
            try:
                parsed = CLIENT_MESSAGE.validate_json(msg.data)
            except ValidationError as exc:
                first_error = exc.errors(include_url=False, include_input=False)[0]
                peer.push(_error("invalid_message", str(first_error["msg"])))
                continue
            try:
                await _handle(manager, room, member, peer, parsed)
            except AppError as error:
                peer.push(_error(error.code, error.detail, **_session_of(parsed)))
            except Exception:
                # A media failure ends that session, not the participant's connection.
                log.exception("media session failed")
                peer.push(_error("media_failed", "the media session failed", **_session_of(parsed)))
    finally:
        # aiohttp may cancel this handler when the socket goes away; leaving the room (closing
        # the media, telling the others, starting the grace period) must still run to the end.
        leaving = asyncio.ensure_future(manager.leave(room, member, peer))
        manager.background.add(leaving)
        leaving.add_done_callback(manager.background.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(leaving)
        await peer.stop()
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()


def _session_of(parsed: Any) -> dict[str, Any]:
    session_id = getattr(parsed, "session_id", None)
    return {"session_id": session_id} if session_id else {}


async def _handle(
    manager: RoomManager, room: Room, member: Member, peer: Peer, message: Any
) -> None:
    engine = manager.engine
    if isinstance(message, PingMsg):
        peer.push({"type": "pong"})
    elif isinstance(message, OfferMsg):
        if message.purpose != SessionPurpose.LOOPBACK and member.state != "admitted":
            raise AppError(
                "等待法官准许进入 / wait in the lobby until the judge admits you",
                code="not_admitted",
                status=403,
            )
        # Not cancelled with this connection's handler: an answer stopped halfway (in ICE
        # gathering) would leave sockets behind; the leaving participant's sessions are closed
        # once it is done, and the server's shutdown waits for it.
        answering = asyncio.ensure_future(
            engine.answer(
                room.hearing_id,
                member.participant_id,
                message.session_id,
                message.purpose,
                message.sdp,
                message.publisher_id,
            )
        )
        manager.background.add(answering)
        answering.add_done_callback(manager.background.discard)
        sdp = await asyncio.shield(answering)
        peer.push({"type": "answer", "session_id": message.session_id, "sdp": sdp})
        if message.purpose == SessionPurpose.PUBLISH:
            room.broadcast({"type": "published", "participant_id": str(member.participant_id)})
    elif isinstance(message, CandidateMsg):
        await engine.add_candidate(
            room.hearing_id,
            member.participant_id,
            message.session_id,
            message.candidate,
            message.sdp_mid,
            message.sdp_mline_index,
        )
    elif isinstance(message, CloseSessionMsg):
        await engine.close_session(room.hearing_id, member.participant_id, message.session_id)
