"""The lawyer's and litigant's dashboard: every case I am a party to (through my account) or act
in under an unrevoked power of attorney, newest first, with what is coming up in each.

Two indexed queries find the page (my memberships; then the filings with court and cause names
and filing's own deadlines); the registered activity sources then answer for the whole page at
once, concurrently on PostgreSQL (see ``filing.activity``). It reads committed data outside any
transaction (``Database.read``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from backend.db import Database, as_date, as_uuid, ids_clause
from backend.errors import ValidationFailed
from filing.activity import CaseActivity, CaseActivitySource, filing_deadline, gather_activity
from filing.fees import amount_due
from filing.models import FilingStatus

STATUS_LABELS: dict[str, tuple[str, str]] = {
    FilingStatus.DRAFT: ("草稿", "draft"),
    FilingStatus.SUBMITTED: ("已提交，待审查", "submitted, awaiting review"),
    FilingStatus.CORRECTION_REQUESTED: ("待补正", "corrections requested"),
    FilingStatus.RESUBMITTED: ("已补正，待审查", "corrected, awaiting review"),
    FilingStatus.FORWARDED: ("已转交管辖法院", "forwarded to the competent court"),
    FilingStatus.REGISTERED: ("已立案", "registered"),
    FilingStatus.REFUSED: ("不予受理", "refused"),
}


class FeeState:
    NONE = "none"  # no fee notice yet
    NOT_DUE = "not_due"  # nothing to prepay (e.g. Art. 20 labour remuneration)
    DUE = "due"
    OVERDUE = "overdue"
    PAID = "paid"
    WAIVED = "waived"


@dataclass(frozen=True, slots=True)
class Membership:
    capacity: str  # "party" (my own account) or "agent" (power of attorney)
    party_role: str
    party_name: str


@dataclass(frozen=True, slots=True)
class FeeView:
    state: str
    amount: Decimal | None
    due_on: date | None
    relief: str | None


@dataclass(slots=True)
class DashboardCase:
    id: UUID
    status: str
    case_number: str | None
    court_code: str
    court_name_zh: str | None
    court_name_en: str | None
    cause_code: str
    cause_name_zh: str | None
    cause_name_en: str | None
    fee: FeeView
    memberships: list[Membership] = field(default_factory=list)
    activity: CaseActivity = field(default_factory=CaseActivity)


# Two indexed queries: my memberships (as a party's account, or as an agent under an unrevoked
# power of attorney), then the newest page of those filings by primary key with the court and
# cause names. (One query with the memberships as a CTE let PostgreSQL pick a sequential scan of
# every filing for the semi-join; an explicit id list is always a primary-key lookup.)
MEMBERSHIPS_SQL = """
SELECT p.filing_id, 'party' AS capacity, p.role AS party_role, p.name AS party_name
FROM filing_party p WHERE p.account_id = ?
UNION ALL
SELECT p.filing_id, 'agent' AS capacity, p.role AS party_role, p.name AS party_name
FROM filing_representation r JOIN filing_party p ON p.id = r.party_id
WHERE r.lawyer_account_id = ? AND r.revoked_at IS NULL
"""
# Filing's own deadlines come with the page: the open correction notice's deadline is read only
# for a filing waiting on one (its index is on filing_id).
PAGE_SQL = """
SELECT f.id, f.created_at, f.status, f.case_number, f.cause_code,
       COALESCE(f.competent_court_code, f.receiving_court_code) AS court_code,
       f.fee_total, f.fee_payable, f.fee_relief, f.fee_due_on, f.fee_paid_at,
       ct.name_zh AS court_name_zh, ct.name_en AS court_name_en,
       ca.name_zh AS cause_name_zh, ca.name_en AS cause_name_en,
       CASE WHEN f.status = 'correction_requested' THEN (
           SELECT MIN(c.deadline) FROM filing_correction c
           WHERE c.filing_id = f.id AND c.answered_at IS NULL
       ) END AS correction_deadline
