"""Service tasks: creating them (from the console or from other domains, inside the caller's
transaction), fixing the service date from what happened, deadlines, receipts and access logs.

No HTTP here. Delivery itself runs on durable jobs (``service_of_process.jobs``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.models import Account
from backend.auth.principal import Actor
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.fieldcrypto import FieldCipher
from backend.jobs.queue import enqueue
from backend.storage.blobs import BlobStore, StoredBlob
from backend.storage.service import get_file, register_file
from backend.storage.sniff import FileKind
from filing.models import CauseOfAction, Court, Filing, FilingStatus, Party, Representation
from service_of_process.bulk import update_rows
from service_of_process.calendar import CalendarNotCovered, compute_deadline
from service_of_process.consent import RESOURCE, consents_of
from service_of_process.copies import copy_for_linked_parties
from service_of_process.documents import (
    DocumentContext,
    DocumentKind,
    document_title,
    render_document,
)
from service_of_process.models import (
    Channel,
    ConsentBasis,
    DeliveryStatus,
    ServiceAccess,
    ServiceAttempt,
    ServiceDeadline,
    ServiceDelivery,
    ServiceDocument,
    ServiceRule,
    ServiceTask,
)
from service_of_process.rules import (
    AttemptFacts,
    court_date,
    deadline_rules_for,
    effective_service,
)

JOB_FAN_OUT = "service.fan_out"
JOB_DELIVER = "service.deliver"
JOB_ESCALATE = "service.escalate"
JOB_REPORT = "service.report"


class Fallback(StrEnum):
    POSTAL = "postal"
    PUBLIC_NOTICE = "public_notice"


@dataclass(frozen=True)
class Plan:
    """Stages of channels sent together; a stage not effective within ``escalate_after_s``
    moves to the next; after the last, the fallback."""

    stages: tuple[tuple[Channel, ...], ...]
    fallback: Fallback
    escalate_after_s: int

    def check(self) -> None:
        seen: set[Channel] = set()
        if not self.stages or any(not stage for stage in self.stages):
            raise _invalid("plan", "give at least one stage, each with at least one channel")
        for stage in self.stages:
            for channel in stage:
                if channel in seen:
                    raise _invalid("plan", f"channel {channel.value} appears twice")
                seen.add(channel)


@dataclass(frozen=True)
class PreparedDocument:
    """A document ready to serve: an uploaded file (``file_id``) or a rendered, stored blob
    with the ``context`` it was rendered from."""

    kind: DocumentKind
    file_id: UUID | None = None
    blob: StoredBlob | None = None
    context: DocumentContext | None = None


@dataclass(frozen=True)
class RecipientRef:
    """A party of the case (``party_id``) or an agent's account (``account_id``)."""

    party_id: UUID | None = None
    account_id: UUID | None = None
    # No domicile in the PRC (CPL Art. 285–286): the longer periods run from service. None:
    # from the party record (an agent: from the parties it speaks for); True/False: the
    # clerk's explicit choice, which overrides the record.
    abroad: bool | None = None


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {message}",
        errors=[{"location": "body", "field": field, "message": message, "type": "value_error"}],
    )


def utcnow() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class CaseFacts:
    """What every template document of a case prints about it: read once per batch of
    documents, not once per document."""

    court_name_zh: str
    cause_zh: str
    party_names: str


async def case_facts(filing: Filing, conn: BaseDBAsyncClient | None = None) -> CaseFacts:
    court_q = Court.filter(code=filing.competent_court_code or filing.receiving_court_code)
    cause_q = CauseOfAction.filter(code=filing.cause_code)
    parties_q = Party.filter(filing_id=filing.id).order_by("created_at", "id")
    if conn is not None:
        court_q, cause_q, parties_q = (
            court_q.using_db(conn),
            cause_q.using_db(conn),
            parties_q.using_db(conn),
        )
    court, cause = await court_q.first(), await cause_q.first()
    return CaseFacts(
        court_name_zh=court.name_zh if court else "",
        cause_zh=cause.name_zh if cause else filing.cause_code,
        # One document for every recipient of the task: it names the parties of the case.
        party_names="、".join(p.name for p in await parties_q),
    )


