"""Missed windows (Art. 25): the party explains, the judge accepts or rejects the reason.

A rejected reason (or none) means the absence counts as refusing to appear.
"""

from __future__ import annotations

from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor, Principal
from backend.errors import Conflict, NotFound
from filing.filings import add_event
from hearings.asynchronous.access import RESOURCE, Case
from hearings.asynchronous.models import AsyncHearing, MissedWindow
from hearings.asynchronous.preparation import utcnow


async def missed_windows(hearing: AsyncHearing) -> list[MissedWindow]:
    """The hearing's missed windows, oldest first, each with its stage (``row.stage.kind``)."""
    return (
        await MissedWindow.filter(hearing_id=hearing.id)
        .select_related("stage")
        .order_by("recorded_at")
    )


async def _missed(hearing: AsyncHearing, missed_id: UUID, conn: BaseDBAsyncClient) -> MissedWindow:
    # The stage comes in the same query for the answer's label; only the missed window is locked
    # (PostgreSQL refuses FOR UPDATE on the nullable side of the outer join anyway).
    row = (
        await MissedWindow.filter(id=missed_id, hearing_id=hearing.id)
        .using_db(conn)
        .select_related("stage")
        .select_for_update(of=(MissedWindow._meta.db_table,))
        .first()
    )
    if row is None:
        raise NotFound("no such missed window")
    return row


async def give_reason(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
    missed_id: UUID,
    reason: str,
) -> MissedWindow:
    row = await _missed(hearing, missed_id, conn)
    # Only the party that missed the window (or its lawyer) explains it; another party's
    # absence, even on the same side, is not yours to explain.
    mine = (
        case.acts_for(principal, row.party_id)
        if row.party_id is not None
        else row.party_role == case.role_of(principal)
    )
    if not mine:
        raise NotFound("no such missed window")
    if row.decision is not None:
        raise Conflict("法官已作出决定 / the judge has already decided", code="already_decided")
    row.reason, row.reason_by_id, row.reason_at = reason, principal.account_id, utcnow()
    await row.save(using_db=conn)
    await audit.record(
        conn,
        actor,
        "async_hearing.missed_reason",
        RESOURCE,
        str(case.filing.id),
        {"missed_id": str(row.id)},
    )
    await add_event(
        conn,
        case.filing,
        "async_missed_reason",
        principal.account_id,
        {"missed_id": str(row.id), "party_id": str(row.party_id), "party_role": row.party_role},
    )
    return row


async def decide(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    case: Case,
    hearing: AsyncHearing,
    principal: Principal,
    missed_id: UUID,
    accepted: bool,
    note: str,
) -> MissedWindow:
    row = await _missed(hearing, missed_id, conn)
    if row.decision is not None:
        raise Conflict("法官已作出决定 / already decided", code="already_decided")
    row.decision = "accepted" if accepted else "rejected"
    row.decision_note, row.decided_by_id, row.decided_at = note, principal.account_id, utcnow()
    await row.save(using_db=conn)
    details = {
        "missed_id": str(row.id),
        "decision": row.decision,
        "party_id": str(row.party_id),
        "party_role": row.party_role,
    }
    await audit.record(
        conn, actor, "async_hearing.missed_decision", RESOURCE, str(case.filing.id), details
    )
    await add_event(conn, case.filing, "async_missed_decided", principal.account_id, details)
    return row


def consequence(row: MissedWindow) -> tuple[str, str] | None:
    """What the absence means now, in Chinese and English."""
    if row.decision == "accepted":
        return ("理由成立，不视为拒不到庭", "good reason accepted: not a refusal to appear")
    if row.decision == "rejected":
        return (
            "无正当理由，视为拒不到庭（在线诉讼规则第二十五条）",
            "no good reason: counts as refusing to appear (Art. 25)",
        )
    return None
