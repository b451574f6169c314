"""Filing reference data (courts, causes of action) and the case-number counters.

Levels, categories and type codes are plain strings in the database (the enums and catalogues in
``filing.catalogue`` / ``filing.case_numbers`` are the Python side), so migrations never import
them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class CourtLevel(StrEnum):
    HIGH = "high"
    INTERMEDIATE = "intermediate"
    BASIC = "basic"
    INTERNET = "internet"


class Court(Model):
    # A people's court. ``code`` is the court code of its case numbers (浙0281); ``parent_code``
    # the court that hears its appeals. ``fee_schedule`` is a filing.fees.CourtFeeSchedule as
    # JSON (the province's amounts inside the statutory ranges).

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=8, unique=True)
    name_zh = fields.CharField(max_length=100)
    name_en = fields.CharField(max_length=200)
    level = fields.CharField(max_length=16)
    region_code = fields.CharField(max_length=6)  # GB/T 2260 administrative division code
    parent_code = fields.CharField(max_length=8, null=True)
    case_types: list[str] = fields.JSONField(default=list)  # type codes heard: ["民初", "民终", …]
    # Internet courts: keys of filing.catalogue.INTERNET_COURT_CATEGORIES they hear.
    designated_categories: list[str] = fields.JSONField(default=list)
    fee_schedule: dict[str, Any] = fields.JSONField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "filing_court"


class CauseOfAction(Model):
    # A civil cause of action (民事案件案由规定). ``position`` keeps the catalogue order and is the
    # pagination key.

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    parent_code = fields.CharField(max_length=64, null=True)
    level = fields.SmallIntField()
    position = fields.IntField(unique=True)
    name_zh = fields.CharField(max_length=100)
    name_en = fields.CharField(max_length=200)
    part_zh = fields.CharField(max_length=100)
    part_en = fields.CharField(max_length=200)
    category_zh = fields.CharField(max_length=100)
    category_en = fields.CharField(max_length=200)
    internet_category = fields.CharField(max_length=48, null=True)

    class Meta:
        table = "filing_cause"


class CaseNumberCounter(Model):
    # The last serial handed out per court + type + year; incremented in place by
    # filing.case_numbers.allocate_serial under the row lock of the registration transaction.

    id = fields.IntField(primary_key=True)
    court_code = fields.CharField(max_length=8)
    type_code = fields.CharField(max_length=4)
    year = fields.SmallIntField()
    last_serial = fields.IntField()

    class Meta:
        table = "filing_case_counter"
        unique_together = (("court_code", "type_code", "year"),)
