"""A hearing participant as a phone would be: signaling WebSocket plus aiortc peer connections
sending synthetic frames with their frame index painted into the pixels. Used by the video tests,
the video bench and the scripted demo (which talks to a real server over aiohttp)."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from av import VideoFrame

from hearings.video_aiortc import EncodedFrame, tap_encoded
from hearings.video_media import close_peer_connection

ORIGIN = "http://127.0.0.1:8080"
BITS = 12
BAR_ROWS = 0.5  # top half carries the index


class NumberedVideoTrack(MediaStreamTrack):
    """Frames whose top half shows the frame index as 12 black/white bars (big enough to
    survive VP8); ``sent_at[index]`` keeps when each left, for latency figures."""

    kind = "video"

    def __init__(self, width: int = 160, height: int = 120, fps: int = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.index = 0
        self.sent_at: dict[int, float] = {}
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self.index / self.fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        index = self.index % (1 << BITS)
        image = np.full((self.height, self.width, 3), 128, np.uint8)
        bar = self.width // BITS
        top = int(self.height * BAR_ROWS)
        for bit in range(BITS):
            value = 255 if index >> (BITS - 1 - bit) & 1 else 0
            image[:top, bit * bar : (bit + 1) * bar] = value
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = self.index * (90000 // self.fps)
        frame.time_base = fractions.Fraction(1, 90000)
        self.sent_at[index] = time.time()
        self.index += 1
        return frame


def read_index(frame: VideoFrame) -> int:
    gray = frame.to_ndarray(format="gray")
    height, width = gray.shape
    bar = width // BITS
    top = int(height * BAR_ROWS)
    value = 0
    for bit in range(BITS):
        strip = gray[2 : top - 2, bit * bar + 2 : (bit + 1) * bar - 2]
        value = value << 1 | int(strip.mean() > 128)
    return value


class Participant:
    def __init__(
        self,
        http: Any,
        path: str,
        token: str,
        *,
        size: tuple[int, int] = (160, 120),
        fps: int = 15,
        audio: bool = True,
        decode: bool = True,
    ) -> None:
        self.http, self.path, self.token = http, path, token
        self.size, self.fps, self.audio = size, fps, audio
        # decode=False (the benchmark): subscriptions read the encoded frames instead of
        # decoding every one — only key frames are decoded, to anchor the painted index, and
        # the others' indices follow from their RTP timestamps — so the peers' CPU stays small
        # next to the server's.
        self.decode = decode
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.messages: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.pcs: dict[str, RTCPeerConnection] = {}
        self.tasks: list[asyncio.Task[Any]] = []
        self.track: NumberedVideoTrack | None = None
        # publisher participant id → [(frame index, arrival time)]
        self.received: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.loopback: list[int] = []
        self.participant_id: str | None = None
        self._counter = 0
        self._negotiations: set[asyncio.Task[Any]] = set()

    async def connect(self, *, origin: str = ORIGIN) -> dict[str, Any]:
        self.ws = await self.http.ws_connect(self.path, headers={"Origin": origin})
        await self.ws.send_json({"type": "auth", "token": self.token})
        self._reader = asyncio.create_task(self._read())
        first = await self.wait_for(lambda m: m["type"] in ("welcome", "error"))
        if first["type"] == "welcome":
            self.participant_id = first["participant_id"]
        return first

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            self._arrive(json.loads(msg.data))
        self._arrive({"type": "_closed", "code": self.ws.close_code})

    def _arrive(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        # A fresh event per message, not an asyncio.Condition: a waiter cancelled inside
        # Condition.wait() must re-acquire its lock before it can end, and stop_media once hung
        # for good cancelling the publisher watcher that way.
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    async def wait_for(self, match: Any, wait_s: float = 10, *, after: int = 0) -> dict[str, Any]:
        return (await self._wait_at(match, wait_s, after=after))[1]

    async def _wait_at(
        self, match: Any, wait_s: float, *, after: int
    ) -> tuple[int, dict[str, Any]]:
        """The first message from position ``after`` on that matches, and its position."""
        deadline = time.monotonic() + wait_s
        while True:
            for position in range(after, len(self.messages)):
                if match(self.messages[position]):
                    return position, self.messages[position]
            after = max(after, len(self.messages))
            await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - time.monotonic()))

    def send(self, message: dict[str, Any]) -> Any:
        assert self.ws is not None
        return self.ws.send_json(message)

    async def _negotiate(
        self, pc: RTCPeerConnection, purpose: str, publisher: str | None = None
    ) -> dict[str, Any]:
        # Runs to its end even if the caller is cancelled (stop_media waits for it): a
        # connection closed halfway through ICE gathering would leak its sockets.
        task = asyncio.ensure_future(self._offer(pc, purpose, publisher))
        self._negotiations.add(task)
        task.add_done_callback(self._negotiation_done)
        return await asyncio.shield(task)

    def _negotiation_done(self, task: asyncio.Task[Any]) -> None:
        self._negotiations.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a failure is the caller's to see, if it still waits

    async def _offer(
        self, pc: RTCPeerConnection, purpose: str, publisher: str | None = None
    ) -> dict[str, Any]:
        self._counter += 1
        session = f"{purpose}-{self._counter}"
        self.pcs[session] = pc
        await pc.setLocalDescription(await pc.createOffer())
        mark = len(self.messages)
        body = {
            "type": "offer",
            "session_id": session,
            "purpose": purpose,
            "sdp": pc.localDescription.sdp,
        }
        if publisher:
            body["publisher_id"] = publisher
        await self.send(body)
        reply = await self.wait_for(
            lambda m: m.get("session_id") == session and m["type"] in ("answer", "error"),
            after=mark,
        )
        if reply["type"] == "answer":
            await pc.setRemoteDescription(RTCSessionDescription(reply["sdp"], "answer"))
        return reply

    def _pc(self) -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(iceServers=[]))

    async def publish(self) -> dict[str, Any]:
        pc = self._pc()
        self.track = NumberedVideoTrack(*self.size, fps=self.fps)
        if self.audio:
            pc.addTrack(AudioStreamTrack())
        pc.addTrack(self.track)
        return await self._negotiate(pc, "publish")

    async def loopback_test(self) -> dict[str, Any]:
        pc = self._pc()
        pc.addTrack(NumberedVideoTrack(*self.size, fps=self.fps))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self.tasks.append(asyncio.create_task(self._collect(track, self.loopback, None)))

        return await self._negotiate(pc, "loopback")

    async def subscribe(self, publisher: str) -> dict[str, Any]:
        pc = self._pc()
        audio = pc.addTransceiver("audio", direction="recvonly")
        video = pc.addTransceiver("video", direction="recvonly")
        sink = self.received[publisher]
        if not self.decode:
            tap_encoded(audio.receiver, "audio", lambda frame: None)
            tap_encoded(video.receiver, "video", self._index_by_timestamp(sink))
            return await self._negotiate(pc, "subscribe", publisher)
        blackhole = MediaBlackhole()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video":
                self.tasks.append(asyncio.create_task(self._collect(track, None, sink)))
            else:
                blackhole.addTrack(track)
                self.tasks.append(asyncio.create_task(blackhole.start()))

        return await self._negotiate(pc, "subscribe", publisher)

    def _index_by_timestamp(self, timed: list[tuple[int, float]]) -> Callable[[EncodedFrame], None]:
        decoder = av.CodecContext.create("vp8", "r")
        step = 90000 // self.fps  # NumberedVideoTrack's pts step, kept by every hop
        anchor: list[int] = []  # [index, timestamp] of the last key frame

        def sink(frame: EncodedFrame) -> None:
            if frame.keyframe:
                pictures = decoder.decode(av.Packet(frame.data))
                if pictures:
                    anchor[:] = [read_index(pictures[0]), frame.timestamp]
            if anchor:
                index = anchor[0] + round((frame.timestamp - anchor[1]) / step)
                timed.append((index % (1 << BITS), time.time()))

        return sink

    async def _collect(
        self,
        track: MediaStreamTrack,
        plain: list[int] | None,
        timed: list[tuple[int, float]] | None,
    ) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, VideoFrame)  # video tracks only
                index = read_index(frame)
                if plain is not None:
                    plain.append(index)
                if timed is not None:
                    timed.append((index, time.time()))

    async def follow_publishers(self) -> None:
        """Subscribe to everyone already publishing and to whoever publishes later."""
        welcome = next(m for m in reversed(self.messages) if m["type"] == "welcome")
        seen: set[str] = set()
        for publisher in welcome["publishers"]:
            if publisher != self.participant_id:
                seen.add(publisher)
                await self.subscribe(publisher)

        async def watch() -> None:
            index = len(self.messages)
            while True:
                # By position: equal messages (the same participant publishing again after a
                # rejoin) must each be seen once.
                position, message = await self._wait_at(
                    lambda m: m["type"] == "published", wait_s=3600, after=index
                )
                index = position + 1
                publisher = message["participant_id"]
                if publisher != self.participant_id:
                    self.received[publisher].clear()
                    await self.subscribe(publisher)

        self.tasks.append(asyncio.create_task(watch()))

    async def frames_from(self, publisher: str, count: int, wait_s: float = 20) -> None:
        deadline = time.monotonic() + wait_s
        while len(self.received[publisher]) < count:
            assert time.monotonic() < deadline, (
                f"{len(self.received[publisher])} frames from {publisher}, wanted {count}"
            )
            await asyncio.sleep(0.05)

    async def stop_media(self) -> None:
        if self._negotiations:
            await asyncio.wait(list(self._negotiations), timeout=15)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        self.tasks.clear()
        for pc in self.pcs.values():
            await close_peer_connection(pc)
        self.pcs.clear()

    async def close(self) -> None:
        await self.stop_media()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await self._reader