FROM filing_filing f
LEFT JOIN filing_court ct ON ct.code = COALESCE(f.competent_court_code, f.receiving_court_code)
LEFT JOIN filing_cause ca ON ca.code = f.cause_code
WHERE {ids} {after}
ORDER BY f.created_at DESC, f.id DESC
LIMIT ?
"""
AFTER_SQL = "AND (f.created_at < ? OR (f.created_at = ? AND f.id < ?))"


def _encode_cursor(created_at: Any, case_id: Any) -> str:
    stamp = created_at.isoformat() if isinstance(created_at, datetime) else str(created_at)
    raw = json.dumps([stamp, str(case_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, case_id = json.loads(raw)
        datetime.fromisoformat(stamp)
        return str(stamp), UUID(case_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise ValidationFailed(
            "cursor is not one this endpoint issued",
            code="invalid_cursor",
            errors=[{"location": "query", "field": "cursor", "message": "invalid cursor"}],
        ) from None


def fee_view(
    row: dict[str, Any], amount: Decimal | None, due_on: date | None, today: date
) -> FeeView:
    """``amount``: ``filing.fees.amount_due`` of the row; ``due_on``: its fee_due_on."""
    if row["fee_total"] is None or amount is None:
        return FeeView(FeeState.NONE, None, None, None)
    relief = row["fee_relief"]
    if row["fee_paid_at"] is not None:
        return FeeView(FeeState.PAID, amount, due_on, relief)
    if amount <= 0:
        state = FeeState.WAIVED if relief == "waiver" else FeeState.NOT_DUE
        return FeeView(state, amount, None, relief)
    state = FeeState.OVERDUE if due_on is not None and due_on < today else FeeState.DUE
    return FeeView(state, amount, due_on, relief)


async def dashboard_page(
    database: Database,
    sources: Sequence[CaseActivitySource],
    viewer_account_id: UUID,
    *,
    limit: int,
    cursor: str | None,
    today: date,
) -> tuple[list[DashboardCase], str | None]:
    after_params: list[Any] = []
    after = ""
    if cursor is not None:
        stamp, after_id = _decode_cursor(cursor)
        at: Any = datetime.fromisoformat(stamp) if database.is_postgres else stamp
        after = AFTER_SQL
        after_params = [at, at, database.uuid_param(after_id)]
    who = database.uuid_param(viewer_account_id)
    memberships: dict[UUID, list[Membership]] = {}
    for row in await database.read(database.sql(MEMBERSHIPS_SQL), who, who):
        mine = memberships.setdefault(as_uuid(row["filing_id"]), [])
        membership = Membership(row["capacity"], row["party_role"], row["party_name"])
        if membership not in mine:
            mine.append(membership)
    if not memberships:
        return [], None

    where, id_params = ids_clause(database, "f.id", list(memberships))
    rows = await database.read(
        database.sql(PAGE_SQL.format(ids=where, after=after)),
        *id_params,
        *after_params,
        limit + 1,
    )
    cases: dict[UUID, DashboardCase] = {}
    own: dict[UUID, CaseActivity] = {}
    for row in rows[:limit]:
        case_id = as_uuid(row["id"])
        amount = amount_due(row["fee_total"], row["fee_payable"])
        due_on = None if row["fee_due_on"] is None else as_date(row["fee_due_on"])
        mine = memberships[case_id]
        if len(mine) > 1:
            mine.sort(key=lambda m: (m.capacity, m.party_role, m.party_name))
        cases[case_id] = DashboardCase(
            id=case_id,
            status=row["status"],
            case_number=row["case_number"],
            court_code=row["court_code"],
            court_name_zh=row["court_name_zh"],
            court_name_en=row["court_name_en"],
            cause_code=row["cause_code"],
            cause_name_zh=row["cause_name_zh"],
            cause_name_en=row["cause_name_en"],
            fee=fee_view(row, amount, due_on, today),
            memberships=mine,
        )
        correction = row["correction_deadline"]
        deadline = filing_deadline(
            row["status"],
            correction_deadline=None if correction is None else as_date(correction),
            fee_due_on=due_on,
            fee_paid=row["fee_paid_at"] is not None,
            amount_due=amount,
        )
        if deadline is not None:
            own[case_id] = CaseActivity(next_deadline=deadline)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(last["created_at"], last["id"])

    activity = await gather_activity(
        sources, list(cases), viewer_account_id, concurrent=database.is_postgres, own=own
    )
    for case_id, case in cases.items():
        case.activity = activity[case_id]
    return list(cases.values()), next_cursor


def status_label(status: str) -> tuple[str, str]:
    return STATUS_LABELS.get(status, (status, status))
