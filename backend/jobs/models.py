"""The durable job table: a job row is written in the same transaction as the change causing it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class Job(Model):
    # One unit of background work. A worker claims a row by setting status=running, locked_by and a
    # lease; a lease that runs out (the worker died) makes the row claimable again, so handlers run
    # at least once and must be idempotent. (No docstring: Tortoise would emit it as SQL comment.)
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64)
    payload: dict[str, Any] = fields.JSONField(default=dict)
    # A plain string column (values from JobStatus) keeps the migrations free of model imports.
    status = fields.CharField(max_length=16, default=JobStatus.QUEUED.value)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=8)
    run_at = fields.DatetimeField(db_index=True)
    lease_until = fields.DatetimeField(null=True)
    locked_by = fields.CharField(max_length=64, null=True)
    last_error = fields.TextField(null=True)
    dedupe_key = fields.CharField(max_length=128, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "job"
        # The claim query filters on status and orders by run_at.
        indexes = (("status", "run_at"),)
