"""Courts and causes of action: seed data, the idempotent seeding service and read services.

Seed data is a handful of real courts (names, codes and division codes as published); their fee
schedules start at :data:`filing.fees.DEFAULT_FEE_SCHEDULE` until a court enters its province's
amounts. Seeding never overwrites a fee schedule a court has configured.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from backend.errors import NotFound, ValidationFailed
from filing.case_numbers import CaseNumberError, validate_court_code, validate_type_code
from filing.catalogue import (
    CAUSES,
    CAUSES_BY_CODE,
    INTERNET_CATEGORIES_BY_KEY,
    INTERNET_COURT_CATEGORIES,
    PROVINCES_BY_ABBREVIATION,
    Cause,
)
from filing.fees import DEFAULT_FEE_SCHEDULE, CourtFeeSchedule
from filing.models import CauseOfAction, Court, CourtLevel

# ------------------------------------------------------------------------------ seed data

_HIGH_TYPES = (
    "民初", "民终", "民申", "民再", "民监", "民辖", "民辖终", "刑初", "刑终", "刑申", "刑再",
    "行初", "行终", "行申", "行再", "执", "执异", "执复", "执监",
)  # fmt: skip
_INTERMEDIATE_TYPES = (
    "民初", "民终", "民申", "民再", "民撤", "民特", "民辖", "民辖终", "刑初", "刑终", "行初",
    "行终", "执", "执恢", "执保", "执异", "执复", "执监", "财保",
)  # fmt: skip
_BASIC_TYPES = (
    "民初", "民撤", "民特", "民督", "民催", "民辖", "刑初", "行初", "行审", "执", "执恢", "执保",
    "执异", "财保",
)  # fmt: skip
# Internet courts hear civil and administrative first-instance cases of the designated categories
# and enforce their own judgments; no criminal cases.
_INTERNET_TYPES = ("民初", "民撤", "民辖", "行初", "执", "执恢", "执保", "执异")
_ALL_INTERNET = tuple(c.key for c in INTERNET_COURT_CATEGORIES)


@dataclass(frozen=True)
class CourtSeed:
    code: str
    name_zh: str
    name_en: str
    level: CourtLevel
    region_code: str
    parent_code: str | None
    case_types: tuple[str, ...]
    designated_categories: tuple[str, ...] = field(default=())


COURTS: tuple[CourtSeed, ...] = (
    CourtSeed(
        "浙", "浙江省高级人民法院", "Zhejiang High People's Court", CourtLevel.HIGH, "330000",
        None, _HIGH_TYPES,
    ),
    CourtSeed(
        "浙01", "浙江省杭州市中级人民法院", "Hangzhou Intermediate People's Court",
        CourtLevel.INTERMEDIATE, "330100", "浙", _INTERMEDIATE_TYPES,
    ),
    CourtSeed(
        "浙02", "浙江省宁波市中级人民法院", "Ningbo Intermediate People's Court",
        CourtLevel.INTERMEDIATE, "330200", "浙", _INTERMEDIATE_TYPES,
    ),
    CourtSeed(
        "浙0106", "杭州市西湖区人民法院", "Hangzhou Xihu District People's Court",
        CourtLevel.BASIC, "330106", "浙01", _BASIC_TYPES,
    ),
    # Jurisdiction: the designated Internet cases of the whole city of Hangzhou (330100).
    CourtSeed(
        "浙0192", "杭州互联网法院", "Hangzhou Internet Court", CourtLevel.INTERNET, "330100",
        "浙01", _INTERNET_TYPES, _ALL_INTERNET,
    ),
    CourtSeed(
        "浙0281", "余姚市人民法院", "Yuyao People's Court", CourtLevel.BASIC, "330281", "浙02",
        _BASIC_TYPES,
    ),
    CourtSeed(
        "京", "北京市高级人民法院", "Beijing High People's Court", CourtLevel.HIGH, "110000", None,
        _HIGH_TYPES,
    ),
    # Appeals from the Beijing Internet Court go to the No. 4 Intermediate Court.
    CourtSeed(
        "京04", "北京市第四中级人民法院", "Beijing No. 4 Intermediate People's Court",
        CourtLevel.INTERMEDIATE, "110000", "京", _INTERMEDIATE_TYPES,
    ),
    CourtSeed(
        "京0491", "北京互联网法院", "Beijing Internet Court", CourtLevel.INTERNET, "110000",
        "京04", _INTERNET_TYPES, _ALL_INTERNET,
    ),
    CourtSeed(
        "粤", "广东省高级人民法院", "Guangdong High People's Court", CourtLevel.HIGH, "440000",
        None, _HIGH_TYPES,
    ),
    CourtSeed(
        "粤01", "广东省广州市中级人民法院", "Guangzhou Intermediate People's Court",
        CourtLevel.INTERMEDIATE, "440100", "粤", _INTERMEDIATE_TYPES,
    ),
    CourtSeed(
        "粤0192", "广州互联网法院", "Guangzhou Internet Court", CourtLevel.INTERNET, "440100",
        "粤01", _INTERNET_TYPES, _ALL_INTERNET,
    ),
)  # fmt: skip
COURTS_BY_CODE: dict[str, CourtSeed] = {c.code: c for c in COURTS}

_PARENT_LEVEL = {
    CourtLevel.INTERMEDIATE: CourtLevel.HIGH,
    CourtLevel.BASIC: CourtLevel.INTERMEDIATE,
    CourtLevel.INTERNET: CourtLevel.INTERMEDIATE,
}
_REGION = re.compile(r"[0-9]{6}")


def court_problems(seed: CourtSeed, known: dict[str, CourtSeed]) -> list[str]:
    """Why a court record is inconsistent (empty when it is fine)."""
    problems: list[str] = []
    try:
        validate_court_code(seed.code, seed.level.value)
    except CaseNumberError as exc:
        problems.append(exc.detail)
    if not _REGION.fullmatch(seed.region_code):
        problems.append(f"{seed.code}: region code {seed.region_code!r} is not 6 digits")
    province = PROVINCES_BY_ABBREVIATION.get(seed.code[:1])
    if (
        province
        and province.division_prefix
        and not seed.region_code.startswith(province.division_prefix)
    ):
        problems.append(f"{seed.code}: region {seed.region_code} is outside {province.name_en}")
    # Basic courts take their four digits from the division code (浙0281 ↔ 330281).
    if seed.level is CourtLevel.BASIC and seed.region_code[2:] != seed.code[1:]:
        problems.append(f"{seed.code}: digits do not match region code {seed.region_code}")
    if seed.level is CourtLevel.HIGH:
        if seed.parent_code is not None:
            problems.append(f"{seed.code}: a high court has no parent court here")
    else:
        parent = known.get(seed.parent_code or "")
        if parent is None:
            problems.append(f"{seed.code}: parent court {seed.parent_code!r} is unknown")
        elif parent.level is not _PARENT_LEVEL[seed.level]:
            problems.append(
                f"{seed.code}: parent {parent.code} is not a {_PARENT_LEVEL[seed.level]}"
            )
    for code in seed.case_types:
        try:
            validate_type_code(code)
        except CaseNumberError as exc:
            problems.append(f"{seed.code}: {exc.detail}")
    for key in seed.designated_categories:
        if key not in INTERNET_CATEGORIES_BY_KEY:
            problems.append(f"{seed.code}: unknown Internet category {key!r}")
    if seed.designated_categories and seed.level is not CourtLevel.INTERNET:
        problems.append(f"{seed.code}: only Internet courts have designated categories")
    return problems


# ------------------------------------------------------------------------------ seeding


_RETIRED_POSITION = 1_000_000


@dataclass
class SeedReport:
    courts_created: int = 0
    courts_updated: int = 0
    causes_created: int = 0
    causes_updated: int = 0


def _court_values(seed: CourtSeed) -> dict[str, Any]:
    return {
        "name_zh": seed.name_zh,
        "name_en": seed.name_en,
        "level": seed.level.value,
        "region_code": seed.region_code,
        "parent_code": seed.parent_code,
        "case_types": list(seed.case_types),
        "designated_categories": list(seed.designated_categories),
    }


def _cause_values(cause: Cause, position: int) -> dict[str, Any]:
    return {
        "parent_code": cause.parent_code,
        "level": cause.level,
        "position": position,
        "name_zh": cause.name_zh,
        "name_en": cause.name_en,
        "part_zh": cause.part_zh,
        "part_en": cause.part_en,
        "category_zh": cause.category_zh,
        "category_en": cause.category_en,
        "internet_category": cause.internet_category,
    }


async def seed_reference_data(conn: BaseDBAsyncClient) -> SeedReport:
    """Create or refresh the seed courts and the cause-of-action catalogue. Idempotent: a second
    run changes nothing. Run it inside a transaction (``in_transaction()``) so a failure leaves
    the old data whole. A court's fee schedule is set on creation only, never overwritten.
    """
    for seed in COURTS:
        problems = court_problems(seed, COURTS_BY_CODE)
        if problems:
            raise ValueError("; ".join(problems))
    report = SeedReport()
    existing_courts = {c.code: c for c in await Court.all().using_db(conn)}
    for seed in COURTS:
        values = _court_values(seed)
        court = existing_courts.get(seed.code)
        if court is None:
            await Court.create(
                code=seed.code,
                fee_schedule=DEFAULT_FEE_SCHEDULE.as_json(),
                using_db=conn,
                **values,
            )
            report.courts_created += 1
            continue
        changed = [name for name, value in values.items() if getattr(court, name) != value]
        if changed:
            court.update_from_dict(values)
            await court.save(using_db=conn, update_fields=[*changed, "updated_at"])
            report.courts_updated += 1

    existing_causes = {c.code: c for c in await CauseOfAction.all().using_db(conn)}
    # Positions are unique: rows whose position changes step aside first (negative), and causes
    # dropped from the catalogue (kept: filings may name them) go after the catalogue.
    wanted = {cause.code: position for position, cause in enumerate(CAUSES, start=1)}
    for row in existing_causes.values():
        target = wanted.get(row.code, _RETIRED_POSITION + row.id)
        if row.position != target:
            row.position = -row.id if row.code in wanted else target
            await row.save(using_db=conn, update_fields=["position"])
    for position, cause in enumerate(CAUSES, start=1):
        values = _cause_values(cause, position)
        current = existing_causes.get(cause.code)
        if current is None:
            await CauseOfAction.create(code=cause.code, using_db=conn, **values)
            report.causes_created += 1
            continue
        changed = [name for name, value in values.items() if getattr(current, name) != value]
        if changed:
            current.update_from_dict(values)
            await current.save(using_db=conn, update_fields=changed)
            report.causes_updated += 1
    return report


# ------------------------------------------------------------------------------ reads


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise ValidationFailed("cursor is not one this endpoint issued", code="invalid_cursor")
    return int(value)


async def list_courts(
    *, level: CourtLevel | None = None, limit: int = 50, cursor: str | None = None
) -> tuple[list[Court], str | None]:
    """Courts in seeding order, keyset-paginated on id."""
    query = Court.all()
    if level is not None:
        query = query.filter(level=level.value)
    after = _cursor(cursor)
    if after is not None:
        query = query.filter(id__gt=after)
    rows = await query.order_by("id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more and rows else None)


async def get_court(code: str) -> Court:
    """The court with this code (full-width input accepted); 404 when there is none."""
    try:
        code = validate_court_code(code)
    except CaseNumberError:
        raise NotFound("no such court") from None
    court = await Court.get_or_none(code=code)
    if court is None:
        raise NotFound("no such court")
    return court


def court_fee_schedule(court: Court) -> CourtFeeSchedule:
    return CourtFeeSchedule.model_validate(court.fee_schedule)


async def search_causes(
    q: str | None = None,
    *,
    internet_only: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[CauseOfAction], str | None]:
    """Causes in catalogue order; ``q`` matches the Chinese or English name or the code."""
    query = CauseOfAction.all()
    if q:
        q = unicodedata.normalize("NFKC", q).strip()
        query = query.filter(
            Q(name_zh__icontains=q) | Q(name_en__icontains=q) | Q(code__icontains=q)
        )
    if internet_only:
        query = query.filter(internet_category__isnull=False)
    after = _cursor(cursor)
    if after is not None:
        query = query.filter(position__gt=after)
    rows = await query.order_by("position").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].position) if more and rows else None)


def cause_path(cause: CauseOfAction | Cause) -> tuple[str, str]:
    """(Chinese, English) hierarchy: part › category › [parent cause ›] cause."""
    zh = [cause.part_zh, cause.category_zh]
    en = [cause.part_en, cause.category_en]
    parent = CAUSES_BY_CODE.get(cause.parent_code or "")
    if parent is not None:
        zh.append(parent.name_zh)
        en.append(parent.name_en)
    zh.append(cause.name_zh)
    en.append(cause.name_en)
    return " › ".join(zh), " › ".join(en)
