"""The 7-day decision clock (CPL Art. 126) watched for the court administrator.

``clock_alerts`` lists a court's pending filings with little or no time left; the periodic
durable job ``filing.clock_sweep`` marks each newly overdue filing once (a court-only timeline
event and an audit event, keyed on the decision date so a clock restarted by a correction can be
flagged again) and schedules its own next run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from backend.appkeys import SETTINGS
from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from backend.jobs.queue import JobContext, JobRegistry, enqueue
from backend.settings import Settings
from filing.access import RESOURCE
from filing.filings import add_event
from filing.models import Filing
from filing.workflow import PENDING_REVIEW, china_date, utcnow

log = logging.getLogger("mobile_court.filing.clock")

SWEEP_JOB = "filing.clock_sweep"
SWEEP_BATCH = 500


@dataclass(frozen=True, slots=True)
class ClockAlert:
    filing: Filing
    days_left: int
    seconds_left: int  # until the end of the decision day (China time); negative when over
    over_limit: bool
    flagged: bool  # the overdue event was raised for this clock


def decision_deadline(due_on: date) -> datetime:
    """The end of the decision day: the next midnight, China time."""
    from identity.idcard import CHINA_TZ

    return datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=CHINA_TZ)


async def clock_alerts(
    court_code: str, alert_days: int, *, now: datetime, offset: int, limit: int
) -> tuple[list[ClockAlert], bool]:
    """Pending filings of ``court_code`` whose decision is due within ``alert_days`` days or is
    overdue, the most urgent first; and whether there are more."""
    today = china_date(now)
    rows = (
        await Filing.filter(
            competent_court_code=court_code,
            status__in=[s.value for s in PENDING_REVIEW],
            decision_due_on__lte=today + timedelta(days=alert_days),
        )
        .order_by("decision_due_on", "received_at", "id")
        .offset(offset)
        .limit(limit + 1)
    )
    alerts = []
    for f in rows[:limit]:
        assert f.decision_due_on is not None  # filtered on it
        days = (f.decision_due_on - today).days
        alerts.append(
            ClockAlert(
                filing=f,
                days_left=days,
                seconds_left=int((decision_deadline(f.decision_due_on) - now).total_seconds()),
                over_limit=days < 0,
                flagged=f.clock_alerted_due_on == f.decision_due_on,
            )
        )
    return alerts, len(rows) > limit


async def flag_overdue(audit: AuditLog, *, now: datetime | None = None) -> int:
    """Raise the overdue event once for every pending filing past its decision date; the number
    raised now. Safe to run concurrently and repeatedly (row lock and re-check)."""
    now = now or utcnow()
    today = china_date(now)
    # Flagged filings stay overdue until decided: left out in SQL, under the batch limit, rather
    # than loaded on every sweep.
    due = (
        await Filing.filter(
            Q(clock_alerted_due_on__isnull=True) | ~Q(clock_alerted_due_on=F("decision_due_on")),
            status__in=[s.value for s in PENDING_REVIEW],
            decision_due_on__lt=today,
        )
        .order_by("decision_due_on", "id")
        .limit(SWEEP_BATCH)
        .values_list("id", flat=True)
    )
    raised = 0
    actor = Actor.system("filing.clock_sweep")
    for filing_id in due:
        async with in_transaction() as conn:
            filing = await Filing.select_for_update().using_db(conn).get(id=filing_id)
            if (
                filing.status not in {s.value for s in PENDING_REVIEW}
                or filing.decision_due_on is None
                or filing.decision_due_on >= today
                or filing.clock_alerted_due_on == filing.decision_due_on
            ):
                continue
            filing.clock_alerted_due_on = filing.decision_due_on
            await filing.save(using_db=conn, update_fields=["clock_alerted_due_on", "updated_at"])
            details = {
                "court": filing.competent_court_code or filing.receiving_court_code,
                "decision_due_on": str(filing.decision_due_on),
                "days_over": (today - filing.decision_due_on).days,
            }
            # For the court: the administrator's console; parties see the decision when it comes.
            await add_event(
                conn, filing, "review_clock_overdue", None, details, visibility="court", at=now
            )
            await audit.record(
                conn, actor, "filing.clock_overdue", RESOURCE, str(filing.id), details
            )
            raised += 1
    return raised


async def schedule_sweep(settings: Settings, *, after_slot: int | None = None) -> None:
    """Enqueue the sweep of a time slot (``interval`` seconds; one job per slot however many
    servers or workers ask): the current slot at start, the next one after each run. A slot
    already past (workers were down) is skipped to the current one."""
    interval = settings.filing_clock_sweep_interval_s
    now = utcnow()
    current = int(now.timestamp()) // interval
    if after_slot is None:
        slot, run_at = current, now
    else:
        slot = max(after_slot + 1, current)
        run_at = max(now, datetime.fromtimestamp(slot * interval, UTC))
    async with in_transaction() as conn:
        await enqueue(
            conn, SWEEP_JOB, {"slot": slot}, run_at=run_at, dedupe_key=f"{SWEEP_JOB}:{slot}"
        )


def register_jobs(registry: JobRegistry, settings: Settings) -> None:
    audit: list[AuditLog] = []  # built on first use: the worker may run without the HTTP app

    async def sweep(payload: dict[str, Any], ctx: JobContext) -> None:
        if not audit:
            from backend.keys import load_keyring

            audit.append(AuditLog(load_keyring(settings).server_key))
        # The next run first, so a failing sweep (retried, perhaps buried) keeps the chain alive.
        await schedule_sweep(settings, after_slot=int(payload.get("slot", 0)))
        raised = await flag_overdue(audit[0])
        if raised:
            log.info("review clock overdue: %d filings flagged", raised)

    registry.register(SWEEP_JOB, sweep)


async def clock_ctx(app: web.Application) -> AsyncIterator[None]:
    """Make sure the periodic sweep is queued (it then reschedules itself). Every server does it,
    also one that leaves its jobs to standalone workers (``MC_RUN_WORKER=false``); the per-slot
    dedupe key keeps it to one job."""
    await schedule_sweep(app[SETTINGS])
    yield
