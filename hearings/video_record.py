"""The hearing record as stored: segment rows ↔ chain links, the three record queries, the
manifest. Shared by the record routes and the room (which writes the manifest at closing)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from hearings.models import VideoHearing, VideoNote, VideoRecordingEvent, VideoSegment
from hearings.video_recording import GENESIS, SegmentLink

_LINK_FIELDS = [f.name for f in dataclasses.fields(SegmentLink)]
_TIMES = ("started_at", "ended_at")


def link_of(segment: VideoSegment) -> SegmentLink:
    """The chain link a segment row stores (the exact description its chain hash covers)."""
    values: dict[str, Any] = {name: getattr(segment, name) for name in _LINK_FIELDS}
    values["hearing_id"] = str(values["hearing_id"])
    values["participant_id"] = str(values["participant_id"])
    for name in _TIMES:
        values[name] = values[name].isoformat(timespec="milliseconds")
    return SegmentLink(**values)


def row_fields(link: SegmentLink) -> dict[str, Any]:
    """``VideoSegment.create`` arguments for a link."""
    values = dataclasses.asdict(link)
    values["hearing_id"] = UUID(link.hearing_id)
    values["participant_id"] = UUID(link.participant_id)
    for name in _TIMES:
        values[name] = datetime.fromisoformat(values[name])
    return values


@dataclass
class HearingRecord:
    segments: list[VideoSegment]
    events: list[VideoRecordingEvent]
    notes: list[VideoNote]

    @property
    def links(self) -> list[SegmentLink]:
        return [link_of(s) for s in self.segments]


async def load_record(hearing_id: UUID) -> HearingRecord:
    return HearingRecord(
        segments=await VideoSegment.filter(hearing_id=hearing_id).order_by("seq"),
        events=await VideoRecordingEvent.filter(hearing_id=hearing_id).order_by("id"),
        notes=await VideoNote.filter(hearing_id=hearing_id).order_by("id"),
    )


def manifest(hearing: VideoHearing, record: HearingRecord) -> dict[str, Any]:
    links = record.links
    return {
        "hearing_id": str(hearing.id),
        "filing_id": str(hearing.filing_id),
        "opened_at": hearing.opened_at.isoformat() if hearing.opened_at else None,
        "closed_at": hearing.closed_at.isoformat() if hearing.closed_at else None,
        "segments": [dataclasses.asdict(link) for link in links],
        "final_chain_hash": links[-1].chain_hash if links else GENESIS,
        "recording_events": [
            {"kind": e.kind, "reason": e.reason, "at": e.at.isoformat()} for e in record.events
        ],
        "notes": [
            {"at": n.at.isoformat(), "offset_ms": n.offset_ms, "text": n.text} for n in record.notes
        ],
    }
