"""Append-only, hash-chained audit events and signed checkpoints of the chain head."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

GENESIS_HASH = "0" * 64


class AuditEvent(Model):
    # seq is assigned from the head row, not by the database, so a gap is detectable.
    seq = fields.BigIntField(primary_key=True, generated=False)
    occurred_at = fields.DatetimeField()
    actor_subject = fields.CharField(max_length=64, null=True, db_index=True)
    actor_roles = fields.CharField(max_length=200, default="")
    ip = fields.CharField(max_length=45, null=True)
    request_id = fields.CharField(max_length=64, null=True)
    action = fields.CharField(max_length=64, db_index=True)
    resource_type = fields.CharField(max_length=32)
    resource_id = fields.CharField(max_length=64, null=True, db_index=True)
    details: dict[str, object] = fields.JSONField(default=dict)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "audit_event"


class AuditHead(Model):
    # The single row every writer locks: it serialises appends and names the chain's tip.

    id = fields.IntField(primary_key=True, generated=False)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "audit_head"


class AuditCheckpoint(Model):
    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)
    signed_at = fields.DatetimeField()
    key_id = fields.CharField(max_length=64)
    signature = fields.CharField(max_length=128)

    class Meta:
        table = "audit_checkpoint"
