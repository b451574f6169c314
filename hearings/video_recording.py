"""The court recording: every participant's audio and video, in chained, crash-safe segments.

Court recording rules (LEGAL §4): the whole hearing from opening to closing; pauses only with a
logged reason; the record must stay authentic and complete. So:

- the participants' encoded frames (VP8 pictures, Opus packets, exactly as forwarded to the
  others) are handed from the event loop to one writer thread through a bounded queue and muxed
  into Matroska there (PyAV), never decoded or encoded, never on the loop;
- every ``segment_s`` seconds each open file (one per participant and track) is finished:
  container closed, file fsynced, renamed from its temp name, folder fsynced. A video file starts
  on a key frame so that it decodes on its own: at the cut the recorder asks the camera for one
  and keeps writing the old file until it comes (usually within a round trip). A file with a
  final name is therefore always complete; a SIGKILL loses at most the unfinished window;
- each finished file is SHA-256 hashed and chained: ``chain = SHA-256(prev_chain ‖ canonical
  description)`` (seq, participant, track, name, size, frame count, wall-clock span, file hash);
  the link is appended (fsynced) to ``chain.jsonl`` in the folder and reported to the loop, which
  stores it as a hearing record row. The journal covers the moment between rename and database
  commit; :func:`verify` checks files against either.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any
from uuid import UUID

import av

from hearings.video_aiortc import EncodedFrame

log = logging.getLogger("mobile_court.hearings.recording")

GENESIS = "0" * 64
JOURNAL = "chain.jsonl"
MANIFEST = "manifest.json"
QUEUE_FRAMES = 2000  # ~10 s of six participants' audio and video before frames are dropped


@dataclass(frozen=True)
class SegmentLink:
    hearing_id: str
    seq: int
    participant_id: str
    kind: str
    file_name: str
    size: int
    frames: int
    started_at: str  # ISO 8601 UTC, wall clock of the first and last frame
    ended_at: str
    sha256: str
    prev_hash: str
    chain_hash: str = ""

    def canonical(self) -> bytes:
        body = asdict(self)
        body.pop("chain_hash")
        body.pop("prev_hash")
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def computed_chain_hash(self) -> str:
        return hashlib.sha256(self.prev_hash.encode() + self.canonical()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename, fsync the folder: the name only ever points at whole data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


#: OpusHead (RFC 7845 §5.1): version 1, 2 channels, 312 samples pre-skip, 48 kHz, no gain,
#: mapping family 0 — what WebRTC's Opus is (RFC 7587 signals it as 2 channels).
OPUS_HEAD = b"OpusHead\x01\x02" + (312).to_bytes(2, "little") + (48000).to_bytes(4, "little")
OPUS_HEAD += bytes(3)
MS = Fraction(1, 1000)


def vp8_size(keyframe: bytes) -> tuple[int, int]:
    """Width and height from a VP8 key frame header (RFC 6386 §9.1)."""
    if len(keyframe) < 10 or keyframe[3:6] != b"\x9d\x01\x2a":
        raise ValueError("not a VP8 key frame")
    width = int.from_bytes(keyframe[6:8], "little") & 0x3FFF
    height = int.from_bytes(keyframe[8:10], "little") & 0x3FFF
    return width, height


class _TrackWriter:
    """One participant's track in the current window: an open Matroska file the encoded frames
    are muxed into as they are (no decoding, no encoding)."""

    def __init__(self, directory: Path, stem: str, first: EncodedFrame) -> None:
        self.kind = first.kind
        self.final = directory / f"{stem}.mkv"
        self.tmp = directory / f".{stem}.mkv.tmp"
        self.container = av.open(str(self.tmp), mode="w", format="matroska")
        self.frames = 0
        self.first_wall: float | None = None
        self.last_wall = 0.0
        self.rolling = False  # the window is over; finish at the next key frame
        self._first_ts = first.timestamp
        self._clock = first.clock_rate
        self._last_pts = -1
        stream: Any
        if self.kind == "video":
            stream = self.container.add_stream("vp8", rate=15)
            stream.width, stream.height = vp8_size(first.data)
        else:
            stream = self.container.add_stream("opus", rate=48000)
            stream.codec_context.layout = "stereo"
            stream.codec_context.extradata = OPUS_HEAD
        stream.time_base = MS
        self.stream = stream

    def write(self, frame: EncodedFrame, wall: float) -> None:
        if self.first_wall is None:
            self.first_wall = wall
        self.last_wall = wall
        packet = av.Packet(frame.data)
        # Presentation time from the sender's media clock (what the RTP timestamps say).
        pts = (frame.timestamp - self._first_ts) * 1000 // self._clock
        packet.pts = packet.dts = self._last_pts = max(pts, self._last_pts + 1)
        packet.time_base = MS
        packet.stream = self.stream
        packet.is_keyframe = frame.keyframe
        self.container.mux(packet)
        self.frames += 1

    def finish(self) -> tuple[Path, int]:
        self.container.close()
        with self.tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.final)
        return self.final, self.final.stat().st_size

    def abandon(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()
        self.tmp.unlink(missing_ok=True)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds")


class SegmentRecorder:
    """Records one hearing. ``submit`` is called on the event loop; everything else runs on the
    writer thread. ``on_segment`` is called on the loop for every finished, chained segment and
    ``want_keyframe`` (participant id) when a video file needs a key frame to start on."""

    #: A video stream silent this long at a cut has stopped: its file is finished at once.
    IDLE_S = 1.0

    def __init__(
        self,
        hearing_id: UUID,
        directory: Path,
        segment_s: float,
        on_segment: Callable[[SegmentLink], None],
        want_keyframe: Callable[[UUID], None],
        *,
        next_seq: int = 1,
        prev_hash: str = GENESIS,
    ) -> None:
        self.hearing_id = hearing_id
        self.directory = directory
        self.segment_s = segment_s
        self._on_segment = on_segment
        self._want_keyframe = want_keyframe
        self._loop = asyncio.get_running_loop()
        # Callbacks run in the creator's context (it carries the ORM context the rows need).
        self._context = contextvars.copy_context()
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(QUEUE_FRAMES)
        self._seq = next_seq
        self._next_name = next_seq
        self._prev = prev_hash
        self._writers: dict[tuple[str, str], _TrackWriter] = {}
        self._paused = False
        self.frames_submitted: dict[tuple[UUID, str], int] = {}
        self.frames_dropped = 0
        #: Video frames that arrived while a file waited for its first key frame (written by
        #: the writer thread, read for reports).
        self.frames_skipped = 0
        self._thread = threading.Thread(
            target=self._run, name=f"recorder-{hearing_id}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ event-loop side

    @property
    def paused(self) -> bool:
        return self._paused

    def submit(self, participant_id: UUID, kind: str, frame: EncodedFrame) -> None:
        if self._paused:
            return
        try:
            self._queue.put_nowait(("frame", (participant_id, kind, frame, time.time())))
        except queue.Full:
            # Never block the loop; a drop is counted and logged as an equipment problem.
            self.frames_dropped += 1
            if self.frames_dropped % 100 == 1:
                log.error("recorder queue full: %d frames dropped", self.frames_dropped)
            return
        key = (participant_id, kind)
        self.frames_submitted[key] = self.frames_submitted.get(key, 0) + 1

    def pause(self) -> None:
        """Stop taking frames and finish the open files, so no segment spans a pause."""
        self._paused = True
        self._put(("cut", None))

    def resume(self) -> None:
        self._paused = False

    async def stop(self) -> None:
        """Finish every open file and wait for the writer thread."""
        self._paused = True
        self._put(None)
        await asyncio.to_thread(self._thread.join)

    def _put(self, item: tuple[str, Any] | None) -> None:
        # Control messages must get through even when the queue is full of frames.
        while True:
            try:
                self._queue.put(item, timeout=1)
                return
            except queue.Full:
                log.error("recorder queue full while sending a control message")

    def _call_loop(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed at interpreter exit
            self._loop.call_soon_threadsafe(callback, *args, context=self._context)

    # ---------------------------------------------------------------- writer thread side

    def _run(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        next_cut = time.monotonic() + self.segment_s
        while True:
            timeout = max(0.0, next_cut - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ("tick", None)
            if item is None:
                self._finish_all()
                return
            what, payload = item
            if what == "frame":
                try:
                    self._write(*payload)
                except Exception:
                    log.exception("recorder could not write a frame")
            elif what == "cut":
                self._finish_all()
            if time.monotonic() >= next_cut:
                self._end_window()
                next_cut = time.monotonic() + self.segment_s

    def _write(self, participant_id: UUID, kind: str, frame: EncodedFrame, wall: float) -> None:
        key = (str(participant_id), kind)
        writer = self._writers.get(key)
        if writer is not None and writer.rolling and frame.keyframe:
            self._finish(key)
            writer = None
        if writer is None:
            if not frame.keyframe:
                # A video file must start on a key frame to decode on its own.
                self.frames_skipped += 1
                self._call_loop(self._want_keyframe, participant_id)
                return
            stem = f"{self._next_name:06d}-{participant_id}-{kind}"
            self._next_name += 1
            writer = self._writers[key] = _TrackWriter(self.directory, stem, frame)
        writer.write(frame, wall)

    def _end_window(self) -> None:
        idle_since = time.time() - self.IDLE_S
        for key, writer in sorted(self._writers.items()):
            if writer.kind == "audio" or writer.rolling or writer.last_wall < idle_since:
                # Audio cuts anywhere; a video file that waited a whole window for a key
                # frame, or whose camera stopped, ends now.
                self._finish(key)
            else:
                writer.rolling = True
                self._call_loop(self._want_keyframe, UUID(key[0]))

    def _finish_all(self) -> None:
        for key in sorted(self._writers):
            self._finish(key)

    def _finish(self, key: tuple[str, str]) -> None:
        writer = self._writers.pop(key)
        if writer.frames == 0 or writer.first_wall is None:
            writer.abandon()
            return
        try:
            path, size = writer.finish()
        except Exception:
            log.exception("recorder could not finish a segment")
            writer.abandon()
            return
        _fsync_dir(self.directory)
        link = SegmentLink(
            hearing_id=str(self.hearing_id),
            seq=self._seq,
            participant_id=key[0],
            kind=key[1],
            file_name=path.name,
            size=size,
            frames=writer.frames,
            started_at=_iso(writer.first_wall),
            ended_at=_iso(writer.last_wall),
            sha256=file_sha256(path),
            prev_hash=self._prev,
        )
        link = SegmentLink(**{**asdict(link), "chain_hash": link.computed_chain_hash()})
        self._journal(link)
        self._seq += 1
        self._prev = link.chain_hash
        self._call_loop(self._on_segment, link)

    def _journal(self, link: SegmentLink) -> None:
        with (self.directory / JOURNAL).open("a") as fh:
            fh.write(json.dumps(asdict(link), sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read_journal(directory: Path) -> list[SegmentLink]:
    """Links from the folder's journal; a torn last line (killed mid-write) is ignored."""
    path = directory / JOURNAL
    if not path.exists():
        return []
    links = []
    for line in path.read_text().splitlines():
        try:
            links.append(SegmentLink(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return links


def count_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams[0]))


