"""Request and response shapes of the video hearing API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from backend.schemas import Input, Output


class ScheduleIn(Input):
    filing_id: UUID
    title: str = Field(min_length=2, max_length=200)
    starts_at: AwareDatetime
    participant_account_ids: list[UUID] | None = Field(
        default=None,
        max_length=50,
        description="parties and lawyers of the case to invite; default: all of them",
    )


class ParticipantOut(Output):
    id: UUID
    account_id: UUID
    role: str
    display_name: str
    removed: bool
    # live state (only while the server holds the room)
    presence: Literal["absent", "lobby", "admitted", "reconnecting"] = "absent"
    muted: bool = False


class HearingOut(Output):
    id: UUID
    filing_id: UUID
    title: str
    starts_at: datetime
    status: str
    status_zh: str
    status_en: str
    notice_status: str
    lobby_opens_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    recording: bool
    participants: list[ParticipantOut]


class HearingList(Output):
    items: list[HearingOut]


class HearingListQuery(Input):
    filing_id: UUID


class ReasonIn(Input):
    reason: str = Field(min_length=2, max_length=500)


class OptionalReasonIn(Input):
    reason: str = Field(default="", max_length=500)


class NoteIn(Input):
    text: str = Field(min_length=1, max_length=4000)


class NoteOut(Output):
    id: int
    author_id: UUID
    at: datetime
    offset_ms: int | None
    text: str


class NoteList(Output):
    items: list[NoteOut]


class SegmentOut(Output):
    seq: int
    participant_id: UUID
    kind: str
    file_name: str
    size: int
    frames: int
    started_at: datetime
    ended_at: datetime
    sha256: str
    prev_hash: str
    chain_hash: str


class RecordingEventOut(Output):
    kind: str
    reason: str
    at: datetime


class RecordOut(Output):
    hearing_id: UUID
    status: str
    opened_at: datetime | None
    closed_at: datetime | None
    segments: list[SegmentOut]
    recording_events: list[RecordingEventOut]
    notes: list[NoteOut]
    manifest_sha256: str | None


class VerifyOut(Output):
    ok: bool
    segments: int
    problems: list[str]


class IceServerOut(Output):
    urls: list[str]
    username: str | None = None
    credential: str | None = None
