"""The media engine: what carries participants' audio and video between them.

:class:`MediaEngine` is the seam a deployment uses to replace the built-in relay with an external
SFU (README: "Video hearings"). The built-in :class:`AiortcMediaEngine` terminates every peer
connection on this server: it receives each participant's tracks over a *publish* connection and
sends them to every other participant over one *subscribe* connection per (subscriber, publisher)
pair, so joining or leaving never renegotiates anybody else's connection. aiortc decodes what it
receives and re-encodes per outgoing stream (DESIGN §3), so the cost grows with P×(P−1) streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription, candidate_from_sdp
from av import AudioFrame

from backend.errors import BadRequest, Conflict, NotFound
from backend.settings import IceServer

log = logging.getLogger("mobile_court.hearings.media")

#: Called for every frame a participant sends while the server holds the room:
#: (participant id, "audio" | "video", frame). Must not block (the recorder queues it).
FrameSink = Callable[[UUID, str, Any], None]


class SessionPurpose:
    PUBLISH = "publish"  # the participant's own camera and microphone, to the server
    SUBSCRIBE = "subscribe"  # one other participant's media, from the server
    LOOPBACK = "loopback"  # equipment self-test: the participant's media echoed back


class MediaEngine(Protocol):
    """What the hearing room needs from whatever moves the media."""

    async def open_room(self, room_id: UUID, on_frame: FrameSink) -> None: ...

    async def close_room(self, room_id: UUID) -> None: ...

    async def answer(
        self,
        room_id: UUID,
        participant_id: UUID,
        session_id: str,
        purpose: str,
        offer_sdp: str,
        publisher_id: UUID | None = None,
    ) -> str:
        """Answer a participant's SDP offer for one session; returns the answer SDP."""
        ...

    async def add_candidate(
        self,
        room_id: UUID,
        participant_id: UUID,
        session_id: str,
        candidate: str | None,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None: ...

    async def close_session(self, room_id: UUID, participant_id: UUID, session_id: str) -> None: ...

    async def disconnect(self, room_id: UUID, participant_id: UUID) -> None:
        """Close every session of the participant (they left, dropped, or were removed)."""
        ...

    def set_muted(self, room_id: UUID, participant_id: UUID, muted: bool) -> None: ...

    def publishers(self, room_id: UUID) -> list[UUID]: ...

    def frames_received(self, room_id: UUID) -> dict[tuple[UUID, str], int]: ...


class TapTrack(MediaStreamTrack):
    """Wraps a received track: counts frames, silences a muted microphone, feeds the sink.

    Everything downstream (relay subscribers, the recorder) sees the tapped frames, so a muted
    participant is silent both to the others and in the record.
    """

    def __init__(
        self, source: MediaStreamTrack, participant_id: UUID, sink: FrameSink, muted: bool
    ) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._participant_id = participant_id
        self._sink = sink
        self.muted = muted
        self.frames = 0

    async def recv(self) -> Any:
        frame = await self._source.recv()
        if self.muted and isinstance(frame, AudioFrame):
            frame = _silence(frame)
        self.frames += 1
        self._sink(self._participant_id, self.kind, frame)
        return frame

    def stop(self) -> None:
        super().stop()
        self._source.stop()


def _silence(frame: AudioFrame) -> AudioFrame:
    silent = AudioFrame.from_ndarray(
        np.zeros_like(frame.to_ndarray()), format=frame.format.name, layout=frame.layout.name
    )
    silent.sample_rate = frame.sample_rate
    silent.pts = frame.pts
    silent.time_base = frame.time_base
    return silent


@dataclass
class _Session:
    session_id: str
    purpose: str
    pc: RTCPeerConnection
    publisher_id: UUID | None = None
    tracks: list[MediaStreamTrack] = field(default_factory=list)


@dataclass
class _Publisher:
    session_id: str
    taps: dict[str, TapTrack] = field(default_factory=dict)
    drains: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class _Room:
    on_frame: FrameSink
    relay: MediaRelay = field(default_factory=MediaRelay)
    sessions: dict[tuple[UUID, str], _Session] = field(default_factory=dict)
    publishers: dict[UUID, _Publisher] = field(default_factory=dict)
    muted: set[UUID] = field(default_factory=set)
    counts: dict[tuple[UUID, str], int] = field(default_factory=dict)


def _prefer_vp8(transceiver: RTCRtpTransceiver) -> None:
    """VP8 first (every phone browser decodes it; cheapest for aiortc to encode), the rest
    after, so a client that cannot do VP8 still connects. Must happen before the remote
    description is applied (DESIGN §3)."""
    codecs = RTCRtpSender.getCapabilities("video").codecs
    vp8 = [c for c in codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]
    rest = [c for c in codecs if c not in vp8]
    transceiver.setCodecPreferences(vp8 + rest)


class AiortcMediaEngine:
    """The built-in relay: every connection terminates here (see the module docstring)."""

    MAX_SESSIONS_PER_PARTICIPANT = 16

    def __init__(self, ice_servers: list[IceServer]) -> None:
        self._ice = [
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in ice_servers
        ]
        self._rooms: dict[UUID, _Room] = {}

    def _configuration(self) -> RTCConfiguration:
        # Always explicit, even when empty: aiortc's default STUN server is unreachable in China.
        return RTCConfiguration(iceServers=list(self._ice))

    async def open_room(self, room_id: UUID, on_frame: FrameSink) -> None:
        self._rooms.setdefault(room_id, _Room(on_frame=on_frame))

    async def close_room(self, room_id: UUID) -> None:
        room = self._rooms.pop(room_id, None)
        if room is None:
            return
        for key in list(room.sessions):
            await self._close(room, key)

    def _room(self, room_id: UUID) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            raise NotFound("the hearing room is not open")
        return room

    def _count(self, room: _Room) -> FrameSink:
        def sink(participant_id: UUID, kind: str, frame: Any) -> None:
            key = (participant_id, kind)
            room.counts[key] = room.counts.get(key, 0) + 1
            room.on_frame(participant_id, kind, frame)

        return sink

    async def answer(
        self,
        room_id: UUID,
        participant_id: UUID,
        session_id: str,
        purpose: str,
        offer_sdp: str,
        publisher_id: UUID | None = None,
    ) -> str:
        room = self._room(room_id)
        if (participant_id, session_id) in room.sessions:
            raise Conflict("that session id is in use", code="session_exists")
        mine = sum(1 for who, _ in room.sessions if who == participant_id)
        if mine >= self.MAX_SESSIONS_PER_PARTICIPANT:
            raise Conflict("too many media sessions", code="too_many_sessions")
        pc = RTCPeerConnection(self._configuration())
        session = _Session(session_id, purpose, pc, publisher_id)
        room.sessions[(participant_id, session_id)] = session

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(room, (participant_id, session_id))

        try:
            # Transceivers are made before the offer is applied, one per offered m-line, so
            # codec preferences are in place when aiortc negotiates (DESIGN §3).
            kinds = _offered_kinds(offer_sdp)
            if purpose == SessionPurpose.PUBLISH:
                await self._prepare_publish(room, participant_id, session, kinds)
            elif purpose == SessionPurpose.SUBSCRIBE:
                self._prepare_subscribe(room, participant_id, session, kinds)
            else:
                for kind in kinds:
                    t = pc.addTransceiver(kind, direction="sendrecv")
                    if kind == "video":
                        _prefer_vp8(t)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except ValueError as exc:
                raise BadRequest(f"the offer is not valid SDP: {exc}", code="bad_sdp") from exc
            if purpose == SessionPurpose.PUBLISH:
                self._start_publish(room, participant_id, session)
            elif purpose == SessionPurpose.LOOPBACK:
                for transceiver in pc.getTransceivers():
                    track = transceiver.receiver.track
                    if track is not None and transceiver.mid is not None:
                        echo = room.relay.subscribe(track, buffered=False)
                        session.tracks.append(echo)
                        transceiver.sender.replaceTrack(echo)
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            await self._close(room, (participant_id, session_id))
            raise
        return pc.localDescription.sdp

    async def _prepare_publish(
        self, room: _Room, participant_id: UUID, session: _Session, kinds: list[str]
    ) -> None:
        old = room.publishers.get(participant_id)
        if old is not None:
            # A rejoining phone publishes on a new connection; the old one is finished.
            await self._close(room, (participant_id, old.session_id))
        for kind in kinds:
            transceiver = session.pc.addTransceiver(kind, direction="recvonly")
            if kind == "video":
                _prefer_vp8(transceiver)

    def _start_publish(self, room: _Room, participant_id: UUID, session: _Session) -> None:
        publisher = _Publisher(session.session_id)
        sink = self._count(room)
        for transceiver in session.pc.getTransceivers():
            track = transceiver.receiver.track
            if track is None or transceiver.mid is None:
                continue
            tap = TapTrack(track, participant_id, sink, participant_id in room.muted)
            publisher.taps[tap.kind] = tap
            # One reader always pulls the source, even with nobody subscribed: aiortc's
            # received-track queue is unbounded, and the recorder must see every frame.
            drain = room.relay.subscribe(tap, buffered=False)
            publisher.drains.append(asyncio.create_task(_drain(drain)))
        room.publishers[participant_id] = publisher

    def _prepare_subscribe(
        self, room: _Room, participant_id: UUID, session: _Session, kinds: list[str]
    ) -> None:
        publisher_id = session.publisher_id
        publisher = room.publishers.get(publisher_id) if publisher_id else None
        if publisher is None or publisher_id == participant_id:
            raise NotFound("that participant is not sending media", code="not_publishing")
        for kind in kinds:
            tap = publisher.taps.get(kind)
            if tap is None:
                # The publisher sends no such track: answer the m-line without media.
                transceiver = session.pc.addTransceiver(kind, direction="sendonly")
                continue
            proxy = room.relay.subscribe(tap, buffered=False)
            session.tracks.append(proxy)
            transceiver = session.pc.addTransceiver(proxy, direction="sendonly")
            if kind == "video":
                _prefer_vp8(transceiver)

    async def add_candidate(
        self,
        room_id: UUID,
        participant_id: UUID,
        session_id: str,
        candidate: str | None,
        sdp_mid: str | None,
        sdp_mline_index: int | None,
    ) -> None:
        room = self._room(room_id)
        session = room.sessions.get((participant_id, session_id))
        if session is None:
            raise NotFound("no such media session", code="no_session")
        if not candidate:
            return  # end of candidates: aiortc needs no signal for it
        try:
            parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        except (ValueError, IndexError) as exc:
            raise BadRequest("malformed ICE candidate", code="bad_candidate") from exc
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index
        await session.pc.addIceCandidate(parsed)

    async def close_session(self, room_id: UUID, participant_id: UUID, session_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is not None:
            await self._close(room, (participant_id, session_id))

    async def disconnect(self, room_id: UUID, participant_id: UUID) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        for key in [k for k in room.sessions if k[0] == participant_id]:
            await self._close(room, key)

    async def _close(self, room: _Room, key: tuple[UUID, str]) -> None:
        session = room.sessions.pop(key, None)
        if session is None:
            return
        participant_id = key[0]
        publisher = room.publishers.get(participant_id)
        if publisher is not None and publisher.session_id == session.session_id:
            del room.publishers[participant_id]
            for task in publisher.drains:
                task.cancel()
            for tap in publisher.taps.values():
                tap.stop()
            # Subscribers of this publisher are finished too: their tracks just ended.
            for other_key, other in list(room.sessions.items()):
                if other.publisher_id == participant_id:
                    await self._close(room, other_key)
        for track in session.tracks:
            track.stop()
        await close_peer_connection(session.pc)

    def set_muted(self, room_id: UUID, participant_id: UUID, muted: bool) -> None:
        room = self._room(room_id)
        if muted:
            room.muted.add(participant_id)
        else:
            room.muted.discard(participant_id)
        publisher = room.publishers.get(participant_id)
        if publisher is not None and "audio" in publisher.taps:
            publisher.taps["audio"].muted = muted

    def publishers(self, room_id: UUID) -> list[UUID]:
        room = self._rooms.get(room_id)
        return list(room.publishers) if room else []

    def frames_received(self, room_id: UUID) -> dict[tuple[UUID, str], int]:
        room = self._rooms.get(room_id)
        return dict(room.counts) if room else {}


async def close_peer_connection(pc: RTCPeerConnection, wait_s: float = 5) -> None:
    """``pc.close()``, bounded: if aiortc hangs while stopping a sender or receiver (seen under
    load), the connection's ICE sockets are closed directly so that nothing leaks and the room
    is not held up."""
    try:
        await asyncio.wait_for(pc.close(), wait_s)
        return
    except Exception:
        log.warning("a peer connection did not close cleanly; closing its sockets", exc_info=True)
    for transceiver in pc.getTransceivers():
        ice = getattr(transceiver.receiver.transport, "transport", None)
        connection = getattr(ice, "_connection", None)
        for protocol in list(getattr(connection, "_protocols", [])):
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                transport.close()


def _offered_kinds(offer_sdp: str) -> list[str]:
    try:
        media = SessionDescription.parse(offer_sdp).media
    except (ValueError, IndexError, KeyError) as exc:
        raise BadRequest("the offer is not valid SDP", code="bad_sdp") from exc
    kinds = [m.kind for m in media if m.kind in ("audio", "video")]
    if not kinds or len(kinds) > 2 or len(set(kinds)) != len(kinds):
        raise BadRequest("offer one audio and/or one video track", code="bad_sdp")
    return kinds


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


__all__ = ["AiortcMediaEngine", "FrameSink", "MediaEngine", "SessionPurpose"]