def verify(directory: Path, links: list[SegmentLink], *, decode: bool = True) -> list[str]:
    """Problems found checking ``links`` (in sequence order) against the files; [] when intact:
    every file present with its hash, every link chained to the one before, every file decodable
    with the recorded number of frames."""
    problems: list[str] = []
    prev = GENESIS if not links or links[0].seq == 1 else links[0].prev_hash
    expected_seq = links[0].seq if links else 1
    for link in links:
        where = f"segment {link.seq}"
        if link.seq != expected_seq:
            problems.append(f"{where}: expected sequence number {expected_seq}")
        expected_seq = link.seq + 1
        if link.prev_hash != prev:
            problems.append(f"{where}: does not chain to the segment before it")
        if link.computed_chain_hash() != link.chain_hash:
            problems.append(f"{where}: chain hash does not match its description")
        prev = link.chain_hash
        path = directory / link.file_name
        if not path.is_file():
            problems.append(f"{where}: file {link.file_name} is missing")
            continue
        if file_sha256(path) != link.sha256:
            problems.append(f"{where}: file content does not match its hash")
            continue
        if decode:
            try:
                frames = count_frames(path)
            except (av.FFmpegError, IndexError) as exc:
                problems.append(f"{where}: file is not readable ({exc})")
                continue
            if frames != link.frames:
                problems.append(f"{where}: {frames} frames decoded, {link.frames} recorded")
    return problems
