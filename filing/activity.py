"""What is coming up in a case, for the dashboard: deadlines, hearings, unread documents.

Most of it belongs to other domains (electronic service knows deadlines and unread documents,
hearings knows hearing times), so the dashboard does not read their tables. Each domain registers
a :class:`CaseActivitySource` in the app's ``CASE_ACTIVITY_SOURCES`` list; the dashboard asks every
source once per page (batched: all case ids of the page together) and merges the answers: the
earliest deadline, the earliest hearing, the sum of unread documents.

Filing's own deadlines (answering a correction notice; paying the fee, Decree 481 Art. 22: 7
days from the fee notice, or the date a granted deferral set) come from the filing rows the
dashboard reads for its page anyway (:func:`filing_deadline`), so filing registers no source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from aiohttp import web

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
    sources: Sequence[CaseActivitySource],
    case_ids: Sequence[UUID],
    viewer_account_id: UUID,
    *,
    concurrent: bool = False,
    own: Mapping[UUID, CaseActivity] | None = None,
) -> dict[UUID, CaseActivity]:
    """Every source's answer for ``case_ids``, merged per case with ``own`` (what the caller
    already knows, e.g. filing's deadlines read with the page).

    ``concurrent``: ask the sources at once. Worth it on PostgreSQL, where each source waits on
    its own pooled connection; on SQLite the reads run on the event loop anyway, so tasks would
    only add their cost.
    """
    if not case_ids:
        return {}
    answers: list[Mapping[UUID, CaseActivity]]
    if concurrent and len(sources) > 1:
        answers = list(
            await asyncio.gather(*(s.activity(case_ids, viewer_account_id) for s in sources))
        )
    else:
        answers = [await source.activity(case_ids, viewer_account_id) for source in sources]
    if own:
        answers.append(own)
    merged: dict[UUID, CaseActivity] = {}
    for case_id in case_ids:
        parts = [a[case_id] for a in answers if case_id in a]
        if not parts:
            merged[case_id] = NO_ACTIVITY
        elif len(parts) == 1:
            merged[case_id] = parts[0]
        else:
            merged[case_id] = merge(parts)
    return merged


CORRECTION_LABEL = ("补正期限", "deadline to answer the correction notice")
FEE_LABEL = ("缴纳诉讼费期限", "deadline to pay the case fee")


def filing_deadline(
    status: str,
    *,
    correction_deadline: date | None,
    fee_due_on: date | None,
    fee_paid: bool,
    amount_due: Decimal | None,
) -> Deadline | None:
    """Filing's own next deadline for one case, from its row (the dashboard reads it with the
    page, so it costs no query of its own): answering the open correction notice, or paying an
    unpaid fee that is not nothing (``amount_due``: ``filing.fees.amount_due``). The two never
    run at once (a correction comes before registration, the fee after it)."""
    if status == FilingStatus.CORRECTION_REQUESTED:
        if correction_deadline is not None:
            return Deadline(correction_deadline, "correction", *CORRECTION_LABEL)
    elif (
        status == FilingStatus.REGISTERED
        and fee_due_on is not None
        and not fee_paid
        and amount_due is not None
        and amount_due > 0
    ):
        return Deadline(fee_due_on, "fee_payment", *FEE_LABEL)
    return None
