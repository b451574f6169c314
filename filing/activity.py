"""What is coming up in a case, for the dashboard: deadlines, hearings, unread documents.

Most of it belongs to other domains (electronic service knows deadlines and unread documents,
hearings knows hearing times), so the dashboard does not read their tables. Each domain registers
a :class:`CaseActivitySource` in the app's ``CASE_ACTIVITY_SOURCES`` list; the dashboard asks every
source once per page (batched: all case ids of the page together) and merges the answers: the
earliest deadline, the earliest hearing, the sum of unread documents.

Filing's own source knows two deadlines: answering a correction notice and paying the fee
(Decree 481 Art. 22: 7 days from the fee notice, or the date a granted deferral set).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from aiohttp import web

from backend.appkeys import DATABASE
from backend.db import Database
from filing.models import FilingStatus


@dataclass(frozen=True, slots=True)
class Deadline:
    on: date
    kind: str  # machine code, e.g. "correction", "fee_payment", "defence"
    label_zh: str
    label_en: str


@dataclass(frozen=True, slots=True)
class CaseActivity:
    next_deadline: Deadline | None = None
    next_hearing: datetime | None = None
    unread_documents: int = 0


NO_ACTIVITY = CaseActivity()


class CaseActivitySource(Protocol):
    """One domain's view of what is coming up in cases.

    ``activity`` is called once per dashboard page with every case id of the page; it must answer
    with one batched query (no query per case) and may leave out cases it knows nothing of.
    ``viewer_account_id`` is whoever looks, for per-reader facts such as unread documents.
    """

    async def activity(
        self, case_ids: Sequence[UUID], viewer_account_id: UUID
    ) -> Mapping[UUID, CaseActivity]: ...


CASE_ACTIVITY_SOURCES = web.AppKey[list[CaseActivitySource]]("case_activity_sources")


def merge(parts: Sequence[CaseActivity]) -> CaseActivity:
    """Earliest deadline (ties: by kind, so the answer is stable), earliest hearing, summed
    unread documents."""
    deadlines = [p.next_deadline for p in parts if p.next_deadline is not None]
    hearings = [p.next_hearing for p in parts if p.next_hearing is not None]
    return CaseActivity(
        next_deadline=min(deadlines, key=lambda d: (d.on, d.kind)) if deadlines else None,
        next_hearing=min(hearings) if hearings else None,
        unread_documents=sum(p.unread_documents for p in parts),
    )


async def gather_activity(
    sources: Sequence[CaseActivitySource], case_ids: Sequence[UUID], viewer_account_id: UUID
) -> dict[UUID, CaseActivity]:
    if not case_ids:
        return {}
    answers = [await source.activity(case_ids, viewer_account_id) for source in sources]
    merged: dict[UUID, CaseActivity] = {}
    for case_id in case_ids:
        parts = [a[case_id] for a in answers if case_id in a]
        merged[case_id] = merge(parts) if parts else NO_ACTIVITY
    return merged


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


CORRECTION_LABEL = ("补正期限", "deadline to answer the correction notice")
FEE_LABEL = ("缴纳诉讼费期限", "deadline to pay the case fee")


class FilingActivitySource:
    """Filing's deadlines: an unanswered correction notice, an unpaid fee."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def activity(
        self, case_ids: Sequence[UUID], viewer_account_id: UUID
    ) -> Mapping[UUID, CaseActivity]:
        db = self.database
        ids = [db.uuid_param(i) for i in case_ids]
        params: list[Any]
        if db.is_postgres:
            where, params = "f.id = ANY(?::uuid[])", [ids]
        else:
            where, params = f"f.id IN ({', '.join('?' for _ in ids)})", ids
        rows = await db.read(
            db.sql(
                "SELECT f.id, f.status, f.fee_due_on, f.fee_paid_at, f.fee_total, "
                "f.fee_payable, c.deadline AS correction_deadline "
                "FROM filing_filing f LEFT JOIN filing_correction c "
                "ON c.filing_id = f.id AND c.answered_at IS NULL "
                f"WHERE {where}"
            ),
            *params,
        )
        out: dict[UUID, CaseActivity] = {}
        for row in rows:
            deadlines: list[Deadline] = []
            correction = _as_date(row["correction_deadline"])
            if correction is not None and row["status"] == FilingStatus.CORRECTION_REQUESTED:
                deadlines.append(Deadline(correction, "correction", *CORRECTION_LABEL))
            fee_due = _as_date(row["fee_due_on"])
            if (
                fee_due is not None
                and row["status"] == FilingStatus.REGISTERED
                and row["fee_paid_at"] is None
                and fee_outstanding(row["fee_total"], row["fee_payable"])
            ):
                deadlines.append(Deadline(fee_due, "fee_payment", *FEE_LABEL))
            if deadlines:
                case_id = row["id"] if isinstance(row["id"], UUID) else UUID(row["id"])
                out[case_id] = CaseActivity(next_deadline=min(deadlines, key=lambda d: d.on))
        return out


def fee_outstanding(total: object, payable: object) -> bool:
    """Is anything to pay? ``payable`` (after a granted reduction or waiver) wins over ``total``."""
    amount = payable if payable is not None else total
    return amount is not None and Decimal(str(amount)) > 0


async def activity_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register filing's source (append after the database context)."""
    app[CASE_ACTIVITY_SOURCES].append(FilingActivitySource(app[DATABASE]))
    yield
