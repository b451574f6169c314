"""Hearing tables. Video hearings use ``hearing_video_*``; asynchronous hearings will add theirs."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class VideoHearingStatus(StrEnum):
    SCHEDULED = "scheduled"
    LOBBY_OPEN = "lobby_open"
    IN_SESSION = "in_session"
    RECESS = "recess"
    CLOSED = "closed"


class ParticipantRole(StrEnum):
    JUDGE = "judge"
    CLERK = "clerk"
    # Court staff running a video mediation session without being the case's judge or clerk
    # (hearings.mediation): hosts that one hearing, nothing else of the case.
    MEDIATOR = "mediator"
    PARTY = "party"
    LAWYER = "lawyer"


class VideoHearing(Model):
    # One scheduled video hearing of a case (filing.Filing). ``notice_status`` is what the
    # HearingNoticeSender reported ("pending" until electronic service confirms).

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField(db_index=True)
    court_code = fields.CharField(max_length=8)
    title = fields.CharField(max_length=200)
    starts_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default=VideoHearingStatus.SCHEDULED.value)
    notice_status = fields.CharField(max_length=16, default="pending")
    scheduled_by_id = fields.UUIDField()
    lobby_opened_at = fields.DatetimeField(null=True)
    opened_at = fields.DatetimeField(null=True)  # first "in session": recording starts here
    closed_at = fields.DatetimeField(null=True)
    manifest_sha256 = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "hearing_video"


class VideoParticipant(Model):
    # Who is invited. Admission to the live room is per connection (in memory) and audited.

    id = fields.UUIDField(primary_key=True)
    hearing: fields.ForeignKeyRelation[VideoHearing] = fields.ForeignKeyField(
        "hearings.VideoHearing", related_name="participants", on_delete=fields.CASCADE
    )
    account_id = fields.UUIDField(db_index=True)
    role = fields.CharField(max_length=16)
    display_name = fields.CharField(max_length=100)
    removed_at = fields.DatetimeField(null=True)  # removed by the judge: may not rejoin

    class Meta:
        table = "hearing_video_participant"
        unique_together = (("hearing_id", "account_id"),)


class VideoRecordingEvent(Model):
    # Recording control log (started, paused with reason, resumed, stopped): part of the record.

    id = fields.BigIntField(primary_key=True)
    hearing: fields.ForeignKeyRelation[VideoHearing] = fields.ForeignKeyField(
        "hearings.VideoHearing", related_name="recording_events", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16)
    reason = fields.TextField(default="")
    actor_id = fields.UUIDField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "hearing_video_recording_event"


class VideoSegment(Model):
    # One recorded segment file of one participant's track. ``sha256`` covers the file bytes;
    # ``chain_hash`` = SHA-256(prev chain_hash ‖ canonical segment description), so removing,
    # reordering or altering any segment breaks every later link.

    id = fields.BigIntField(primary_key=True)
    hearing: fields.ForeignKeyRelation[VideoHearing] = fields.ForeignKeyField(
        "hearings.VideoHearing", related_name="segments", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    participant_id = fields.UUIDField()
    kind = fields.CharField(max_length=8)  # audio | video
    file_name = fields.CharField(max_length=200)
    size = fields.BigIntField()
    frames = fields.IntField()
    started_at = fields.DatetimeField()
    ended_at = fields.DatetimeField()
    sha256 = fields.CharField(max_length=64)
    prev_hash = fields.CharField(max_length=64)
    chain_hash = fields.CharField(max_length=64)

    class Meta:
        table = "hearing_video_segment"
        unique_together = (("hearing_id", "seq"),)


class VideoNote(Model):
    # A clerk's note; ``offset_ms`` places it on the recording timeline (from ``opened_at``).

    id = fields.BigIntField(primary_key=True)
    hearing: fields.ForeignKeyRelation[VideoHearing] = fields.ForeignKeyField(
        "hearings.VideoHearing", related_name="notes", on_delete=fields.CASCADE
    )
    author_id = fields.UUIDField()
    at = fields.DatetimeField()
    offset_ms = fields.BigIntField(null=True)
    text = fields.TextField()
    details: dict[str, Any] = fields.JSONField(default=dict)

    class Meta:
        table = "hearing_video_note"
