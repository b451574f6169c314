"""The media engine: what carries participants' audio and video between them.

:class:`MediaEngine` is the seam a deployment uses to replace the built-in relay with an external
SFU (README: "Video hearings"). The built-in :class:`AiortcMediaEngine` terminates every peer
connection on this server: it receives each participant's tracks over a *publish* connection and
sends them to every other participant over one *subscribe* connection per (subscriber, publisher)
pair, so joining or leaving never renegotiates anybody else's connection.

It forwards what it receives without decoding or re-encoding it (an SFU): each publisher's
encoded VP8 pictures and Opus packets are tapped as they are reassembled
(hearings.video_aiortc) and handed, unchanged, to the recorder and to one bounded queue per
subscriber, which the subscriber's sender packetises again. The cost per outgoing stream is
packetising and encrypting, not encoding. Because nothing is re-encoded, every connection speaks
VP8 and Opus, a new subscriber (or the recorder starting a segment) waits for a key frame and
asks the publisher for one, and a subscriber's loss reports (PLI/FIR) are passed to the publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Protocol
from uuid import UUID

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import OperationError
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription, candidate_from_sdp
from av.packet import Packet

from backend.errors import BadRequest, Conflict, NotFound
from backend.settings import IceServer
from hearings.video_aiortc import EncodedFrame, on_keyframe_request, request_keyframe, tap_encoded

log = logging.getLogger("mobile_court.hearings.media")

#: Called for every frame a participant sends while the server holds the room:
#: (participant id, "audio" | "video", encoded frame). Must not block (the recorder queues it).
FrameSink = Callable[[UUID, str, EncodedFrame], None]

#: One 20 ms Opus frame of silence (CELT, fullband, mono; what browsers send for a muted track).
OPUS_SILENCE = b"\xf8\xff\xfe"
#: Per subscriber and track, about half a second (15 fps video, 20 ms Opus packets): a live
#: hearing is better served by a dropped picture than by one that comes late.
FORWARD_QUEUE_FRAMES = {"video": 8, "audio": 25}
#: Key frame requests to one publisher are at most this frequent (many subscribers may ask).
KEYFRAME_INTERVAL_S = 0.25
#: How long closing one peer connection may take before its sockets are closed directly.
CLOSE_WAIT_S = 3.0


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

    def request_keyframe(self, room_id: UUID, participant_id: UUID) -> None:
        """Ask the participant's camera for a key frame (a recording segment starts on one)."""
        ...

    def publishers(self, room_id: UUID) -> list[UUID]: ...

    def frames_received(self, room_id: UUID) -> dict[tuple[UUID, str], int]: ...


class _Source:
    """One received track (a publisher's camera or microphone, or a self-test's): the encoded
    frames arrive in :meth:`push` and fan out to the recorder and the subscribers' queues."""

    def __init__(
        self, kind: str, receiver: RTCRtpReceiver, sink: Callable[[EncodedFrame], None] | None
    ) -> None:
        self.kind = kind
        self.receiver = receiver
        self.subscribers: set[ForwardTrack] = set()
        self.muted = False
        self._sink = sink
        self._last_request = -KEYFRAME_INTERVAL_S
        self._requests: set[asyncio.Future[Any]] = set()
        tap_encoded(receiver, kind, self.push)

    def push(self, frame: EncodedFrame) -> None:
        if self.muted and self.kind == "audio":
            # Silence, not a gap: the others hear nothing and the record stays continuous.
            frame = replace(frame, data=OPUS_SILENCE)
        if self._sink is not None:
            self._sink(frame)
        for track in list(self.subscribers):
            track.offer(frame)

    def request_keyframe(self) -> None:
        now = time.monotonic()
        if self.kind != "video" or now - self._last_request < KEYFRAME_INTERVAL_S:
            return
        request = request_keyframe(self.receiver)
        if request is not None:
            self._last_request = now
            self._requests.add(request)
            request.add_done_callback(self._requests.discard)

    def subscribe(self) -> ForwardTrack:
        track = ForwardTrack(self)
        self.subscribers.add(track)
        self.request_keyframe()
        return track

    def stop(self) -> None:
        for track in list(self.subscribers):
            track.stop()
        for request in self._requests:
            request.cancel()


