"""How a scheduled hearing's notice goes out.

The notice is served through electronic service (service_of_process), which is plugged in by
registering a :class:`HearingNoticeSender` under :data:`HEARING_NOTICE_SENDER`. Until then the
default sender records the notice as pending on the hearing and on the case timeline, so court
staff can see that it still has to be served.

The notice is rendered (:meth:`HearingNoticeSender.prepare`) before the scheduling transaction
opens, so the transaction never waits for a PDF.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient

from backend.auth.principal import Actor
from hearings.models import VideoHearing, VideoParticipant

if TYPE_CHECKING:
    from filing.models import Filing


class HearingNoticeSender(Protocol):
    async def prepare(self, filing: Filing, title: str, starts_at: datetime) -> object:
        """Called before the scheduling transaction: the slow part of :meth:`send_notice`
        (rendering), whose result is handed to it. Raising aborts the scheduling."""
        ...

    async def send_notice(
        self,
        conn: BaseDBAsyncClient,
        hearing: VideoHearing,
        participants: list[VideoParticipant],
        actor: Actor,
        prepared: object = None,
    ) -> str:
        """Called inside the scheduling transaction with what :meth:`prepare` returned (None:
        nothing was prepared); returns the hearing's notice status (e.g. "pending", "sent").
        Raising aborts the scheduling."""
        ...


class PendingNoticeSender:
    """Records the notice as pending (no electronic service wired in yet)."""

    async def prepare(self, filing: Filing, title: str, starts_at: datetime) -> object:
        return None

    async def send_notice(
        self,
        conn: BaseDBAsyncClient,
        hearing: VideoHearing,
        participants: list[VideoParticipant],
        actor: Actor,
        prepared: object = None,
    ) -> str:
        from filing.filings import add_event
        from filing.models import Filing

        filing = await Filing.get(id=hearing.filing_id, using_db=conn)
        await add_event(
            conn,
            filing,
            "video_hearing_notice_pending",
            hearing.scheduled_by_id,
            {
                "hearing_id": str(hearing.id),
                "recipient_count": sum(1 for p in participants if p.role in ("party", "lawyer")),
            },
            visibility="court",
        )
        return "pending"


HEARING_NOTICE_SENDER = web.AppKey("hearing_notice_sender", HearingNoticeSender)
