"""Delivery on the durable job system, in batches.

- ``service.fan_out {task_id}``: one transaction marks the task fanned out and enqueues one
  ``service.deliver`` per batch of up to ``DELIVERY_BATCH`` deliveries; a re-run (crash after
  commit, before the job was marked done) finds the mark and does nothing, a crash before
  commit leaves nothing behind.
- ``service.deliver {delivery_ids, stage}``: schedules the stage's escalation check, then sends
  every channel of the stage to every delivery of the batch, the gateways called concurrently
  (bounded per process). Reads are one query per table for the whole batch. Each channel's
  attempt is a row unique per (delivery, channel), written before the gateway call and settled
  after it, so a re-run never records a second attempt or receipt. The batch settles in one
  transaction: attempt rows, service dates, deadlines and one ``service.served`` audit event
  per served delivery. A failing gateway fails only its own attempts, retried with the job's
  backoff while the rest of the batch is already committed (and skipped on the re-run).
- ``service.report {attempt_id}``: polls the SMS gateway's delivery report until it has one.
- ``service.escalate {delivery_ids, stage}``: those not effective in time → the next stage;
  after the last stage → the plan's fallback (postal task, or public notice deemed served 30
  days later, 60 for a recipient abroad).
- ``service.copy_due {delivery_id}``: a public notice is deemed served now; copies for a
  party that linked an account while it ran (``service_of_process.copies``).
- ``service.copy_notice {account_id, case_number}``: the WeChat courtesy notice of a
  batch of copies; refused (no grant left, no such user) it is dropped, not retried.

Payloads of the earlier one-delivery form (``delivery_id``) are still accepted.

Handlers build their clients from the settings (a worker process has no web application) and
keep them for the process's lifetime: one HTTP session, pooled SMTP connections, the cipher
and the audit log, closed through the registry (``JobRegistry.on_close``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import aiohttp
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from backend.fieldcrypto import FieldCipher
from backend.jobs.queue import JobContext, JobRegistry, PermanentJobError, enqueue
from backend.keys import KeyRing, load_keyring
from backend.settings import Settings
from filing.models import Party
from identity.models import PhoneBinding, WeChatIdentity
from identity.phone import PHONE_CONTEXT, mask_phone
from service_of_process.bulk import insert_rows, update_rows
from service_of_process.channels import (
    GatewayRefused,
    Gateways,
    GatewayUnavailable,
    Notice,
    Report,
)
from service_of_process.consent import RESOURCE, ConsentView, consents_of, mask_address
from service_of_process.copies import JOB_COPY_DUE, JOB_COPY_NOTICE, copy_for_linked_parties
from service_of_process.models import (
    AttemptStatus,
    Channel,
    DeliveryStatus,
    ServiceAttempt,
    ServiceDelivery,
    ServiceDocument,
    ServiceTask,
)
from service_of_process.rules import EFFECTIVE_CHANNELS
from service_of_process.service import (
    JOB_DELIVER,
    JOB_ESCALATE,
    JOB_FAN_OUT,
    JOB_REPORT,
    Fallback,
    refresh_services,
    utcnow,
)

log = logging.getLogger("mobile_court.service.jobs")
REPORT_POLL_S = 30
SETTLED = frozenset({AttemptStatus.DELIVERED, AttemptStatus.FAILED, AttemptStatus.SKIPPED})
# Deliveries per deliver job: large enough that the per-job costs (claim, escalation job,
# settle transaction, audit head lock) are shared by many documents, small enough that a
# crashed batch re-sends little and several batches keep both workers busy.
DELIVERY_BATCH = 50
# Gateway calls in flight per process, over all its jobs.
SEND_CONCURRENCY = 32
GATEWAY_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
# The subscribe template's 20-character title: copies of documents already served.
COPY_NOTICE_TEXT = "已送达文书副本 Served copy"


def link_url(settings: Settings, link_id: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/api/v1/service/s/{link_id}"


@dataclass
class _Send:
    """One attempt of the batch to send, and what came of it."""

    delivery: ServiceDelivery
    attempt: ServiceAttempt
    address: str = ""
    report: Report | None = None
    error: BaseException | None = None


@dataclass
class ServiceRuntime:
    """What the handlers share in one process: key material, cipher and audit log built once,
    and the gateways (one HTTP session, pooled SMTP connections) opened on first use in the
    running loop and kept until the registry is closed."""

    settings: Settings
    _keyring: KeyRing | None = field(default=None, repr=False)
    _cipher: FieldCipher | None = field(default=None, repr=False)
    _audit: AuditLog | None = field(default=None, repr=False)
    _session: aiohttp.ClientSession | None = field(default=None, repr=False)
    _gateways: Gateways | None = field(default=None, repr=False)
    _slots: asyncio.Semaphore | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    @property
    def keyring(self) -> KeyRing:
        if self._keyring is None:
            self._keyring = load_keyring(self.settings)
        return self._keyring

    @property
    def cipher(self) -> FieldCipher:
        if self._cipher is None:
            self._cipher = FieldCipher(self.keyring.field_key)
        return self._cipher

    @property
    def audit(self) -> AuditLog:
        if self._audit is None:
            self._audit = AuditLog(self.keyring.server_key)
        return self._audit

    def gateways(self) -> tuple[Gateways, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        if self._gateways is None or self._slots is None or self._loop is not loop:
            # (A new loop — a test's — gets its own: sessions are bound to their loop.)
            self._session = aiohttp.ClientSession(timeout=GATEWAY_TIMEOUT)
            self._gateways = Gateways.create(self._session, self.settings)
            self._slots = asyncio.Semaphore(SEND_CONCURRENCY)
            self._loop = loop
        return self._gateways, self._slots

    async def close(self) -> None:
        gateways, session = self._gateways, self._session
        self._gateways = self._session = self._slots = self._loop = None
        if gateways is not None:
            await gateways.close()
        if session is not None:
            await session.close()

    # ------------------------------------------------------------------ fan-out

    async def fan_out(self, payload: dict[str, Any], ctx: JobContext) -> None:
        task_id = _uuid(payload, "task_id")
        async with in_transaction() as conn:
            marked = (
                await ServiceTask.filter(id=task_id, fanned_out_at__isnull=True)
                .using_db(conn)
                .update(fanned_out_at=utcnow())
            )
            if not marked:
                return  # fanned out by an earlier run
            deliveries = [
                str(d)
                for d in await ServiceDelivery.filter(
                    task_id=task_id, account_id__isnull=False, copy_of_id__isnull=True
                )
                .using_db(conn)
                .order_by("id")
                .values_list("id", flat=True)
            ]
            for start in range(0, len(deliveries), DELIVERY_BATCH):
                batch = deliveries[start : start + DELIVERY_BATCH]
                await enqueue(conn, JOB_DELIVER, {"delivery_ids": batch, "stage": 0})

    # ------------------------------------------------------------------ delivery

    async def deliver(self, payload: dict[str, Any], ctx: JobContext) -> None:
        ids = _uuids(payload)
        stage = int(payload.get("stage", 0))
        deliveries = await ServiceDelivery.filter(id__in=ids).order_by("id")
        if not deliveries:
            raise PermanentJobError("the deliveries no longer exist")
        task_ids = {d.task_id for d in deliveries}  # type: ignore[attr-defined]
        tasks = {t.id: t for t in await ServiceTask.filter(id__in=task_ids)}
        titles: dict[UUID, list[str]] = {t: [] for t in task_ids}
        kinds: dict[UUID, list[str]] = {t: [] for t in task_ids}
        for task_id, title, kind in (
            await ServiceDocument.filter(task_id__in=task_ids)
            .order_by("position")
            .values_list("task_id", "title_zh", "kind")
        ):
            titles[task_id].append(str(title))
            kinds[task_id].append(str(kind))
        await self._schedule_escalation(deliveries, tasks, stage, payload, ctx)

        party_ids = [d.party_id for d in deliveries if d.party_id is not None]
        parties = {p.id: p for p in await Party.filter(id__in=party_ids)} if party_ids else {}
        consents = await consents_of(
            None,
            self.cipher,
            [
                (d.filing_id, d.account_id, parties.get(d.party_id) if d.party_id else None)
                for d in deliveries
            ],
        )
        consent_of = {d.id: c for d, c in zip(deliveries, consents, strict=True)}
        plan: dict[UUID, list[Channel]] = {}
        for d in deliveries:
            task = tasks[d.task_id]  # type: ignore[attr-defined]
            if d.consent_basis is None:
                plan[d.id] = [Channel.INAPP]  # no consent: the in-app notice only (Art. 29)
            else:
                plan[d.id] = [Channel(c) for c in task.plan[stage]]
        attempts = await _attempts_of(plan, stage)

        sends: list[_Send] = []
        skipped: list[ServiceAttempt] = []
        reports: list[ServiceAttempt] = []
        wanted: list[tuple[ServiceDelivery, ServiceAttempt]] = []
        for d in deliveries:
            for channel in plan[d.id]:
                attempt = attempts[(d.id, channel.value)]
                if attempt.status in SETTLED:
                    continue
                if attempt.status == AttemptStatus.SENT:
                    reports.append(attempt)
                else:
                    wanted.append((d, attempt))
        targets = await self._addresses(wanted, consent_of)
        for (d, attempt), target in zip(wanted, targets, strict=True):
            if target is None:
                attempt.status = AttemptStatus.SKIPPED.value
                attempt.detail = "no address for this channel"
                skipped.append(attempt)
                continue
            address, confirmed, masked = target
            attempt.address_masked, attempt.address_confirmed = masked, confirmed
            attempt.tries += 1
            sends.append(_Send(d, attempt, address))
        if sends:
            # The try is on record before the gateway call (one statement for the batch).
            await update_rows(
                None,
                ServiceAttempt,
                ["address_masked", "address_confirmed", "tries"],
                [s.attempt for s in sends],
            )
            gateways, slots = self.gateways()
            await asyncio.gather(*(self._send(gateways, slots, tasks, titles, s) for s in sends))
        failure = await self._settle_batch(sends, skipped, reports, kinds, ctx)
        if failure is not None:
            # Only the failed channels run again: the settled ones are skipped on the re-run.
            raise failure

    async def _schedule_escalation(
        self,
        deliveries: Sequence[ServiceDelivery],
        tasks: dict[UUID, ServiceTask],
        stage: int,
        payload: dict[str, Any],
        ctx: JobContext,
    ) -> None:
        pending: dict[UUID, list[str]] = {}
        for d in deliveries:
            if d.status == DeliveryStatus.PENDING.value:
                pending.setdefault(d.task_id, []).append(str(d.id))  # type: ignore[attr-defined]
        if not pending:
            return
        async with in_transaction() as conn:
            for task_id, ids in pending.items():
                if "delivery_id" in payload:  # the earlier one-delivery form keeps its key
                    key = f"svc-esc:{ids[0]}:{stage}"
                else:
                    # Stable across re-runs of this job: its batch never changes.
                    key = f"svc-esc:j{ctx.job_id}:{task_id}"
                await enqueue(
                    conn,
                    JOB_ESCALATE,
                    {"delivery_ids": ids, "stage": stage},
                    run_at=utcnow() + timedelta(seconds=tasks[task_id].escalate_after_s),
                    dedupe_key=key,
                )

    async def _addresses(
        self,
        wanted: Sequence[tuple[ServiceDelivery, ServiceAttempt]],
        consents: dict[UUID, ConsentView | None],
    ) -> list[tuple[str, bool, str] | None]:
        """(address, given or confirmed by the recipient, masked) or None, per attempt; the
        bound phones and WeChat links of the batch read in one query each, when needed."""

        def given(d: ServiceDelivery, channel: str) -> str | None:
            consent = consents.get(d.id)
            return consent.addresses.get(channel) if consent is not None else None

        def accounts_needing(channel: Channel) -> list[UUID]:
            return [
                d.account_id
                for d, a in wanted
                if a.channel == channel.value
                and given(d, a.channel) is None
                and d.account_id is not None
            ]

        phones: dict[UUID, bytes] = {}
        if needed := accounts_needing(Channel.SMS):
            for binding in await PhoneBinding.filter(account_id__in=needed):
                phones[binding.account_id] = binding.phone_enc  # type: ignore[attr-defined]
        openids: dict[UUID, str] = {}
        if needed := accounts_needing(Channel.WECHAT):
            for link in await WeChatIdentity.filter(
                account_id__in=needed, appid=self.settings.wechat_appid
            ):
                openids[link.account_id] = link.openid  # type: ignore[attr-defined]
        out: list[tuple[str, bool, str] | None] = []
        for d, attempt in wanted:
            channel = Channel(attempt.channel)
            address = given(d, channel.value)
            if address is not None:
                out.append((address, True, mask_address(channel.value, address)))
            elif channel == Channel.INAPP:
                out.append(("", False, mask_address(channel.value, "")))
            elif channel == Channel.SMS and d.account_id in phones:
                phone = self.cipher.decrypt(phones[d.account_id], context=PHONE_CONTEXT)
                out.append((phone, False, mask_phone(phone)))
            elif channel == Channel.WECHAT and d.account_id in openids:
                openid = openids[d.account_id]
                out.append((openid, False, "WeChat " + openid[:4] + "***"))
            else:
                out.append(None)
        return out

    async def _send(
        self,
        gateways: Gateways,
        slots: asyncio.Semaphore,
        tasks: dict[UUID, ServiceTask],
        titles: dict[UUID, list[str]],
        send: _Send,
    ) -> None:
        task = tasks[send.delivery.task_id]  # type: ignore[attr-defined]
        notice = Notice(
            attempt_id=str(send.attempt.id),
            court_name_zh=task.court_name_zh,
            case_number=task.case_number,
            titles_zh=tuple(titles[task.id]),
            link=link_url(self.settings, send.attempt.link_id or ""),
        )
        try:
            async with slots:
                send.report = await gateways.of(Channel(send.attempt.channel)).send(
                    send.address, notice
                )
        except Exception as exc:
            send.error = exc

    async def _settle_batch(
        self,
        sends: Sequence[_Send],
        skipped: Sequence[ServiceAttempt],
        reports: Sequence[ServiceAttempt],
        kinds: dict[UUID, list[str]],
        ctx: JobContext,
    ) -> BaseException | None:
        """Record every outcome of the batch in one transaction; the first retryable failure
        (to raise once the rest is committed) or None."""
        now = utcnow()
        failure: BaseException | None = None
        settled: list[ServiceAttempt] = list(skipped)
        served: set[UUID] = set()
        expect = list(reports)
        for send in sends:
            attempt, exc = send.attempt, send.error
            if send.report is not None:
                report = send.report
                attempt.status = report.status.value
                attempt.detail = report.detail
                attempt.gateway_message_id = report.message_id or attempt.gateway_message_id
                attempt.delivered_at = report.delivered_at or attempt.delivered_at
                if report.status == AttemptStatus.SENT:
                    expect.append(attempt)
                # Only arrival at an address the recipient gave can fix the service date
                # (Art. 31); other arrivals are logged evidence and need no recomputation.
                if (
                    report.status == AttemptStatus.DELIVERED
                    and attempt.address_confirmed
                    and attempt.channel in EFFECTIVE_CHANNELS
                ):
                    served.add(send.delivery.id)
            elif isinstance(exc, GatewayRefused):
                attempt.status, attempt.detail = AttemptStatus.FAILED.value, f"refused: {exc}"
            elif isinstance(exc, GatewayUnavailable) and ctx.is_last_attempt:
                attempt.status, attempt.detail = AttemptStatus.FAILED.value, f"gave up: {exc}"
            elif isinstance(exc, GatewayUnavailable):
                attempt.detail = f"retrying: {exc}"
                failure = failure or exc
            else:
                failure = failure or exc
                continue
            attempt.detail = attempt.detail[:300]
            if attempt.status != AttemptStatus.SENDING:
                attempt.sent_at = attempt.sent_at or now
            settled.append(attempt)
        if not settled and not expect:
            return failure
        async with in_transaction() as conn:
            if settled:
                await update_rows(
                    conn,
                    ServiceAttempt,
                    ["status", "detail", "gateway_message_id", "sent_at", "delivered_at"],
                    settled,
                )
            for attempt in expect:
                await _expect_report(conn, attempt)
            if served:
                await refresh_services(
                    conn, self.audit, sorted(served, key=str), kinds_by_task=kinds
                )
        return failure

    async def report(self, payload: dict[str, Any], ctx: JobContext) -> None:
        attempt = await ServiceAttempt.get_or_none(id=_uuid(payload, "attempt_id"))
        if attempt is None:
            raise PermanentJobError("the attempt no longer exists")
        if attempt.status != AttemptStatus.SENT or attempt.gateway_message_id is None:
            return
        gateways, _ = self.gateways()
        result = await gateways.of(Channel(attempt.channel)).report(attempt.gateway_message_id)
        if result.status == AttemptStatus.SENT:
            if ctx.is_last_attempt:
                await ServiceAttempt.filter(id=attempt.id).update(detail="no delivery report")
                return
            raise GatewayUnavailable("no delivery report yet")
        attempt.status, attempt.detail = result.status.value, result.detail
        attempt.delivered_at = result.delivered_at or attempt.delivered_at
        attempt.sent_at = attempt.sent_at or utcnow()
        async with in_transaction() as conn:
            await attempt.save(
                using_db=conn, update_fields=["status", "detail", "sent_at", "delivered_at"]
            )
            if (
                result.status == AttemptStatus.DELIVERED
                and attempt.address_confirmed
                and attempt.channel in EFFECTIVE_CHANNELS
            ):
                await refresh_services(conn, self.audit, [attempt.delivery_id])  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ escalation

    async def escalate(self, payload: dict[str, Any], ctx: JobContext) -> None:
        ids = _uuids(payload)
        stage = int(payload.get("stage", 0))
        async with in_transaction() as conn:
            deliveries = [
                d
                for d in await ServiceDelivery.filter(id__in=ids)
                .using_db(conn)
                .order_by("id")
                .select_for_update()
                # Not effective in time, and not moved on by an earlier run.
                if d.status == DeliveryStatus.PENDING.value and d.stage == stage
            ]
            if not deliveries:
                return
            task_ids = {d.task_id for d in deliveries}  # type: ignore[attr-defined]
            tasks = {t.id: t for t in await ServiceTask.filter(id__in=task_ids).using_db(conn)}
            moved: dict[UUID, list[ServiceDelivery]] = {}
            fallen: list[ServiceDelivery] = []
            for d in deliveries:
                if stage + 1 < len(tasks[d.task_id].plan):  # type: ignore[attr-defined]
                    moved.setdefault(d.task_id, []).append(d)  # type: ignore[attr-defined]
                else:
                    fallen.append(d)
            events: list[tuple[str, str, str | None, dict[str, Any]]] = []
            now = utcnow()
            for task_id, group in moved.items():
                await (
                    ServiceDelivery.filter(id__in=[d.id for d in group])
                    .using_db(conn)
                    .update(stage=stage + 1)
                )
                one = len(group) == 1 and "delivery_id" in payload
                await enqueue(
                    conn,
                    JOB_DELIVER,
                    {"delivery_ids": [str(d.id) for d in group], "stage": stage + 1},
                    dedupe_key=(
                        f"svc-dlv:{group[0].id}:{stage + 1}"
                        if one
                        else f"svc-dlv:j{ctx.job_id}:{task_id}"
                    ),
                )
                events += [
                    (
                        "service.escalate",
                        RESOURCE,
                        str(d.filing_id),
                        {"delivery_id": str(d.id), "stage": stage + 1},
                    )
                    for d in group
                ]
            published = []
            for d in fallen:
                task = tasks[d.task_id]  # type: ignore[attr-defined]
                if task.fallback == Fallback.PUBLIC_NOTICE.value:
                    d.status, d.published_at = DeliveryStatus.PUBLIC_NOTICE.value, now
                    published.append(d.id)
                else:
                    d.status, d.postal_required_at = DeliveryStatus.POSTAL.value, now
                    d.postal_reason = "plan_exhausted"
                events.append(
                    (
                        "service.fallback",
                        RESOURCE,
                        str(d.filing_id),
                        {"delivery_id": str(d.id), "fallback": task.fallback},
                    )
                )
            if fallen:
                await ServiceDelivery.bulk_update(
                    fallen,
                    fields=["status", "published_at", "postal_required_at", "postal_reason"],
                    using_db=conn,
                )
            await self.audit.record_many(conn, Actor.system("service"), events)
            if published:
                # Deemed served 30 days after publication (60 abroad), deadlines from then.
                await refresh_services(conn, self.audit, published)

    # ------------------------------------------------------------------ copies

    async def copy_due(self, payload: dict[str, Any], ctx: JobContext) -> None:
        async with in_transaction() as conn:
            delivery = (
                await ServiceDelivery.filter(id=_uuid(payload, "delivery_id"))
                .using_db(conn)
                .select_for_update()
                .first()
            )
            if delivery is None:
                raise PermanentJobError("the delivery no longer exists")
            if delivery.service_date is not None:
                await copy_for_linked_parties(conn, self.audit, [delivery])

    async def copy_notice(self, payload: dict[str, Any], ctx: JobContext) -> None:
        link = await WeChatIdentity.filter(
            account_id=_uuid(payload, "account_id"), appid=self.settings.wechat_appid
        ).first()
        if link is None:
            return  # not a WeChat user of this mini-program: the inbox is all there is
        gateways, slots = self.gateways()
        try:
            async with slots:
                await gateways.wechat.notify(
                    link.openid, COPY_NOTICE_TEXT, str(payload.get("case_number", ""))
                )
        except GatewayRefused as exc:
            log.info("copy notice not sent: %s", exc)  # a courtesy: no grant left is final
        except GatewayUnavailable:
            if not ctx.is_last_attempt:
                raise
            log.warning("copy notice given up after retries")


async def _attempts_of(
    plan: dict[UUID, list[Channel]], stage: int
) -> dict[tuple[UUID, str], ServiceAttempt]:
    """The attempt row of each (delivery, channel) of the batch, created where missing: one
    INSERT that skips the rows an earlier run already wrote (unique per delivery and channel),
    then one SELECT."""
    now = utcnow()
    await insert_rows(
        None,
        ServiceAttempt,
        ["id", "delivery_id", "channel", "stage", "created_at", "link_id"],
        [
            (uuid4(), delivery_id, channel.value, stage, now, secrets.token_urlsafe(12))
            for delivery_id, channels in plan.items()
            for channel in channels
        ],
        defaults={"address_masked": "", "address_confirmed": False, "status": "sending"}
        | {"detail": "", "tries": 0},
        ignore_conflicts=True,
    )
    rows = await ServiceAttempt.filter(delivery_id__in=list(plan))
    return {(row.delivery_id, row.channel): row for row in rows}  # type: ignore[attr-defined]


async def _expect_report(conn: BaseDBAsyncClient, attempt: ServiceAttempt) -> None:
    await enqueue(
        conn,
        JOB_REPORT,
        {"attempt_id": str(attempt.id)},
        run_at=utcnow() + timedelta(seconds=REPORT_POLL_S),
        dedupe_key=f"svc-rep:{attempt.id}",
    )


def _uuids(payload: dict[str, Any]) -> list[UUID]:
    """The deliveries of a batch payload, or of the earlier one-delivery form."""
    if "delivery_id" in payload:
        return [_uuid(payload, "delivery_id")]
    raw = payload.get("delivery_ids")
    if not isinstance(raw, list) or not raw:
        raise PermanentJobError("payload needs delivery_ids")
    try:
        return [UUID(str(item)) for item in raw]
    except ValueError:
        raise PermanentJobError("payload needs valid delivery_ids") from None


def _uuid(payload: dict[str, Any], key: str) -> UUID:
    try:
        return UUID(str(payload[key]))
    except (KeyError, ValueError):
        raise PermanentJobError(f"payload needs a valid {key}") from None


def register_jobs(registry: JobRegistry, settings: Settings) -> None:
    runtime = ServiceRuntime(settings)
    registry.on_close(runtime.close)
    registry.register(JOB_FAN_OUT, runtime.fan_out)
    registry.register(JOB_DELIVER, runtime.deliver)
    registry.register(JOB_REPORT, runtime.report)
    registry.register(JOB_ESCALATE, runtime.escalate)
    registry.register(JOB_COPY_DUE, runtime.copy_due)
    registry.register(JOB_COPY_NOTICE, runtime.copy_notice)
