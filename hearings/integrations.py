"""Hearings on the filing dashboard (``CASE_ACTIVITY_SOURCES``).

- video hearings: the viewer's next hearing (scheduled or under way, the viewer invited and not
  removed);
- asynchronous hearings: the open stage's window closing, as a deadline of the case.

One query per source per dashboard page, on indexed columns (``filing_id``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from uuid import UUID

from aiohttp import web

from backend.appkeys import DATABASE
from backend.db import Database
from backend.db import as_uuid as _uuid
from backend.db import ids_clause as _ids_clause
from filing.activity import CASE_ACTIVITY_SOURCES, CaseActivity, Deadline
from hearings.models import VideoHearingStatus
from identity.idcard import CHINA_TZ

UPCOMING = (
    VideoHearingStatus.SCHEDULED.value,
    VideoHearingStatus.LOBBY_OPEN.value,
    VideoHearingStatus.IN_SESSION.value,
    VideoHearingStatus.RECESS.value,
)
STAGE_LABEL = ("异步审理阶段截止", "the asynchronous hearing stage closes")


def _moment(value: object) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class VideoHearingActivitySource:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def activity(
        self, case_ids: Sequence[UUID], viewer_account_id: UUID
    ) -> Mapping[UUID, CaseActivity]:
        db = self.database
        where, params = _ids_clause(db, "h.filing_id", case_ids)
        statuses = ", ".join("?" for _ in UPCOMING)
        rows = await db.read(
            db.sql(
                "SELECT h.filing_id AS case_id, h.starts_at AS starts_at FROM hearing_video h "
                f"WHERE {where} AND h.status IN ({statuses}) AND EXISTS ("
                "SELECT 1 FROM hearing_video_participant p WHERE p.hearing_id = h.id "
                "AND p.account_id = ? AND p.removed_at IS NULL)"
            ),
            *params,
            *UPCOMING,
            db.uuid_param(viewer_account_id),
        )
        earliest: dict[UUID, datetime] = {}
        for row in rows:
            case_id, at = _uuid(row["case_id"]), _moment(row["starts_at"])
            if case_id not in earliest or at < earliest[case_id]:
                earliest[case_id] = at
        return {case_id: CaseActivity(next_hearing=at) for case_id, at in earliest.items()}


class AsyncHearingActivitySource:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def activity(
        self, case_ids: Sequence[UUID], viewer_account_id: UUID
    ) -> Mapping[UUID, CaseActivity]:
        db = self.database
        where, params = _ids_clause(db, "h.filing_id", case_ids)
        rows = await db.read(
            db.sql(
                "SELECT h.filing_id AS case_id, s.closes_at AS closes_at "
                "FROM async_hearing h JOIN async_stage s ON s.hearing_id = h.id "
                f"WHERE {where} AND s.status = 'open' AND s.closes_at IS NOT NULL"
            ),
            *params,
        )
        out: dict[UUID, CaseActivity] = {}
        for row in rows:
            closes = _moment(row["closes_at"]).astimezone(CHINA_TZ).date()
            case_id = _uuid(row["case_id"])
            current = out.get(case_id)
            if current is None or (
                current.next_deadline is not None and closes < current.next_deadline.on
            ):
                out[case_id] = CaseActivity(
                    next_deadline=Deadline(closes, "async_stage", *STAGE_LABEL)
                )
        return out


async def activity_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register both sources (append after the database context)."""
    app[CASE_ACTIVITY_SOURCES].append(VideoHearingActivitySource(app[DATABASE]))
    app[CASE_ACTIVITY_SOURCES].append(AsyncHearingActivitySource(app[DATABASE]))
    yield
