"""Asynchronous hearing tables (Tortoise app label ``async_hearings``).

Cases are referenced by ``filing_id`` (a filing.Filing id) as a plain column: the filing domain
owns its tables and is reached through its service functions.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

GENESIS_HASH = "0" * 64


class AsyncHearing(Model):
    # One per case. ``mode``: "hearing" (the whole trial asynchronously, Art. 20 ¶2) or
    # "exchange" (evidence exchange and questioning only, Art. 20 ¶1). The record is a hash chain
    # over published posts: record_head = SHA-256(previous head ‖ canonical post).

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField(unique=True)
    mode = fields.CharField(max_length=16, null=True)
    status = fields.CharField(max_length=16, default="preparing")
    attendance_hard = fields.BooleanField(default=False)
    facts_undisputed = fields.BooleanField(default=False)
    exclusions: list[str] = fields.JSONField(default=list)
    findings_by_id = fields.UUIDField(null=True)
    findings_at = fields.DatetimeField(null=True)
    started_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    converted_at = fields.DatetimeField(null=True)
    # The video hearing scheduled by the conversion (hearings.models.VideoHearing).
    video_hearing_id = fields.UUIDField(null=True)
    conversion_reason = fields.TextField(null=True)
    record_seq = fields.BigIntField(default=0)
    record_head = fields.CharField(max_length=64, default=GENESIS_HASH)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "async_hearing"


class AsyncConsent(Model):
    # A party's answer in the app, per scope ("hearing" | "exchange" | "mediation"); a refusal
    # may carry a reason (Art. 21: one party refusing with good reason excludes the hearing).

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField()
    account_id = fields.UUIDField()
    party_role = fields.CharField(max_length=16)
    scope = fields.CharField(max_length=16)
    consented = fields.BooleanField()
    reason = fields.TextField(default="")
    at = fields.DatetimeField()

    class Meta:
        table = "async_consent"
        unique_together = (("filing_id", "account_id", "scope"),)


class AsyncApplication(Model):
    # A party's written application for an asynchronous hearing (Art. 20 ¶2 (2)).

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField(db_index=True)
    account_id = fields.UUIDField()
    party_role = fields.CharField(max_length=16)
    text = fields.TextField()
    at = fields.DatetimeField()

    class Meta:
        table = "async_application"


class AsyncStage(Model):
    # One stage of the hearing with its window; at most one is "open" at a time.

    id = fields.UUIDField(primary_key=True)
    hearing: fields.ForeignKeyRelation[AsyncHearing] = fields.ForeignKeyField(
        "async_hearings.AsyncHearing", related_name="stages", on_delete=fields.CASCADE
    )
    position = fields.SmallIntField()
    kind = fields.CharField(max_length=24)
    status = fields.CharField(max_length=12, default="pending")
    window_hours = fields.IntField()
    opens_at = fields.DatetimeField(null=True)
    closes_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "async_stage"
        unique_together = (("hearing_id", "position"),)


class StageEntry(Model):
    # Entering a stage after a fresh face check (Online Litigation Rules Art. 7); posting in the
    # stage needs one.

    id = fields.UUIDField(primary_key=True)
    stage: fields.ForeignKeyRelation[AsyncStage] = fields.ForeignKeyField(
        "async_hearings.AsyncStage", related_name="entries", on_delete=fields.CASCADE
    )
    account_id = fields.UUIDField(db_index=True)
    presence_verified_at = fields.DatetimeField()
    at = fields.DatetimeField()

    class Meta:
        table = "async_stage_entry"


class AsyncPost(Model):
    # A contribution to the record. Never updated once published (corrections are new posts with
    # ``corrects_id``); drafts (``seq`` null) are private to their author. ``kind``: text, voice,
    # video, file, opinion (cross-examination of one evidence item), question (judge → a named
    # party: ``addressed_party_id``, a filing.Party id; ``addressed_to`` keeps that party's role).
    # ``author_party_id``: the party the author spoke for (themself, or their lawyer's client);
    # null for the judge. Missed windows are judged per party from it.

    id = fields.UUIDField(primary_key=True)
    hearing: fields.ForeignKeyRelation[AsyncHearing] = fields.ForeignKeyField(
        "async_hearings.AsyncHearing", related_name="posts", on_delete=fields.CASCADE
    )
    stage: fields.ForeignKeyRelation[AsyncStage] = fields.ForeignKeyField(
        "async_hearings.AsyncStage", related_name="posts", on_delete=fields.CASCADE
    )
    author_id = fields.UUIDField()
    author_role = fields.CharField(max_length=16)
    kind = fields.CharField(max_length=16)
    text = fields.TextField(default="")
    file_id = fields.UUIDField(null=True)
    file_sha256 = fields.CharField(max_length=64, null=True)
    data: dict[str, Any] = fields.JSONField(default=dict)
    reply_to_id = fields.UUIDField(null=True)
    corrects_id = fields.UUIDField(null=True)
    addressed_to = fields.CharField(max_length=16, null=True)
    addressed_party_id = fields.UUIDField(null=True)
    author_party_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()
    posted_at = fields.DatetimeField(null=True)
    seq = fields.BigIntField(null=True)
    prev_hash = fields.CharField(max_length=64, null=True)
    hash = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "async_post"
        unique_together = (("hearing_id", "seq"),)


class MissedWindow(Model):
    # A party (``party_id``, a filing.Party id; ``party_role`` its side) that let a stage's window
    # pass without posting where it was expected to (Art. 25); that party (or its lawyer) may give
    # a reason, the judge accepts or rejects it (rejected = refusing to appear).

    id = fields.UUIDField(primary_key=True)
    hearing: fields.ForeignKeyRelation[AsyncHearing] = fields.ForeignKeyField(
        "async_hearings.AsyncHearing", related_name="missed", on_delete=fields.CASCADE
    )
    stage: fields.ForeignKeyRelation[AsyncStage] = fields.ForeignKeyField(
        "async_hearings.AsyncStage", related_name="missed", on_delete=fields.CASCADE
    )
    party_role = fields.CharField(max_length=16)
    party_id = fields.UUIDField(null=True)
    recorded_at = fields.DatetimeField()
    reason = fields.TextField(null=True)
    reason_by_id = fields.UUIDField(null=True)
    reason_at = fields.DatetimeField(null=True)
    decision = fields.CharField(max_length=12, null=True)
    decision_note = fields.TextField(null=True)
    decided_by_id = fields.UUIDField(null=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "async_missed_window"
        unique_together = (("stage_id", "party_id"),)


class Transcript(Model):
    # The rendered hearing record (PDF) and the record head it was rendered from.

    id = fields.UUIDField(primary_key=True)
    hearing: fields.ForeignKeyRelation[AsyncHearing] = fields.ForeignKeyField(
        "async_hearings.AsyncHearing", related_name="transcripts", on_delete=fields.CASCADE
    )
    file_id = fields.UUIDField()
    sha256 = fields.CharField(max_length=64)
    size = fields.BigIntField()
    record_seq = fields.BigIntField()
    record_head = fields.CharField(max_length=64)
    created_by_id = fields.UUIDField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "async_transcript"


class DocumentSignature(Model):
    # An e-signature on a generated document: the server's Ed25519 key signs the canonical
    # statement {document kind, id, SHA-256, signer, role, party, time, presence time}.
    # ``signer_id`` is the account that signed; ``party_id`` the party it signed for (the party
    # itself, or its lawyer as agent); null for the judge.

    id = fields.UUIDField(primary_key=True)
    document_kind = fields.CharField(max_length=24)
    document_id = fields.UUIDField()
    document_sha256 = fields.CharField(max_length=64)
    signer_id = fields.UUIDField()
    signer_role = fields.CharField(max_length=16)
    party_id = fields.UUIDField(null=True)
    signed_at = fields.DatetimeField()
    presence_verified_at = fields.DatetimeField(null=True)
    # How the signer stepped up at ``presence_verified_at``: "face" (parties, lawyers) or
    # "totp" (court staff confirm an authenticator code; they have no real-name face record).
    step_up_method = fields.CharField(max_length=8, default="face")
    key_id = fields.CharField(max_length=64)
    signature = fields.CharField(max_length=128)

    class Meta:
        table = "async_document_signature"
        # A lawyer for several parties signs once for each of them.
        unique_together = (("document_kind", "document_id", "signer_id", "party_id"),)


class ServiceRequest(Model):
    # The default DocumentServer: a document waiting for electronic service to the case's
    # parties (service_of_process takes these over at merge).

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField(db_index=True)
    document_kind = fields.CharField(max_length=32)
    document_id = fields.UUIDField()
    file_id = fields.UUIDField()
    sha256 = fields.CharField(max_length=64)
    recipients: list[str] = fields.JSONField(default=list)
    status = fields.CharField(max_length=16, default="pending")
    created_at = fields.DatetimeField()

    class Meta:
        table = "async_service_request"


class NotificationSent(Model):
    # Marker making the notification job idempotent: one row per delivered notice.

    key = fields.CharField(max_length=128, primary_key=True)
    account_id = fields.UUIDField()
    sent_at = fields.DatetimeField()
    outcome = fields.CharField(max_length=32)

    class Meta:
        table = "async_notification_sent"
