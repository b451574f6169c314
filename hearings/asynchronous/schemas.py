"""Request and response shapes of /api/v1/async-hearings/."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from backend.schemas import Input, Output
from hearings.asynchronous.rules import Exclusion, Mode, Scope, StageKind

Opinion = Literal["accept", "dispute"]


class ConsentIn(Input):
    scope: Scope
    consented: bool
    reason: str = Field(default="", max_length=1000, description="why, when refusing (Art. 21)")


class ConsentOut(Output):
    scope: str
    consented: bool
    party_role: str
    reason: str
    at: datetime


class ApplicationIn(Input):
    text: str = Field(min_length=10, max_length=5000, description="the written application")


class ApplicationOut(Output):
    id: UUID
    party_role: str
    text: str
    at: datetime


class FindingsIn(Input):
    facts_undisputed: bool = Field(
        description="after online exchange the main facts are undisputed"
    )
    attendance_hard: bool = Field(description="attending together online is genuinely hard")
    exclusions: list[Exclusion] = Field(default_factory=list, max_length=6)


class EligibilityQuery(Input):
    mode: Mode = Mode.HEARING


class UnmetOut(Output):
    code: str
    message_zh: str
    message_en: str


class EligibilityOut(Output):
    mode: Mode
    eligible: bool
    unmet: list[UnmetOut]


class StartIn(Input):
    mode: Mode = Mode.HEARING
    window_hours: dict[StageKind, int] = Field(
        default_factory=dict, description="window per stage in hours (default 72)"
    )


class StageOut(Output):
    kind: str
    name_zh: str
    name_en: str
    position: int
    status: str
    window_hours: int
    opens_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None


class ConsentSummaryOut(Output):
    scope: str
    party_role: str
    consented: bool


class HearingOut(Output):
    id: UUID
    filing_id: UUID
    mode: str | None
    status: str
    attendance_hard: bool
    facts_undisputed: bool
    exclusions: list[str]
    started_at: datetime | None
    closed_at: datetime | None
    converted_at: datetime | None
    conversion_reason: str | None
    video_hearing_id: UUID | None = Field(
        description="the video hearing the conversion scheduled (/api/v1/hearings/video/{id})"
    )
    record_seq: int
    record_head: str
    stages: list[StageOut]
    consents: list[ConsentSummaryOut]


class WindowIn(Input):
    closes_at: datetime


class ConvertIn(Input):
    reason: str = Field(min_length=2, max_length=1000)
    starts_at: AwareDatetime = Field(
        description="when the video hearing starts: at least 3 days ahead, so the hearing notice "
        "can be served electronically in time"
    )
    title: str | None = Field(default=None, min_length=2, max_length=200)


class EntryOut(Output):
    stage: str
    entered_at: datetime
    presence_verified_at: datetime


class OpinionIn(Input):
    authenticity: Opinion
    legality: Opinion
    relevance: Opinion
    objection: bool = False
    reasons: str = Field(default="", max_length=5000)


class PostIn(Input):
    stage: StageKind = Field(description="the open stage this post belongs to")
    kind: Literal["text", "voice", "video", "file", "opinion", "question"]
    text: str = Field(default="", max_length=20000)
    file_id: UUID | None = Field(default=None, description="your upload from /api/v1/files")
    reply_to: UUID | None = None
    corrects: UUID | None = Field(default=None, description="your earlier post this corrects")
    addressed_party_id: UUID | None = Field(
        default=None, description="a question: the party (a party id of the case) it is for"
    )
    evidence_post_id: UUID | None = None
    opinion: OpinionIn | None = None
    draft: bool = False
    party_id: UUID | None = Field(
        default=None,
        description="the party you speak for; needed only when you act for several (a lawyer "
        "for co-parties) and are not answering a question addressed to one of them",
    )


class PostOut(Output):
    id: UUID
    stage: str
    author_id: UUID
    author_role: str
    author_party_id: UUID | None
    kind: str
    text: str
    file_id: UUID | None
    file_sha256: str | None
    data: dict[str, object]
    reply_to: UUID | None
    corrects: UUID | None
    addressed_to: str | None
    addressed_party_id: UUID | None
    draft: bool
    created_at: datetime
    posted_at: datetime | None
    seq: int | None
    prev_hash: str | None
    hash: str | None


class PostList(Output):
    items: list[PostOut]


class EvidenceItemOut(Output):
    item: PostOut
    opinions: list[PostOut]


class EvidenceList(Output):
    items: list[EvidenceItemOut]


class ChainOut(Output):
    valid: bool
    entries: int
    head: str
    broken_at: int | None
    problem: str | None


class MissedOut(Output):
    id: UUID
    stage: str
    party_id: UUID | None
    party_name: str | None
    party_role: str
    recorded_at: datetime
    reason: str | None
    reason_at: datetime | None
    decision: str | None
    decision_note: str | None
    consequence_zh: str | None
    consequence_en: str | None


class MissedList(Output):
    items: list[MissedOut]


class ReasonIn(Input):
    reason: str = Field(min_length=2, max_length=2000)


class DecisionIn(Input):
    accepted: bool
    note: str = Field(default="", max_length=2000)


class SignQuery(Input):
    party_id: UUID | None = Field(
        default=None,
        description="a lawyer acting for several parties: the client this signature is for",
    )


class SignatureOut(Output):
    signer_id: UUID = Field(description="the account that signed (the party or its lawyer)")
    signer_role: str
    party_id: UUID | None = Field(description="the party signed for; null for the judge")
    signed_at: datetime
    presence_verified_at: datetime | None = Field(description="when the signer stepped up")
    step_up_method: str = Field(
        description="face (a face check: parties, lawyers) or totp (an authenticator code: staff)"
    )
    key_id: str
    signature: str
    valid: bool | None = None


class TranscriptOut(Output):
    id: UUID
    sha256: str
    size: int
    record_seq: int
    record_head: str
    created_at: datetime
    signatures: list[SignatureOut]


class TranscriptVerifyOut(Output):
    transcript_id: UUID
    sha256: str
    file_intact: bool
    valid: bool
    complete: bool
    missing_roles: list[str]
    missing_parties: list[UUID] = Field(description="parties that have not signed yet")
    signatures: list[SignatureOut]
    public_key: dict[str, str]


class CopyVerifyOut(Output):
    copy_sha256: str
    matches: bool = Field(description="the copy is byte for byte a transcript of this hearing")
    transcript_id: UUID | None
    signatures: list[SignatureOut]