async def document_context(
    filing: Filing,
    body: dict[str, str],
    facts: CaseFacts | None = None,
    *,
    case_number: str | None = None,
) -> DocumentContext:
    """``case_number``: the number a case being registered is expected to get (rendering
    ahead of the registration), else the case's own."""
    facts = facts or await case_facts(filing)
    return DocumentContext(
        court_name_zh=facts.court_name_zh,
        case_number=case_number or filing.case_number or "",
        cause_zh=facts.cause_zh,
        recipient_name=facts.party_names,
        recipient_role_zh="当事人",
        issued_on=court_date(utcnow()),
        body=body,
    )


async def prepare_documents(
    blobs: BlobStore,
    filing: Filing,
    documents: Sequence[tuple[DocumentKind, dict[str, str]]],
    conn: BaseDBAsyncClient | None = None,
    *,
    case_number: str | None = None,
    ahead: Sequence[PreparedDocument] = (),
) -> list[PreparedDocument]:
    """Render and store template documents, reading the case once.

    Call it before opening the transaction that serves them and hand the result to
    ``serve_documents(..., ahead=...)``, so no transaction (nor the locks it holds) waits for
    PDFs to render. Inside the transaction the documents are derived again and each one
    rendered ahead from the very same context is reused; only a document whose inputs changed
    in between (a party renamed, the expected case number taken by another registration) is
    rendered there, so what is served always matches the case as committed.
    """
    facts = await case_facts(filing, conn)

    async def prepared(kind: DocumentKind, fields: dict[str, str]) -> PreparedDocument:
        context = await document_context(filing, fields, facts, case_number=case_number)
        for doc in ahead:
            if doc.kind is kind and doc.context == context:
                return doc
        return await prepare_generated(blobs, kind, context)

    return list(await asyncio.gather(*(prepared(k, f) for k, f in documents)))


async def prepare_generated(
    blobs: BlobStore, kind: DocumentKind, context: DocumentContext
) -> PreparedDocument:
    """Render a template document (off the event loop) and store it; call before the
    transaction that creates the task."""
    loop = asyncio.get_running_loop()
    try:
        pdf = await loop.run_in_executor(None, render_document, kind, context)
    except KeyError as exc:
        raise _invalid(
            "documents", f"the {kind.value} template needs the field {exc.args[0]!r}"
        ) from None
    blob = await blobs.put_bytes(pdf, allowed=frozenset({FileKind.PDF}))
    return PreparedDocument(kind=kind, blob=blob, context=context)


# ----------------------------------------------------------------------------- tasks


async def _recipients(
    conn: BaseDBAsyncClient, filing: Filing, refs: Sequence[RecipientRef]
) -> list[tuple[Party | None, UUID | None, str, str, bool]]:
    """(party, account, name, role, abroad) per reference; 422 for anyone not in the case."""
    if not refs:
        raise _invalid("recipients", "choose at least one recipient")
    parties = {p.id: p for p in await Party.filter(filing_id=filing.id).using_db(conn)}
    reps = await Representation.filter(
        party__filing_id=filing.id, revoked_at__isnull=True
    ).using_db(conn)
    agents = {r.lawyer_account_id for r in reps}
    # An agent served for a party abroad starts that party's periods, so any such party gives
    # the agent's delivery the longer ones: cutting a foreign party's period short would cost
    # it its defence or appeal, a longer one only gives a domestic co-party extra days.
    abroad_ids = {p.id for p in parties.values() if p.domiciled_abroad}
    agent_abroad = {r.lawyer_account_id for r in reps if r.party_id in abroad_ids}  # type: ignore[attr-defined]
    out: list[tuple[Party | None, UUID | None, str, str, bool]] = []
    seen: set[tuple[str, UUID]] = set()
    for ref in refs:
        if (ref.party_id is None) == (ref.account_id is None):
            raise _invalid("recipients", "give either party_id or account_id")
        if ref.party_id is not None:
            party = parties.get(ref.party_id)
            if party is None:
                raise _invalid("recipients", "not a party of this case")
            key = ("party", party.id)
            abroad = party.domiciled_abroad if ref.abroad is None else ref.abroad
            out.append((party, party.account_id, party.name, party.role, abroad))
        else:
            assert ref.account_id is not None
            if ref.account_id not in agents:
                raise _invalid("recipients", "not an agent in this case")
            account = await Account.filter(id=ref.account_id).using_db(conn).get()
            key = ("agent", ref.account_id)
            abroad = ref.account_id in agent_abroad if ref.abroad is None else ref.abroad
            out.append((None, ref.account_id, account.display_name, "agent", abroad))
        if key in seen:
            raise _invalid("recipients", "a recipient is listed twice")
        seen.add(key)
    return out


