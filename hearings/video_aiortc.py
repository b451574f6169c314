"""The one place that reaches into aiortc's internals, so the server can forward encoded media.

aiortc's public API decodes everything it receives and encodes everything it sends (DESIGN §3).
A forwarding server (SFU) needs neither; aiortc 1.16 supports half of it publicly — a track whose
``recv()`` returns an ``av.Packet`` is packetised without encoding (``RTCRtpSender.
_next_encoded_frame`` → ``encoder.pack``) — and this module supplies the other half:

- :func:`tap_encoded` swaps a receiver's decoder input queue (a name-mangled attribute) for one
  that hands each reassembled frame to a callback instead of the decoder thread. The thread still
  starts and stops as usual; it just never gets anything to decode.
- :func:`request_keyframe` sends a PLI to whoever sends to a receiver (a new subscriber, a
  lossy subscriber or a recording segment needs a picture that decodes on its own).
- :func:`on_keyframe_request` hooks a sender's PLI/FIR handling, which for pre-encoded media
  would otherwise only set an encoder flag nobody reads.

Pinned in pyproject (``aiortc>=1.16,<1.17``); tests/hearings/test_video_aiortc.py fails loudly
when an aiortc upgrade moves any of this.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpReceiver, RTCRtpSender

log = logging.getLogger("mobile_court.hearings.aiortc")

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_DECODER_THREAD = "_RTCRtpReceiver__decoder_thread"


class AiortcChanged(RuntimeError):
    """aiortc no longer looks the way this adapter expects (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One complete encoded frame as it arrived: VP8 picture or Opus packet."""

    kind: str  # "audio" | "video"
    codec: str  # "VP8" | "opus"
    data: bytes
    timestamp: int  # RTP clock, counted from the stream's first frame
    clock_rate: int

    @property
    def keyframe(self) -> bool:
        # VP8 frame tag (RFC 6386 §9.1): bit 0 of the first byte is 0 for a key frame.
        # Every Opus packet decodes on its own.
        return self.kind == "audio" or (bool(self.data) and not self.data[0] & 0x01)


EncodedSink = Callable[[EncodedFrame], None]


class _TapQueue(queue.Queue[Any]):
    """Stands in for the receiver's decoder queue: frames go to the sink on the event loop (the
    receiver puts them from its RTP handler); only the end-of-stream ``None`` reaches the
    decoder thread, which then ends the track as it always does."""

    def __init__(self, kind: str, sink: EncodedSink) -> None:
        super().__init__()
        self._kind = kind
        self._sink = sink

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
            return
        codec, jitter_frame = item
        frame = EncodedFrame(
            self._kind, codec.name, jitter_frame.data, jitter_frame.timestamp, codec.clockRate
        )
        try:
            self._sink(frame)
        except Exception:  # never let a forwarding bug break aiortc's RTP handling
            log.exception("forwarding an encoded %s frame failed", self._kind)


def tap_encoded(receiver: RTCRtpReceiver, kind: str, sink: EncodedSink) -> None:
    """Send the receiver's encoded frames to ``sink`` instead of decoding them. Must be called
    before the receiver starts (before the connection is established)."""
    if not isinstance(getattr(receiver, _DECODER_QUEUE, None), queue.Queue):
        raise AiortcChanged("RTCRtpReceiver has no decoder queue to tap")
    if getattr(receiver, _DECODER_THREAD, None) is not None:
        raise AiortcChanged("the receiver already started decoding")
    setattr(receiver, _DECODER_QUEUE, _TapQueue(kind, sink))


def request_keyframe(receiver: RTCRtpReceiver) -> asyncio.Future[Any] | None:
    """Ask the remote sender for a key frame (RTCP PLI, RFC 4585 §6.3.1) on every stream the
    receiver heard in the last seconds. Returns the sending task, None if nothing to ask."""
    sources = [s.source for s in receiver.getSynchronizationSources()]
    if not sources:
        return None
    send_pli = receiver._send_rtcp_pli
    return asyncio.ensure_future(asyncio.gather(*(send_pli(ssrc) for ssrc in sources)))


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the remote receiver reports picture loss (PLI) or asks for a full
    picture (FIR). aiortc handles both by calling ``self._send_keyframe()``; an instance
    attribute takes precedence over the method."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        raise AiortcChanged("RTCRtpSender has no _send_keyframe hook")
    sender._send_keyframe = callback  # type: ignore[method-assign]


__all__ = [
    "AiortcChanged",
    "EncodedFrame",
    "EncodedSink",
    "on_keyframe_request",
    "request_keyframe",
    "tap_encoded",
]
