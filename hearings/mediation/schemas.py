"""Request and response shapes of /api/v1/mediation/."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from backend.schemas import Input, Output


class MediatorIn(Input):
    mediator_id: UUID


class SessionIn(Input):
    mode: Literal["async", "live"]
    starts_at: AwareDatetime
    note: str = Field(default="", max_length=2000)


class SessionOut(Output):
    id: UUID
    mode: str
    starts_at: datetime
    note: str
    video_hearing_id: UUID | None = Field(
        description="a live session's video room: /api/v1/hearings/video/{id}"
    )


class ProposalIn(Input):
    terms: str = Field(min_length=2, max_length=10000)
    counter_to: UUID | None = None


class ProposalOut(Output):
    id: UUID
    author_role: str
    terms: str
    counter_to: UUID | None
    created_at: datetime


class AgreementIn(Input):
    terms: str = Field(min_length=2, max_length=20000)


class SignatureOut(Output):
    signer_role: str
    party_id: UUID | None = Field(description="the party this signature is for")
    party_name: str | None = Field(description="that party's name, as the case records it")
    signer_id: UUID = Field(description="who signed: the party itself or its lawyer")
    as_agent: bool = Field(description="signed by the party's lawyer on its behalf")
    signed_at: datetime
    valid: bool


class AgreementOut(Output):
    id: UUID
    terms: str
    terms_sha256: str
    status: str
    created_at: datetime
    effective_at: datetime | None
    statement_sha256: str | None
    signatures: list[SignatureOut]
    awaiting: int = Field(description="parties who have not signed yet")


class CloseIn(Input):
    note: str = Field(min_length=2, max_length=2000)


class MediationOut(Output):
    id: UUID
    filing_id: UUID
    phase: str
    status: str
    requested_at: datetime
    designation_due_on: date
    mediator_id: UUID | None
    designated_at: datetime | None
    designated_late: bool
    designation_overdue: bool
    period_days: int
    ends_on: date
    closed_at: datetime | None
    sessions: list[SessionOut]
    proposals: list[ProposalOut]


class MediationList(Output):
    items: list[MediationOut]