async def create_service_task(
    conn: BaseDBAsyncClient,
    cipher: FieldCipher,
    audit: AuditLog,
    actor: Actor,
    *,
    filing: Filing,
    documents: Sequence[PreparedDocument],
    recipients: Sequence[RecipientRef],
    plan: Plan,
    origin: str = "manual",
    origin_key: str | None = None,
    created_by: UUID | None = None,
) -> ServiceTask:
    """Create a service task in the caller's transaction ``conn`` and enqueue its fan-out.

    Other domains call this from their own transaction (filing registration → summons and
    notice of response; hearings → hearing notice; mediation → statement) with an
    ``origin_key`` so that a retried caller creates the task once.
    """
    if origin_key is not None:
        existing = await ServiceTask.filter(origin_key=origin_key).using_db(conn).first()
        if existing is not None:
            return existing
    if filing.status != FilingStatus.REGISTERED.value or not filing.case_number:
        raise Conflict(
            "only a registered case is served / 案件尚未立案，不能送达", code="case_not_registered"
        )
    plan.check()
    if not documents:
        raise _invalid("documents", "serve at least one document")
    people = await _recipients(conn, filing, recipients)
    court_code = filing.competent_court_code or filing.receiving_court_code
    court = await Court.filter(code=court_code).using_db(conn).first()
    now = utcnow()
    task = await ServiceTask.create(
        id=uuid4(),
        filing_id=filing.id,
        court_code=court_code,
        case_number=filing.case_number,
        court_name_zh=court.name_zh if court else court_code,
        origin=origin,
        origin_key=origin_key,
        plan=[[c.value for c in stage] for stage in plan.stages],
        fallback=plan.fallback.value,
        escalate_after_s=plan.escalate_after_s,
        created_by_id=created_by,
        created_at=now,
        using_db=conn,
    )
    for position, doc in enumerate(documents):
        if doc.blob is not None:
            stored = await register_file(
                conn,
                blob=doc.blob,
                original_name=f"{doc.kind.value}.pdf",
                purpose="service_document",
                owner_account_id=created_by or task.id,
            )
            blob = doc.blob
        elif doc.file_id is not None:
            stored = await get_file(doc.file_id, owner_account_id=created_by, conn=conn)
            blob = stored.blob.as_stored()
            if blob.kind is not FileKind.PDF:
                raise _invalid("documents", "served documents must be PDF files")
        else:
            raise _invalid("documents", "give a file or a template")
        title_zh, title_en = document_title(doc.kind)
        await ServiceDocument.create(
            id=uuid4(),
            task=task,
            kind=doc.kind.value,
            title_zh=title_zh,
            title_en=title_en,
            file_id=stored.id,
            sha256=blob.sha256,
            size=blob.size,
            position=position,
            using_db=conn,
        )
    consents = await consents_of(
        conn, cipher, [(filing.id, account_id, party) for party, account_id, *_ in people]
    )
    postal = 0
    rows = []
    for (party, account_id, name, role, abroad), consent in zip(people, consents, strict=True):
        reason = None
        if account_id is None:
            reason = "no_account"
        elif consent is None:
            # Art. 29: without consent only the in-app notice goes out, and a clerk serves it
            # on paper.
            reason = "no_consent"
        postal += reason is not None
        rows.append(
            ServiceDelivery(
                id=uuid4(),
                task=task,
                filing_id=filing.id,
                account_id=account_id,
                party_id=party.id if party else None,
                recipient_name=name,
                recipient_role=role,
                recipient_abroad=abroad,
                consent_basis=consent.basis.value if consent else None,
                status=DeliveryStatus.POSTAL.value if reason else DeliveryStatus.PENDING.value,
                postal_required_at=now if reason else None,
                postal_reason=reason,
                created_at=now,
            )
        )
    await ServiceDelivery.bulk_create(rows, using_db=conn)
    await enqueue(conn, JOB_FAN_OUT, {"task_id": str(task.id)}, dedupe_key=f"svc-fan:{task.id}")
    await audit.record(
        conn,
        actor,
        "service.create_task",
        RESOURCE,
        str(filing.id),
        {
            "task_id": str(task.id),
            "documents": [d.kind.value for d in documents],
            "recipients_count": len(people),
            "postal_count": postal,
            "origin": origin,
        },
    )
    return task


