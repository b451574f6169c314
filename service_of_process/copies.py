"""Copies for information of documents already served, for a party that links its account to
the case afterwards.

A defendant without an account is served by post; when it later links its WeChat account to
the case (Online Litigation Rules Art. 10) it should be able to read in the inbox what was
served on it. Serving again would be wrong: service is complete at the first effective
service (Art. 31: the earliest effective one counts; CPL Art. 85, 90) and the periods keep
running from it (不重新起算期间). So each delivery already served on the party gets a *copy*: a
delivery row marked ``copy_of_id`` with the original's service date and rule, no channels,
no receipt and no deadlines of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from service_of_process.bulk import insert_rows
from service_of_process.consent import RESOURCE
from service_of_process.models import DeliveryStatus, ServiceDelivery

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
    party that has none yet; the number queued (0: nothing to copy, no audit event)."""
    originals = (
        await ServiceDelivery.filter(
            filing_id=filing_id,
            party_id=party_id,
            copy_of_id__isnull=True,
            service_date__isnull=False,
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
            "created_at": datetime.now(UTC),
        },
        ignore_conflicts=True,
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
