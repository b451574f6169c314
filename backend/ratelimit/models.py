"""Fixed-window counters shared by every server process through the database."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class RateCounter(Model):
    id = fields.BigIntField(primary_key=True)
    # SHA-256 of the limiter key, so phone numbers or openids used as keys are never stored.
    key_hash = fields.CharField(max_length=64)
    window_start = fields.BigIntField()
    count = fields.IntField(default=0)

    class Meta:
        table = "rate_counter"
        unique_together = (("key_hash", "window_start"),)