class ForwardTrack(MediaStreamTrack):
    """What one subscriber's sender reads: the publisher's encoded frames as ``av.Packet``s,
    which aiortc packetises without encoding. The queue is bounded and drops rather than
    delays: a subscriber that falls behind loses its oldest audio packets or, for video,
    everything up to the next key frame (which it asks for). Video starts at a key frame."""

    def __init__(self, source: _Source) -> None:
        super().__init__()
        self.kind = source.kind
        self._source = source
        self._frames: deque[EncodedFrame] = deque()
        self._ready = asyncio.Event()
        self._want_keyframe = source.kind == "video"
        self.dropped = 0

    def offer(self, frame: EncodedFrame) -> None:
        if self._want_keyframe:
            if not frame.keyframe:
                self._source.request_keyframe()
                return
            self._want_keyframe = False
        if len(self._frames) >= FORWARD_QUEUE_FRAMES[self.kind]:
            if self.kind == "audio":
                self._frames.popleft()
                self.dropped += 1
            else:
                self.dropped += len(self._frames)
                self._frames.clear()
                if not frame.keyframe:
                    self._want_keyframe = True
                    self._source.request_keyframe()
                    return
        self._frames.append(frame)
        self._ready.set()

    async def recv(self) -> Packet[Any]:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        if self.readyState != "live":
            raise MediaStreamError
        frame = self._frames.popleft()
        packet = Packet(frame.data)
        packet.pts = frame.timestamp
        packet.time_base = Fraction(1, frame.clock_rate)
        return packet

    def stop(self) -> None:
        # Wakes the sender's loop, which then ends on MediaStreamError: a bounded shutdown.
        super().stop()
        self._source.subscribers.discard(self)
        self._frames.clear()
        self._ready.set()


@dataclass
class _Session:
    session_id: str
    purpose: str
    pc: RTCPeerConnection
    publisher_id: UUID | None = None
    sources: list[_Source] = field(default_factory=list)  # what this connection receives
    tracks: list[ForwardTrack] = field(default_factory=list)  # what it sends
    # Set when answer() is done with the connection (either way): closing it earlier, while
    # ICE gathering opens its sockets, would leak them.
    negotiated: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Publisher:
    session_id: str
    sources: dict[str, _Source] = field(default_factory=dict)


@dataclass
class _Room:
    on_frame: FrameSink
    sessions: dict[tuple[UUID, str], _Session] = field(default_factory=dict)
    publishers: dict[UUID, _Publisher] = field(default_factory=dict)
    muted: set[UUID] = field(default_factory=set)
    counts: dict[tuple[UUID, str], int] = field(default_factory=dict)


def _prefer_forwardable(transceiver: RTCRtpTransceiver) -> None:
    """Forwarding needs one codec per kind on every connection: VP8 (every phone browser
    decodes it; with RTX for retransmissions) and Opus. Set before the remote description is
    applied (DESIGN §3); an offer without them is refused."""
    wanted = {"video": ("video/vp8", "video/rtx"), "audio": ("audio/opus",)}[transceiver.kind]
    codecs = RTCRtpSender.getCapabilities(transceiver.kind).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in wanted])