DEFAULT_PLAN = Plan(
    stages=((Channel.INAPP, Channel.WECHAT, Channel.SMS, Channel.EMAIL),),
    fallback=Fallback.POSTAL,
    escalate_after_s=48 * 3600,
)


async def serve_documents(
    conn: BaseDBAsyncClient,
    cipher: FieldCipher,
    audit: AuditLog,
    blobs: BlobStore,
    actor: Actor,
    *,
    filing: Filing,
    documents: Sequence[tuple[DocumentKind, dict[str, str]]] = (),
    origin: str,
    origin_key: str,
    recipients: Sequence[RecipientRef] | None = None,
    plan: Plan = DEFAULT_PLAN,
    ahead: Sequence[PreparedDocument] = (),
) -> ServiceTask:
    """What other domains call inside their own transaction: generate the documents from their
    templates and serve them (by default to every party of the case), once per ``origin_key``.

    e.g. filing registration: ``origin="filing", origin_key=f"filing:{id}:registered"`` with a
    summons and a notice of response; hearings: a hearing notice; mediation: the statement.
    The rendered PDFs are stored before the task row; if the caller's transaction rolls back
    they stay as unreferenced content-addressed blobs, which is harmless. A caller should
    render before opening its transaction (:func:`prepare_documents`) and pass what it got as
    ``ahead``; whatever was not rendered ahead is rendered here, the case read once.
    """
    existing = await ServiceTask.filter(origin_key=origin_key).using_db(conn).first()
    if existing is not None:
        return existing
    prepared = await prepare_documents(blobs, filing, documents, conn, ahead=ahead)
    if recipients is None:
        party_ids = (
            await Party.filter(filing_id=filing.id).using_db(conn).values_list("id", flat=True)
        )
        recipients = [RecipientRef(party_id=UUID(str(p))) for p in party_ids]
    return await create_service_task(
        conn,
        cipher,
        audit,
        actor,
        filing=filing,
        documents=prepared,
        recipients=recipients,
        plan=plan,
        origin=origin,
        origin_key=origin_key,
    )


# ----------------------------------------------------------------------------- service date


async def refresh_service(
    conn: BaseDBAsyncClient, audit: AuditLog, delivery_id: UUID, *, actor: Actor | None = None
) -> ServiceDelivery:
    """Recompute the delivery's service date from everything recorded (the earliest effective
    act or arrival wins), and its deadlines when the date changed. Locks the delivery row."""
    return (await refresh_services(conn, audit, [delivery_id], actor=actor))[delivery_id]


