"""The aiortc adapter (hearings.video_aiortc) against the installed aiortc: fails loudly when an
upgrade moves the internals the forwarding server relies on."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket
from av.packet import Packet

from hearings.video_aiortc import (
    AiortcChanged,
    EncodedFrame,
    on_keyframe_request,
    request_keyframe,
    tap_encoded,
)
from hearings.video_media import OPUS_SILENCE, ForwardTrack, _Source, close_peer_connection
from tests.hearings.video_client import NumberedVideoTrack

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=97)


def _pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def test_tap_hands_frames_to_the_sink_and_only_the_end_to_the_decoder() -> None:
    pc = _pc()
    receiver = pc.addTransceiver("video", direction="recvonly").receiver
    got: list[EncodedFrame] = []
    tap_encoded(receiver, "video", got.append)
    decoder_queue = receiver._RTCRtpReceiver__decoder_queue  # type: ignore[attr-defined]
    decoder_queue.put((VP8, JitterFrame(b"\x10\x02\x00\x9d\x01\x2a", 3000)))
    decoder_queue.put((VP8, JitterFrame(b"\x31\x02\x00", 6000)))
    assert [(f.codec, f.timestamp, f.clock_rate, f.keyframe) for f in got] == [
        ("VP8", 3000, 90000, True),
        ("VP8", 6000, 90000, False),
    ]
    assert decoder_queue.empty()  # nothing was left for a decoder
    decoder_queue.put(None)
    assert decoder_queue.get_nowait() is None  # the end still reaches the decoder thread
    with pytest.raises(AiortcChanged):
        tap_encoded(object(), "video", got.append)  # type: ignore[arg-type]
    await pc.close()


async def test_sender_keyframe_hook_sees_pli_and_fir() -> None:
    pc = _pc()
    sender = pc.addTransceiver("video", direction="sendonly").sender
    asked: list[int] = []
    on_keyframe_request(sender, lambda: asked.append(1))
    for fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
        await sender._handle_rtcp_packet(RtcpPsfbPacket(fmt=fmt, ssrc=1, media_ssrc=sender._ssrc))
    assert asked == [1, 1]
    await pc.close()


async def test_encoded_frames_flow_without_decoding_and_a_pli_brings_a_keyframe() -> None:
    """A real connection: the tapped receiver sees VP8 frames (the first a key frame), its
    track gets no decoded frame, and a PLI makes the remote encoder send a key frame."""
    sender_pc, receiver_pc = _pc(), _pc()
    track = NumberedVideoTrack(160, 120, fps=15)
    sender_pc.addTrack(track)
    transceiver = receiver_pc.addTransceiver("video", direction="recvonly")
    frames: list[EncodedFrame] = []
    got_keyframe = asyncio.Event()

    def sink(frame: EncodedFrame) -> None:
        frames.append(frame)
        if frame.keyframe and len(frames) > 1:
            got_keyframe.set()

    tap_encoded(transceiver.receiver, "video", sink)
    try:
        await sender_pc.setLocalDescription(await sender_pc.createOffer())
        await receiver_pc.setRemoteDescription(sender_pc.localDescription)
        await receiver_pc.setLocalDescription(await receiver_pc.createAnswer())
        await sender_pc.setRemoteDescription(receiver_pc.localDescription)
        for _ in range(200):
            if len(frames) >= 10:
                break
            await asyncio.sleep(0.05)
        assert len(frames) >= 10
        assert frames[0].keyframe and not any(f.keyframe for f in frames[1:10])
        assert all(f.codec == "VP8" for f in frames)
        assert transceiver.receiver.track._queue.empty()  # type: ignore[union-attr]
        # aiortc's encoder makes a key frame only every 3000 frames unless asked.
        request = request_keyframe(transceiver.receiver)
        assert request is not None
        await asyncio.wait_for(got_keyframe.wait(), 10)
    finally:
        await asyncio.gather(close_peer_connection(sender_pc), close_peer_connection(receiver_pc))


async def test_forward_track_starts_on_a_keyframe_bounds_its_queue_and_mutes() -> None:
    pc = _pc()
    video = _Source("video", pc.addTransceiver("video", direction="recvonly").receiver, None)
    audio_seen: list[bytes] = []
    audio = _Source(
        "audio",
        pc.addTransceiver("audio", direction="recvonly").receiver,
        lambda f: audio_seen.append(f.data),
    )
    track = video.subscribe()
    delta = EncodedFrame("video", "VP8", b"\x31\x00\x00", 0, 90000)
    key = EncodedFrame("video", "VP8", b"\x10\x02\x00\x9d\x01\x2a", 3000, 90000)
    video.push(delta)  # before any key frame: useless to the subscriber
    video.push(key)
    packet: Any = await track.recv()
    assert isinstance(packet, Packet) and bytes(packet) == key.data
    assert packet.pts == 3000 and packet.time_base == Fraction(1, 90000)
    # A subscriber that falls behind drops to the next key frame instead of lagging.
    for n in range(100):
        video.push(EncodedFrame("video", "VP8", b"\x31\x00\x00", 6000 + n, 90000))
    assert isinstance(track, ForwardTrack) and track.dropped > 0
    video.push(key)
    assert bytes(await track.recv()) == key.data
    # A muted microphone is forwarded (and recorded) as Opus silence.
    listener = audio.subscribe()
    audio.muted = True
    audio.push(EncodedFrame("audio", "opus", b"\xfc\x01\x02\x03", 960, 48000))
    assert audio_seen == [OPUS_SILENCE] and bytes(await listener.recv()) == OPUS_SILENCE
    # Stopping ends the sender's loop at once.
    video.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(track.recv(), 1)
    await pc.close()
