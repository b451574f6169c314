"""Stored outcomes of state-changing requests sent with an Idempotency-Key."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class IdempotencyRecord(Model):
    id = fields.BigIntField(primary_key=True)
    owner = fields.CharField(max_length=64)
    key = fields.CharField(max_length=128)
    fingerprint = fields.CharField(max_length=64)
    completed = fields.BooleanField(default=False)
    status_code = fields.IntField(null=True)
    content_type = fields.CharField(max_length=100, null=True)
    response_body = fields.BinaryField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    completed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "idempotency_record"
        unique_together = (("owner", "key"),)
