"""The live hearing room: who is connected, the lobby, admission, mute, reconnection, recording.

One process holds a hearing's room (the built-in media engine terminates every connection here;
README "Video hearings" explains scaling out). Durable facts — the lifecycle, removals, recording
control log, segments — go to the database through hearings.video_service; the room keeps only
what dies with the connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from backend.db import Database
from backend.errors import Conflict, NotFound
from backend.settings import Settings
from hearings.models import (
    ParticipantRole,
    VideoHearing,
    VideoHearingStatus,
    VideoParticipant,
    VideoSegment,
)
from hearings.video_access import RESOURCE
from hearings.video_media import MediaEngine
from hearings.video_record import load_record, manifest, row_fields
from hearings.video_recording import (
    GENESIS,
    MANIFEST,
    SegmentLink,
    SegmentRecorder,
    read_journal,
    write_durably,
)

log = logging.getLogger("mobile_court.hearings.room")
S = VideoHearingStatus
COURT_ROLES = frozenset(
    {ParticipantRole.JUDGE.value, ParticipantRole.CLERK.value, ParticipantRole.MEDIATOR.value}
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Peer:
    """One signaling connection: an outbound queue drained by the connection's writer, so a
    slow phone never stalls a broadcast."""

    def __init__(self, send: Callable[[str], Any], close: Callable[[int, str], Any]) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=256)
        self._send = send
        self._close = close
        self.closed = asyncio.Event()
        self._writer = asyncio.create_task(self._write())
        self._closing: asyncio.Future[Any] | None = None

    def push(self, message: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(json.dumps(message, ensure_ascii=False))
        except asyncio.QueueFull:
            self.kick(4008, "too slow")

    def kick(self, code: int, reason: str) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self._closing = asyncio.ensure_future(self._close(code, reason))

    async def _write(self) -> None:
        while (text := await self._queue.get()) is not None:
            try:
                await self._send(text)
            except (ConnectionError, RuntimeError):
                return

    async def stop(self) -> None:
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


@dataclass
class Member:
    participant_id: UUID
    account_id: UUID
    role: str
    display_name: str
    state: str = "absent"  # absent | lobby | admitted | reconnecting
    peer: Peer | None = None
    muted: bool = False
    grace: asyncio.TimerHandle | None = None

    @property
    def is_court(self) -> bool:
        return self.role in COURT_ROLES

    def public(self) -> dict[str, Any]:
        return {
            "participant_id": str(self.participant_id),
            "role": self.role,
            "display_name": self.display_name,
            "state": self.state,
            "muted": self.muted,
        }


@dataclass
class Room:
    hearing_id: UUID
    members: dict[UUID, Member]
    status: str
    recorder: SegmentRecorder | None = None
    pending_rows: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def recording_state(self) -> str:
        if self.recorder is None:
            return "off"
        return "paused" if self.recorder.paused else "on"

    def by_account(self, account_id: UUID) -> Member | None:
        return next((m for m in self.members.values() if m.account_id == account_id), None)

    def broadcast(self, message: dict[str, Any], *, court_only: bool = False) -> None:
        for member in self.members.values():
            if member.peer is None or member.state != "admitted":
                continue
            if court_only and not member.is_court:
                continue
            member.peer.push(message)

    def lobby_update(self) -> None:
        waiting = [m.public() for m in self.members.values() if m.state == "lobby"]
        self.broadcast({"type": "lobby", "waiting": waiting}, court_only=True)


async def _active_members(hearing_id: UUID) -> dict[UUID, Member]:
    participants = await VideoParticipant.filter(hearing_id=hearing_id, removed_at__isnull=True)
    return {p.id: Member(p.id, p.account_id, p.role, p.display_name) for p in participants}


class RoomManager:
    def __init__(
        self, settings: Settings, engine: MediaEngine, audit: AuditLog, database: Database
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.audit = audit
        self.database = database
        self.rooms: dict[UUID, Room] = {}
        self.background: set[asyncio.Future[Any]] = set()
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------------- rooms

    async def room(self, hearing: VideoHearing) -> Room:
        async with self._lock:
            room = self.rooms.get(hearing.id)
            if room is not None:
                return room
            room = Room(hearing.id, await _active_members(hearing.id), hearing.status)

            def sink(participant_id: UUID, kind: str, frame: Any) -> None:
                if room.recorder is not None:
                    room.recorder.submit(participant_id, kind, frame)

            await self.engine.open_room(hearing.id, sink)
            self.rooms[hearing.id] = room
            if hearing.status == S.IN_SESSION:
                # The server restarted mid-hearing: the record continues where it stopped.
                await self.start_recording(room)
            return room

    def live(self, hearing_id: UUID) -> Room | None:
        return self.rooms.get(hearing_id)

    async def sync_members(self, hearing_id: UUID) -> None:
        """After a change to the hearing's participants committed outside the room (a mediator
        replaced): whoever was removed is dropped as by the remove control, whoever was added
        may enter."""
        room = self.rooms.get(hearing_id)
        if room is None:
            return
        active = await _active_members(hearing_id)
        for participant_id, member in list(room.members.items()):
            if participant_id not in active:
                await self.remove(room, member)
        for participant_id, member in active.items():
            room.members.setdefault(participant_id, member)

    async def close(self) -> None:
        """Server shutdown: finish the recordings (a kill instead loses one window at most)."""
        if self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)
        for room in list(self.rooms.values()):
            await self._stop_recording(room)
            await self._drop_room(room)

    async def _drop_room(self, room: Room) -> None:
        for member in room.members.values():
            if member.grace is not None:
                member.grace.cancel()
            if member.peer is not None:
                member.peer.kick(4000, "hearing closed")
        await self.engine.close_room(room.hearing_id)
        self.rooms.pop(room.hearing_id, None)

    # ------------------------------------------------------------------- connections

    def join(self, room: Room, member: Member, peer: Peer) -> bool:
        """Attach a connection; returns whether the member resumed without re-admission."""
        if member.peer is not None and member.peer is not peer:
            member.peer.kick(4001, "signed in elsewhere")
        resumed = member.state in ("admitted", "reconnecting") and not member.is_court
        if member.grace is not None:
            member.grace.cancel()
            member.grace = None
        member.peer = peer
        if member.is_court or resumed:
            member.state = "admitted"
            room.broadcast({"type": "participant_joined", "participant": member.public()})
            room.lobby_update()
        else:
            member.state = "lobby"
            room.lobby_update()
        return resumed

    async def leave(self, room: Room, member: Member, peer: Peer) -> None:
        if member.peer is not peer:
            return  # an older connection the member already replaced
        member.peer = None
        await self.engine.disconnect(room.hearing_id, member.participant_id)
        if member.peer is not None:
            # The member reconnected while the old media was being closed (slow under load):
            # the new connection owns the state now; marking it "reconnecting" would refuse its
            # offers and let the grace period expire a participant who is back.
            return
        if member.state == "admitted" and not member.is_court:
            # Keep the admission for the grace period: a dropped phone comes straight back.
            member.state = "reconnecting"
            loop = asyncio.get_running_loop()
            member.grace = loop.call_later(
                self.settings.video_reconnect_grace_s, self._expire, room, member
            )
        else:
            member.state = "absent"
        room.broadcast({"type": "participant_left", "participant": member.public()})
        room.lobby_update()

    def _expire(self, room: Room, member: Member) -> None:
        member.grace = None
        if member.state == "reconnecting":
            member.state = "absent"
            room.broadcast({"type": "participant_left", "participant": member.public()})

    def welcome(self, room: Room, member: Member, resumed: bool) -> dict[str, Any]:
        return {
            "type": "welcome",
            "participant_id": str(member.participant_id),
            "state": member.state,
            "resumed": resumed,
            "hearing_status": room.status,
            "recording": room.recording_state == "on",
            "ice_servers": [
                s.model_dump(exclude_none=True) for s in self.settings.video_ice_servers
            ],
            "participants": [m.public() for m in room.members.values()],
            "publishers": [str(p) for p in self.engine.publishers(room.hearing_id)],
        }

    # --------------------------------------------------------------------- controls

    def member(self, room: Room, participant_id: UUID) -> Member:
        member = room.members.get(participant_id)
        if member is None:
            raise NotFound("no such participant in this hearing")
        return member

    def admit(self, room: Room, member: Member) -> None:
        if member.state != "lobby" or member.peer is None:
            raise Conflict(
                "该参与人不在候庭室 / the participant is not waiting in the lobby",
                code="not_in_lobby",
            )
        member.state = "admitted"
        member.peer.push({"type": "admitted"})
        member.peer.push(self.welcome(room, member, False))
        room.broadcast({"type": "participant_joined", "participant": member.public()})
        room.lobby_update()

    def deny(self, room: Room, member: Member) -> None:
        if member.state != "lobby" or member.peer is None:
            raise Conflict(
                "该参与人不在候庭室 / the participant is not waiting in the lobby",
                code="not_in_lobby",
            )
        member.state = "absent"
        member.peer.push({"type": "denied"})
        member.peer.kick(4003, "denied")
        member.peer = None
        room.lobby_update()

    def set_muted(self, room: Room, member: Member, muted: bool) -> None:
        member.muted = muted
        self.engine.set_muted(room.hearing_id, member.participant_id, muted)
        room.broadcast(
            {"type": "muted", "participant_id": str(member.participant_id), "muted": muted}
        )
        if member.peer is not None and member.state != "admitted":
            member.peer.push(
                {"type": "muted", "participant_id": str(member.participant_id), "muted": muted}
            )

    async def remove(self, room: Room, member: Member) -> None:
        room.members.pop(member.participant_id, None)
        if member.grace is not None:
            member.grace.cancel()
        await self.engine.disconnect(room.hearing_id, member.participant_id)
        if member.peer is not None:
            member.peer.push({"type": "removed"})
            member.peer.kick(4003, "removed")
            member.peer = None
        room.broadcast({"type": "participant_removed", "participant": member.public()})
        room.lobby_update()

    def status_changed(self, room: Room, status: str) -> None:
        room.status = status
        room.broadcast({"type": "hearing_status", "status": status})

    # -------------------------------------------------------------------- recording

    async def start_recording(self, room: Room) -> None:
        if room.recorder is not None:
            if room.recorder.paused:
                room.recorder.resume()
            return
        last = await VideoSegment.filter(hearing_id=room.hearing_id).order_by("-seq").first()
        directory = self.settings.effective_recording_dir / str(room.hearing_id)
        next_seq, prev = (last.seq + 1, last.chain_hash) if last else (1, GENESIS)
        # Segments finished just before a crash are in the journal but not yet in the database.
        for link in await asyncio.to_thread(read_journal, directory):
            if link.seq == next_seq and link.prev_hash == prev:
                await self._store_segment(link)
                next_seq, prev = link.seq + 1, link.chain_hash
        room.recorder = SegmentRecorder(
            room.hearing_id,
            directory,
            self.settings.video_segment_s,
            lambda link: self._segment_done(room, link),
            lambda participant_id: self.engine.request_keyframe(room.hearing_id, participant_id),
            next_seq=next_seq,
            prev_hash=prev,
        )
        room.broadcast({"type": "recording", "state": "on"})

    def check_recording_change(self, room: Room, kind: str) -> None:
        """The one place that says which recording control applies when ("started" again
        after an equipment failure, "paused", "resumed")."""
        state = room.recording_state
        if kind == "started" and state != "off":
            raise Conflict("录像已开启 / the recording is already on", code="already_recording")
        if kind == "paused" and state != "on":
            raise Conflict("录像未在进行 / the recording is not running", code="not_recording")
        if kind == "resumed" and state != "paused":
            raise Conflict("录像未暂停 / the recording is not paused", code="not_paused")

    async def change_recording(self, room: Room, kind: str) -> None:
        self.check_recording_change(room, kind)
        if kind == "started":
            await self.start_recording(room)
            return
        assert room.recorder is not None  # checked above
        if kind == "paused":
            room.recorder.pause()
        else:
            room.recorder.resume()
        room.broadcast({"type": "recording", "state": room.recording_state})

    async def _stop_recording(self, room: Room) -> None:
        recorder, room.recorder = room.recorder, None
        if recorder is not None:
            await recorder.stop()
        # The last segments' rows are queued on the loop by the writer thread just before it
        # ends; let them be scheduled, then wait for them.
        await asyncio.sleep(0)
        while room.pending_rows:
            await asyncio.gather(*list(room.pending_rows), return_exceptions=True)

    def _segment_done(self, room: Room, link: SegmentLink) -> None:
        task = asyncio.ensure_future(self._store_segment(link))
        room.pending_rows.add(task)
        task.add_done_callback(room.pending_rows.discard)

    async def _store_segment(self, link: SegmentLink) -> None:
        if not await VideoSegment.exists(hearing_id=UUID(link.hearing_id), seq=link.seq):
            await VideoSegment.create(**row_fields(link))

    async def finish(self, room: Room, hearing: VideoHearing, actor: Actor) -> None:
        """After closing: the last segments, the manifest, then everyone is let go."""
        self.status_changed(room, S.CLOSED.value)
        await self._stop_recording(room)
        record = await load_record(hearing.id)
        data = json.dumps(manifest(hearing, record), ensure_ascii=False, sort_keys=True, indent=1)
        body = data.encode()
        directory = self.settings.effective_recording_dir / str(hearing.id)
        await asyncio.to_thread(write_durably, directory / MANIFEST, body)
        digest = hashlib.sha256(body).hexdigest()
        async with in_transaction() as conn:
            hearing.manifest_sha256 = digest
            await hearing.save(using_db=conn, update_fields=["manifest_sha256"])
            await self.audit.record(
                conn,
                actor,
                "video_hearing.manifest_written",
                RESOURCE,
                str(hearing.id),
                {"segment_count": len(record.segments), "manifest_sha256": digest},
            )
        await self._drop_room(room)