async def refresh_services(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    delivery_ids: Sequence[UUID],
    *,
    kinds_by_task: Mapping[UUID, Sequence[str]] | None = None,
    actor: Actor | None = None,
) -> dict[UUID, ServiceDelivery]:
    """:func:`refresh_service` for a batch, in ``conn``: one query per table whatever the
    batch size (rows locked in id order, so two batches never deadlock), the deadlines
    replaced in two statements and one audit event per delivery appended last, keeping the
    audit head locked briefly; then the copies for a party that linked an account since
    (:mod:`service_of_process.copies`). ``kinds_by_task`` (task id → served document kinds)
    saves re-reading documents the caller already has; ``actor``, whoever's act settled the
    date (none: the system), is the one the copies' audit event names."""
    ids = sorted(set(delivery_ids), key=str)
    deliveries = {
        d.id: d
        for d in await ServiceDelivery.filter(id__in=ids)
        .using_db(conn)
        .order_by("id")
        .select_for_update()
    }
    if len(deliveries) != len(ids):
        raise NotFound("no such delivery")
    facts: dict[UUID, list[AttemptFacts]] = {d: [] for d in ids}
    for a in await ServiceAttempt.filter(delivery_id__in=ids).using_db(conn):
        facts[a.delivery_id].append(  # type: ignore[attr-defined]
            AttemptFacts(str(a.id), a.channel, a.status, a.address_confirmed, a.delivered_at)
        )
    changed: list[tuple[ServiceDelivery, bool]] = []
    for delivery_id in ids:
        delivery = deliveries[delivery_id]
        if delivery.copy_of_id is not None:
            continue  # a copy for information shows the original's service date for good
        effective = effective_service(
            consented=delivery.consent_basis is not None,
            attempts=facts[delivery_id],
            signed_at=delivery.signed_at,
            first_opened_at=delivery.first_opened_at,
            postal_served_at=delivery.postal_served_at,
            published_at=delivery.published_at,
            abroad=delivery.recipient_abroad,
        )
        if effective is None:
            continue
        if delivery.service_date == effective.at and delivery.service_rule == effective.rule.value:
            continue
        changed.append((delivery, delivery.service_date is None))
        delivery.service_date = effective.at
        delivery.service_rule = effective.rule.value
        delivery.service_evidence = {**effective.evidence, "at": effective.at.isoformat()}
        if effective.rule is not ServiceRule.PUBLIC_NOTICE:
            delivery.status = DeliveryStatus.SERVED.value
    if not changed:
        return deliveries
    rows = [d for d, _ in changed]
    await update_rows(
        conn, ServiceDelivery, ["service_date", "service_rule", "service_evidence", "status"], rows
    )
    await _deadlines(conn, rows, kinds_by_task)
    await audit.record_many(
        conn,
        Actor.system("service"),
        [
            (
                "service.served" if first else "service.date_corrected",
                RESOURCE,
                str(delivery.filing_id),
                {
                    "delivery_id": str(delivery.id),
                    "rule": str(delivery.service_rule),
                    "service_date": delivery.service_date.isoformat(),  # type: ignore[union-attr]
                },
            )
            for delivery, first in changed
        ],
    )
    # Whatever fixed the date, a party that linked an account since gets its copies here.
    await copy_for_linked_parties(conn, audit, rows, actor=actor)
    return deliveries


def deadline_from(start: date, days: int) -> tuple[date, bool, bool, str, str]:
    """(due, rolled over, provisional, why zh, why en) of a period running from ``start``.

    A due date past the calendar's reach (no holiday notice yet, even provisionally) is kept as
    the nominal date, flagged provisional, rather than failing the service it runs from."""
    try:
        # Statutory festivals for the year after the newest holiday notice (flagged).
        deadline = compute_deadline(start, days, allow_provisional=True)
    except CalendarNotCovered:
        due = start + timedelta(days=days)
        return (
            due,
            False,
            True,
            f"自{start.isoformat()}次日起算{days}日，名义届满日{due.isoformat()}；"
            "该年度官方节假日安排尚未公布，届满日待法院确认",
            f"{days} days counted from the day after {start.isoformat()}: nominally "
            f"{due.isoformat()}; that year's official holiday calendar is not published yet, "
            "so the court must confirm the date",
        )
    return (
        deadline.due,
        deadline.rolled_over,
        deadline.provisional,
        deadline.explanation_zh,
        deadline.explanation_en,
    )


