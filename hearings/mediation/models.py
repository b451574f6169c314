"""Online mediation tables (Tortoise app label ``mediation``)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Mediation(Model):
    # One mediation of a case. ``phase``: "pre_filing" (诉前, before registration: 30 days) or
    # "post_filing" (15 days ordinary, 7 days simple/small claims), Online Mediation Rules Art. 24.
    # The mediator is designated within 3 working days (Art. 10).

    id = fields.UUIDField(primary_key=True)
    filing_id = fields.UUIDField(db_index=True)
    phase = fields.CharField(max_length=12)
    status = fields.CharField(max_length=20, default="awaiting_mediator")
    requested_by_id = fields.UUIDField()
    requested_at = fields.DatetimeField()
    designation_due_on = fields.DateField()
    mediator_id = fields.UUIDField(null=True)
    designated_at = fields.DatetimeField(null=True)
    designated_late = fields.BooleanField(default=False)
    period_days = fields.SmallIntField()
    ends_on = fields.DateField()
    closed_at = fields.DatetimeField(null=True)
    outcome_note = fields.TextField(null=True)

    class Meta:
        table = "mediation"


class MediationSession(Model):
    # A session, asynchronous (parties answer in their own time) or live: a live session runs
    # in the video hearing room ``video_hearing_id`` (hearings.models.VideoHearing) scheduled
    # with it.

    id = fields.UUIDField(primary_key=True)
    mediation: fields.ForeignKeyRelation[Mediation] = fields.ForeignKeyField(
        "mediation.Mediation", related_name="sessions", on_delete=fields.CASCADE
    )
    mode = fields.CharField(max_length=8)
    starts_at = fields.DatetimeField()
    note = fields.TextField(default="")
    video_hearing_id = fields.UUIDField(null=True)
    created_by_id = fields.UUIDField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "mediation_session"


class Proposal(Model):
    # A proposal by a party or the mediator; ``counter_to_id`` makes it a counter-proposal.

    id = fields.UUIDField(primary_key=True)
    mediation: fields.ForeignKeyRelation[Mediation] = fields.ForeignKeyField(
        "mediation.Mediation", related_name="proposals", on_delete=fields.CASCADE
    )
    author_id = fields.UUIDField()
    author_role = fields.CharField(max_length=16)
    terms = fields.TextField()
    counter_to_id = fields.UUIDField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "mediation_proposal"


class Agreement(Model):
    # The mediation agreement put to the parties; effective when the last party signs (Art. 19).

    id = fields.UUIDField(primary_key=True)
    mediation: fields.ForeignKeyRelation[Mediation] = fields.ForeignKeyField(
        "mediation.Mediation", related_name="agreements", on_delete=fields.CASCADE
    )
    terms = fields.TextField()
    terms_sha256 = fields.CharField(max_length=64)
    status = fields.CharField(max_length=24, default="awaiting_signatures")
    created_by_id = fields.UUIDField()
    created_at = fields.DatetimeField()
    effective_at = fields.DatetimeField(null=True)
    statement_file_id = fields.UUIDField(null=True)
    statement_sha256 = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "mediation_agreement"