class AiortcMediaEngine:
    """The built-in forwarding relay: every connection terminates here (module docstring)."""

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
        if room is not None:
            await self._close_many(room, list(room.sessions.items()))

    def _room(self, room_id: UUID) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            raise NotFound("the hearing room is not open")
        return room

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
        kinds = _offered_kinds(offer_sdp)
        subscribed: _Publisher | None = None  # whose media a subscribe session receives
        if purpose == SessionPurpose.SUBSCRIBE:
            if publisher_id is not None and publisher_id != participant_id:
                subscribed = room.publishers.get(publisher_id)
            if subscribed is None:
                # Before any connection is made: offers for someone who has left cost little.
                raise NotFound("that participant is not sending media", code="not_publishing")
        pc = RTCPeerConnection(self._configuration())
        session = _Session(session_id, purpose, pc, publisher_id)
        room.sessions[(participant_id, session_id)] = session

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                # Only this connection's own session: a client may reuse the id at once for a
                # new connection, and this one's "closed" comes late (at the end of its close).
                await self._close(room, (participant_id, session_id), session)

        try:
            # Transceivers (and the taps on their receivers) are made before the offer is
            # applied, one per offered m-line, so codec preferences are in place when aiortc
            # negotiates (DESIGN §3) and no frame reaches a decoder.
            if purpose == SessionPurpose.PUBLISH:
                await self._prepare_publish(room, participant_id, session, kinds)
            elif subscribed is not None:
                self._prepare_subscribe(subscribed, session, kinds)
            else:
                self._prepare_loopback(session, kinds)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except (ValueError, OperationError) as exc:
                raise BadRequest(
                    f"the offer is not usable (VP8 video and Opus audio are required): {exc}",
                    code="bad_sdp",
                ) from exc
            if room.sessions.get((participant_id, session_id)) is not session:
                raise NotFound("the media session was closed", code="no_session")
            if purpose == SessionPurpose.PUBLISH:
                self._start_publish(room, participant_id, session)
            await pc.setLocalDescription(await pc.createAnswer())
        except BaseException:
            session.negotiated.set()
            await self._close(room, (participant_id, session_id), session)
            raise
        session.negotiated.set()
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
            _prefer_forwardable(transceiver)
            session.sources.append(
                _Source(kind, transceiver.receiver, self._sink(room, participant_id, kind))
            )

    def _sink(self, room: _Room, participant_id: UUID, kind: str) -> Callable[[EncodedFrame], None]:
        key = (participant_id, kind)

        def sink(frame: EncodedFrame) -> None:
            room.counts[key] = room.counts.get(key, 0) + 1
            room.on_frame(participant_id, kind, frame)

        return sink

    def _start_publish(self, room: _Room, participant_id: UUID, session: _Session) -> None:
        publisher = _Publisher(session.session_id)
        negotiated = {t.kind for t in session.pc.getTransceivers() if t.mid is not None}
        for source in session.sources:
            if source.kind in negotiated:
                source.muted = participant_id in room.muted
                publisher.sources[source.kind] = source
        room.publishers[participant_id] = publisher

    def _prepare_subscribe(
        self, publisher: _Publisher, session: _Session, kinds: list[str]
    ) -> None:
        for kind in kinds:
            source = publisher.sources.get(kind)
            if source is None:
                # The publisher sends no such track: answer the m-line without media.
                _prefer_forwardable(session.pc.addTransceiver(kind, direction="sendonly"))
                continue
            self._send(session, source, "sendonly")

    def _prepare_loopback(self, session: _Session, kinds: list[str]) -> None:
        # The self-test forwards the phone's own frames back to it, exactly like a subscriber.
        for kind in kinds:
            transceiver = session.pc.addTransceiver(kind, direction="sendrecv")
            _prefer_forwardable(transceiver)
            source = _Source(kind, transceiver.receiver, None)
            session.sources.append(source)
            track = source.subscribe()
            session.tracks.append(track)
            transceiver.sender.replaceTrack(track)
            on_keyframe_request(transceiver.sender, source.request_keyframe)

    @staticmethod
    def _send(session: _Session, source: _Source, direction: str) -> None:
        track = source.subscribe()
        session.tracks.append(track)
        transceiver = session.pc.addTransceiver(track, direction=direction)
        _prefer_forwardable(transceiver)
        # The subscriber's picture-loss reports go to the publisher, the only encoder there is.
        on_keyframe_request(transceiver.sender, source.request_keyframe)

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
        if room is not None:
            mine = [(k, s) for k, s in room.sessions.items() if k[0] == participant_id]
            await self._close_many(room, mine)

    async def _close_many(
        self, room: _Room, sessions: list[tuple[tuple[UUID, str], _Session]]
    ) -> None:
        await asyncio.gather(*(self._close(room, key, session) for key, session in sessions))

    async def _close(
        self, room: _Room, key: tuple[UUID, str], expected: _Session | None = None
    ) -> None:
        """Close one session (only if it is ``expected``, when given), bounded in time.
        Everything that could keep aiortc's loops running is stopped first and synchronously
        (forwarded tracks end their senders' loops; sources drop their subscribers), then the
        connection is closed."""
        session = room.sessions.get(key)
        if session is None or (expected is not None and session is not expected):
            return
        del room.sessions[key]
        participant_id = key[0]
        dependants: list[tuple[tuple[UUID, str], _Session]] = []
        publisher = room.publishers.get(participant_id)
        if publisher is not None and publisher.session_id == session.session_id:
            del room.publishers[participant_id]
            # Subscribers of this publisher are finished too: their tracks just ended.
            dependants = [
                (k, s) for k, s in room.sessions.items() if s.publisher_id == participant_id
            ]
        for track in session.tracks:
            track.stop()
        for source in session.sources:
            source.stop()
        if not session.negotiated.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.negotiated.wait(), CLOSE_WAIT_S)
        await asyncio.gather(close_peer_connection(session.pc), self._close_many(room, dependants))

    def set_muted(self, room_id: UUID, participant_id: UUID, muted: bool) -> None:
        room = self._room(room_id)
        if muted:
            room.muted.add(participant_id)
        else:
            room.muted.discard(participant_id)
        publisher = room.publishers.get(participant_id)
        if publisher is not None and "audio" in publisher.sources:
            publisher.sources["audio"].muted = muted

    def request_keyframe(self, room_id: UUID, participant_id: UUID) -> None:
        room = self._rooms.get(room_id)
        publisher = room.publishers.get(participant_id) if room else None
        if publisher is not None and "video" in publisher.sources:
            publisher.sources["video"].request_keyframe()

    def publishers(self, room_id: UUID) -> list[UUID]:
        room = self._rooms.get(room_id)
        return list(room.publishers) if room else []

    def frames_received(self, room_id: UUID) -> dict[tuple[UUID, str], int]:
        room = self._rooms.get(room_id)
        return dict(room.counts) if room else {}


async def close_peer_connection(pc: RTCPeerConnection, wait_s: float = CLOSE_WAIT_S) -> None:
    """``pc.close()``, bounded: if aiortc hangs while stopping a sender or receiver (seen under
    load), the connection's ICE sockets are closed directly so that nothing leaks and the room
    is not held up."""
    for transceiver in pc.getTransceivers():
        track = transceiver.sender.track
        if track is not None:
            # The sender's loop waits on its track: ending the track ends the loop at once
            # instead of whenever the next frame would have come.
            track.stop()
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


__all__ = [
    "AiortcMediaEngine",
    "ForwardTrack",
    "FrameSink",
    "MediaEngine",
    "SessionPurpose",
    "close_peer_connection",
]