async def _deadlines(
    conn: BaseDBAsyncClient,
    deliveries: Sequence[ServiceDelivery],
    kinds_by_task: Mapping[UUID, Sequence[str]] | None,
) -> None:
    """Replace the deadlines of these (just served or re-dated) deliveries."""
    kinds: dict[UUID, list[str]] = {}
    tasks = {d.task_id for d in deliveries}  # type: ignore[attr-defined]
    if kinds_by_task is not None and tasks <= set(kinds_by_task):
        kinds = {t: list(kinds_by_task[t]) for t in tasks}
    else:
        for task_id, kind in (
            await ServiceDocument.filter(task_id__in=tasks)
            .using_db(conn)
            .order_by("position")
            .values_list("task_id", "kind")
        ):
            kinds.setdefault(task_id, []).append(str(kind))
    await ServiceDeadline.filter(delivery_id__in=[d.id for d in deliveries]).using_db(conn).delete()
    rows = []
    for delivery in deliveries:
        assert delivery.service_date is not None
        start = court_date(delivery.service_date)
        abroad = delivery.recipient_abroad
        task_kinds = kinds.get(delivery.task_id, [])  # type: ignore[attr-defined]
        for rule in deadline_rules_for(task_kinds, abroad=abroad):
            due, rolled_over, provisional, why_zh, why_en = deadline_from(start, rule.days)
            rows.append(
                ServiceDeadline(
                    id=uuid4(),
                    delivery_id=delivery.id,
                    filing_id=delivery.filing_id,
                    account_id=delivery.account_id,
                    kind=rule.kind,
                    article=rule.article,
                    days=rule.days,
                    start=start,
                    due=due,
                    rolled_over=rolled_over,
                    provisional=provisional,
                    explanation_zh=f"{rule.name_zh}（{rule.article}）：{why_zh}",
                    explanation_en=f"{rule.name_en} ({rule.article}): {why_en}",
                )
            )
    if rows:
        await ServiceDeadline.bulk_create(rows, using_db=conn)


# ----------------------------------------------------------------------------- receipts


async def log_access(
    conn: BaseDBAsyncClient,
    delivery: ServiceDelivery,
    account_id: UUID | None,
    action: str,
    *,
    document_id: UUID | None = None,
    method: str | None = None,
) -> None:
    await ServiceAccess.create(
        delivery_id=delivery.id,
        document_id=document_id,
        account_id=account_id,
        action=action,
        method=method,
        at=utcnow(),
        using_db=conn,
    )


async def sign_receipt(
    conn: BaseDBAsyncClient,
    cipher: FieldCipher,
    audit: AuditLog,
    actor: Actor,
    delivery_id: UUID,
    account_id: UUID,
    method: str,
) -> ServiceDelivery:
    """The recipient signs for the documents (identity already checked by the caller)."""
    delivery = await ServiceDelivery.filter(id=delivery_id).using_db(conn).select_for_update().get()
    if delivery.account_id != account_id:
        raise NotFound("no such delivery")
    if delivery.copy_of_id is not None:
        raise Conflict(
            "a copy for information is not signed for: the documents were already served / "
            "副本仅供查阅，无需签收（已送达）",
            code="copy_not_signed",
        )
    if delivery.signed_at is not None:
        return delivery
    delivery.signed_at = utcnow()
    delivery.signed_method = method
    fields = ["signed_at", "signed_method"]
    if delivery.consent_basis is None:
        # Art. 29: accepting a completed e-service without objecting is consent.
        delivery.consent_basis = ConsentBasis.ACCEPTED_WITHOUT_OBJECTION.value
        fields.append("consent_basis")
    await delivery.save(using_db=conn, update_fields=fields)
    await log_access(conn, delivery, account_id, "sign", method=method)
    await audit.record(
        conn,
        actor,
        "service.sign",
        RESOURCE,
        str(delivery.filing_id),
        {"delivery_id": str(delivery.id), "method": method},
    )
    return await refresh_service(conn, audit, delivery.id, actor=actor)


async def record_open(
    conn: BaseDBAsyncClient,
    audit: AuditLog,
    delivery: ServiceDelivery,
    account_id: UUID,
    document_id: UUID,
    action: str,
) -> None:
    """Log an open or download; the recipient's first one is the read receipt."""
    await log_access(conn, delivery, account_id, action, document_id=document_id)
    if delivery.account_id == account_id and delivery.first_opened_at is None:
        updated = (
            await ServiceDelivery.filter(id=delivery.id, first_opened_at__isnull=True)
            .using_db(conn)
            .update(first_opened_at=utcnow())
        )
        if updated:
            await refresh_service(conn, audit, delivery.id)
