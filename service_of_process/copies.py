"""Copies for information of documents already served, for a party that links its account to
the case afterwards.

A defendant without an account is served by post; when it later links its WeChat account to
the case (Online Litigation Rules Art. 10) it should be able to read in the inbox what was
served on it. Serving again would be wrong: service is complete at the first effective
service (Art. 31: the earliest effective one counts; CPL Art. 85, 90) and the periods keep
running from it (不重新起算期间). So each delivery already served on the party gets a *copy*: a
delivery row marked ``copy_of_id`` with the original's service date and rule, no channels,
no receipt and no deadlines of its own.

The rule runs where service is settled (``service.refresh_services``), whatever fixed the date:
postal service recorded after the link, a public notice deemed served (30 days after
publication, 60 abroad) for a party that linked while it ran, or any later route. A date still
to come (a running public notice) is not service yet: a job at that moment makes the copies.
Each batch of copies gets one WeChat courtesy notice, through a job enqueued with the copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from backend.jobs.queue import enqueue
from filing.models import Party
from service_of_process.bulk import insert_rows
from service_of_process.consent import RESOURCE
from service_of_process.models import DeliveryStatus, ServiceDelivery, ServiceTask

JOB_COPY_DUE = "service.copy_due"
JOB_COPY_NOTICE = "service.copy_notice"

_COLUMNS = (
    "id",
    "task_id",
    "filing_id",
    "party_id",
    "recipient_name",
    "recipient_role",
    "recipient_abroad",
    "service_date",
    "service_rule",
    "service_evidence",
    "copy_of_id",
)


async def copy_served_documents(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    actor: Actor,
    *,
    filing_id: UUID,
    party_id: UUID,
    account_id: UUID,
) -> int:
    """Queue in ``conn`` a copy for ``account_id`` of every delivery already served on the
    party that has none yet, and one WeChat notice for them; the number queued (0: nothing to
    copy, no audit event, no notice)."""
    now = datetime.now(UTC)
    originals = (
        await ServiceDelivery.filter(
            filing_id=filing_id,
            party_id=party_id,
            copy_of_id__isnull=True,
            service_date__lte=now,
        )
        .using_db(conn)
        .order_by("created_at", "id")
    )
    copied = set(
        await ServiceDelivery.filter(copy_of_id__in=[d.id for d in originals])
        .using_db(conn)
        .values_list("copy_of_id", flat=True)
    )
    # A delivery that reached this very account needs no copy.
    todo = [d for d in originals if d.id not in copied and d.account_id != account_id]
    if not todo:
        return 0
    rows = [
        (
            uuid4(),
            d.task_id,  # type: ignore[attr-defined]
            d.filing_id,
            d.party_id,
            d.recipient_name,
            d.recipient_role,
            d.recipient_abroad,
            d.service_date,
            d.service_rule,
            {"copy_of": str(d.id)},
            d.id,
        )
        for d in todo
    ]
    # The unique copy_of_id settles a concurrent link of the same party: one copy each.
    await insert_rows(
        conn,
        ServiceDelivery,
        _COLUMNS,
        rows,
        defaults={
            "account_id": account_id,
            "status": DeliveryStatus.COPY.value,
            "stage": 0,
            "created_at": now,
        },
        ignore_conflicts=True,
    )
    case_number = (
        await ServiceTask.filter(id=todo[0].task_id)  # type: ignore[attr-defined]
        .using_db(conn)
        .values_list("case_number", flat=True)
    )[0]
    await enqueue(
        conn,
        JOB_COPY_NOTICE,
        {"account_id": str(account_id), "case_number": str(case_number)},
    )
    await audit.record(
        conn,
        actor,
        "service.copy_for_information",
        RESOURCE,
        str(filing_id),
        {"party_id": str(party_id), "copy_of": [str(d.id) for d in todo]},
    )
    return len(todo)


async def copy_for_linked_parties(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    deliveries: Sequence[ServiceDelivery],
    *,
    actor: Actor | None = None,
) -> None:
    """Copies of ``deliveries`` (just served or re-dated, as saved in ``conn``) for the accounts
    their parties linked since; for a service date still to come, a job at that moment."""
    # A delivery that reached an account needs no copy: that account is the party's for good
    # (a party links once), so only those sent to no account are looked at.
    unlinked = [d for d in deliveries if d.party_id is not None and d.account_id is None]
    now = datetime.now(UTC)
    due: set[UUID] = set()
    for d in unlinked:
        assert d.service_date is not None and d.party_id is not None
        if d.service_date <= now:
            due.add(d.party_id)
            continue
        # The date is in the key: a re-dated notice gets its own job (the old one is harmless).
        await enqueue(
            conn,
            JOB_COPY_DUE,
            {"delivery_id": str(d.id)},
            run_at=d.service_date,
            dedupe_key=f"svc-copy-due:{d.id}:{d.service_date.timestamp():.0f}",
        )
    if not due:
        return
    for party in await Party.filter(id__in=due, account_id__isnull=False).using_db(conn):
        assert party.account_id is not None
        await copy_served_documents(
            conn,
            audit,
            actor or Actor.system("service"),
            filing_id=party.filing_id,  # type: ignore[attr-defined]
            party_id=party.id,
            account_id=party.account_id,
        )
