"""Durable jobs of video hearings: the lobby opens by the clock.

Scheduling a hearing enqueues ``hearings.video_lobby_open`` (in the scheduling transaction) to
run when the lobby is due, 30 minutes before the start; the job moves the hearing to
``lobby_open`` as the system actor, audited and on the case timeline. Whoever looks at a due
hearing before a lagging worker got to it opens it the same way (video_service.open_lobby_if_due);
the row lock and the status check make the two idempotent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from backend.audit.service import AuditLog
from backend.errors import NotFound
from backend.jobs.queue import JobContext, JobRegistry
from backend.settings import Settings
from hearings.models import VideoHearingStatus
from hearings.video_service import (
    LOBBY_JOB,
    get_hearing,
    lobby_opens_at,
    open_lobby_if_due,
    schedule_lobby_opening,
)

log = logging.getLogger("mobile_court.hearings.jobs")


def register_jobs(registry: JobRegistry, settings: Settings) -> None:
    audit: list[AuditLog] = []  # built on first use: the worker may run without the HTTP app

    async def open_lobby(payload: dict[str, Any], ctx: JobContext) -> None:
        if not audit:
            from backend.keys import load_keyring

            audit.append(AuditLog(load_keyring(settings).server_key))
        now = datetime.now(UTC)
        async with in_transaction() as conn:
            try:
                hearing = await get_hearing(UUID(payload["hearing_id"]), conn)
            except NotFound:
                return  # the hearing is gone
            if hearing.status != VideoHearingStatus.SCHEDULED:
                return  # opened already (someone looked first)
            if now < lobby_opens_at(hearing):
                # The start was moved later: the lobby opens then.
                await schedule_lobby_opening(conn, hearing)
                return
            await open_lobby_if_due(conn, audit[0], hearing, now=now)
            log.info("lobby of video hearing %s opened by the clock", hearing.id)

    registry.register(LOBBY_JOB, open_lobby)
